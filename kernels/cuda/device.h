// What the CUDA backend needs to know before it runs anything: is there a device.
// Built from device.cu when nvcc is found; a CPU-only build (make CUDA=0) gets the stub
// in kernels/cuda/no_cuda.cpp, so callers never need #ifdefs.
#pragma once
#include <string>

namespace flowpic {

struct CudaDeviceInfo {
    int count = 0;           // usable devices; 0 when none or no driver
    std::string name;        // device 0's name
    int sm_major = 0, sm_minor = 0;
    size_t memory_bytes = 0;
    std::string why_none;    // when count == 0: "built without CUDA", "no CUDA device", the driver's error
};

CudaDeviceInfo cuda_device_info();

}  // namespace flowpic
