// --device for the apps that run the net: cpu (AVX2 when the CPU has it), cpu-scalar,
// cpu-avx2, cuda, or auto (cuda when a device is present, else cpu); make_backend
// (nn/backend.h) turns the value into a backend.
#pragma once
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "core/error.h"
#include "nn/backend.h"
#include "nn/network.h"  // check_batch_fits, for the apps that include this

namespace flowpic {

inline CLI::Option* add_device_flag(CLI::App* app, std::string& device) {
    return app->add_option("--device", device, "cpu, cpu-scalar, cpu-avx2, cuda, or auto (cuda when a GPU is present)")
        ->default_val(device);
}

}  // namespace flowpic
