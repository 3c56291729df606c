// The CUDA entry points of a build without CUDA (make CUDA=0, or no nvcc): they report
// that there is no device, so every caller takes its CPU path.
#ifndef FLOWPIC_CUDA
#include "kernels/cuda/device.h"

namespace flowpic {

CudaDeviceInfo cuda_device_info() {
    CudaDeviceInfo info;
    info.why_none = "built without CUDA (make CUDA=0 or no nvcc)";
    return info;
}

}  // namespace flowpic
#endif
