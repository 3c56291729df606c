// The CUDA entry points of a build without CUDA (make CUDA=0, or no nvcc): they report
// that there is no device, so every caller takes its CPU path.
#ifndef FLOWPIC_CUDA
#include "kernels/cuda/device.h"
#include "kernels/cuda/device_memory.h"

namespace flowpic {

CudaDeviceInfo cuda_device_info() {
    CudaDeviceInfo info;
    info.why_none = "built without CUDA (make CUDA=0 or no nvcc)";
    return info;
}

namespace {
[[noreturn]] void no_cuda() { throw std::runtime_error("device memory: built without CUDA (make CUDA=1 with nvcc)"); }
}  // namespace

void* device_alloc(size_t bytes) {
    if (bytes == 0) return nullptr;
    no_cuda();
}
void device_free(void*) noexcept {}
void device_copy(void*, const void*, size_t bytes) {
    if (bytes) no_cuda();
}
void device_memset(void*, int, size_t bytes) {
    if (bytes) no_cuda();
}
void device_synchronize() {}
DeviceArenaStats device_arena_stats() { return {}; }
void device_arena_trim() {}
void device_memory_info(size_t&, size_t&) { no_cuda(); }

}  // namespace flowpic
#endif
