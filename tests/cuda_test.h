// What every file of CUDA-only tests starts with: Boost.Test, the CudaPresent precondition
// (tests/cuda_available.h), the device buffers and launchers and the helpers below, the conv shapes of
// tests/conv2d_cases.h, and the relative-error limit that the GPU-vs-double-reference
// checks share.  Include it inside #ifdef FLOWPIC_CUDA.
#pragma once
#define BOOST_TEST_DYN_LINK
#pragma GCC diagnostic ignored "-Wuninitialized"  // inside boost::function, from precondition()
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "kernels/conv2d.h"
#include "kernels/cpu/binning.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/ops.h"
#include "tests/conv2d_cases.h"
#include "tests/cuda_available.h"

namespace flowpic {

// ||gpu - ref|| / ||ref|| below this, against a reference in double.
constexpr double kCudaTol = 1e-5;

inline bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

template <typename T>
DeviceBuffer<T> on_device(const std::vector<T>& v) {
    DeviceBuffer<T> d;
    d.upload(v);
    return d;
}

// An output buffer of NaN (bytes 0xFF: NaN as a float or double), so an element nobody
// writes shows.
template <typename T = float>
DeviceBuffer<T> poisoned_device(size_t count) {
    DeviceBuffer<T> d(count);
    d.fill_bytes(0xFF, count);
    return d;
}

inline std::vector<float> fetch(const DeviceBuffer<float>& d, size_t count) {
    CUDA_CHECK(cudaDeviceSynchronize());  // execution errors surface here, with a line
    return d.download(size_t(count));
}

}  // namespace flowpic
