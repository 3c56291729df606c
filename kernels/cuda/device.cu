#include "kernels/cuda/device.h"

#include <cuda_runtime.h>

namespace flowpic {

CudaDeviceInfo cuda_device_info() {
    CudaDeviceInfo info;
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess || n == 0) {
        info.why_none = err == cudaErrorNoDevice || (err == cudaSuccess && n == 0) || err == cudaErrorInsufficientDriver
                            ? "no CUDA device"
                            : std::string("no CUDA device (") + cudaGetErrorString(err) + ")";
        cudaGetLastError();  // clear the sticky error
        return info;
    }
    cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) {
        info.why_none = "no CUDA device (cannot read device 0's properties)";
        return info;
    }
    info.count = n;
    info.name = prop.name;
    info.sm_major = prop.major;
    info.sm_minor = prop.minor;
    info.memory_bytes = prop.totalGlobalMem;
    return info;
}

}  // namespace flowpic
