// Device memory for tensors: a caching arena over cudaMalloc, so that a training loop
// that reuses its buffers (every tensor keeps its capacity) calls cudaMalloc only in its
// first step.  Freed blocks go back to the arena, not to the driver; a failed cudaMalloc
// first returns every cached block to the driver and retries, then throws
// DeviceMemoryError with the size asked for and the memory the device has free.
//
// This header has no CUDA types, so CPU-side code (nn/tensor.cpp) can include it in every
// build; a build without CUDA gets stubs (kernels/cuda/no_cuda.cpp) that throw.
// The arena is process-wide, like the device it manages (one device: device 0).
#pragma once
#include <cstddef>
#include <stdexcept>
#include <string>

namespace flowpic {

struct DeviceMemoryError : std::runtime_error {
    DeviceMemoryError(const std::string& what, size_t requested, size_t free_bytes, size_t total_bytes)
        : std::runtime_error(what), requested(requested), free_bytes(free_bytes), total_bytes(total_bytes) {}
    size_t requested, free_bytes, total_bytes;
};

void* device_alloc(size_t bytes);    // 256-byte aligned; bytes == 0 gives nullptr
void device_free(void* p) noexcept;  // back to the arena; nullptr is ignored

// Synchronous copies through unified addressing (any direction) and memset.
void device_copy(void* dst, const void* src, size_t bytes);
void device_memset(void* dst, int byte, size_t bytes);
void device_synchronize();

struct DeviceArenaStats {
    size_t cuda_mallocs = 0;     // cudaMalloc calls so far
    size_t bytes_reserved = 0;   // held from the driver (in use + cached)
    size_t bytes_in_use = 0;
    size_t peak_in_use = 0;
};
DeviceArenaStats device_arena_stats();
// Returns every cached (free) block to the driver.
void device_arena_trim();
// cudaMemGetInfo of the current device.
void device_memory_info(size_t& free_bytes, size_t& total_bytes);

}  // namespace flowpic
