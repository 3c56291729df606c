// --device for the apps that run the net: cpu (AVX2 when the CPU has it), cpu-scalar,
// cpu-avx2, cuda, or auto (cuda when a device is present, else cpu); and the check that a
// batch fits in device memory before the first step, with the largest batch that does.
#pragma once
#include <cstdio>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "core/error.h"
#include "kernels/cuda/device.h"
#include "kernels/cuda/device_memory.h"
#include "nn/backend.h"
#include "nn/network.h"

namespace flowpic {

inline CLI::Option* add_device_flag(CLI::App* app, std::string& device) {
    return app->add_option("--device", device, "cpu, cpu-scalar, cpu-avx2, cuda, or auto (cuda when a GPU is present)")
        ->default_val(device);
}

inline std::string gib_string(double bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f GiB", bytes / double(1ull << 30));
    return buf;
}

// Throws InputError when `batch` images would not fit in the device's free memory:
// "--batch 100000 needs 812.30 GiB of device memory, 78.90 GiB free: use --batch 9600 or less".
inline void check_batch_fits(Network& net, Backend& be, int batch, bool training) {
    if (be.memory() != Memory::kDevice) return;
    size_t free_b = 0, total_b = 0;
    device_memory_info(free_b, total_b);
    const double per_image = double(net.bytes_per_image(training));
    const double fixed = double(net.parameter_count()) * sizeof(float) * (training ? 5 : 1);
    const double usable = double(free_b) * 0.9;  // the driver, the scratch buffers and fragmentation
    const double need = fixed + per_image * double(batch);
    if (need <= usable) return;
    const double fits = (usable - fixed) / per_image;
    throw InputError("--batch " + std::to_string(batch) + " needs " + gib_string(need) + " of device memory, " +
                     gib_string(double(free_b)) + " free: use --batch " +
                     (fits >= 1 ? std::to_string(int64_t(fits)) + " or less" : "1 with a lower --resolution"));
}

}  // namespace flowpic
