// Every CUDA runtime call and kernel launch is checked; a failure throws with the file,
// line, call and the driver's message.  Host-side header, usable from .cu and .cpp.
#pragma once
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

namespace flowpic {

struct CudaError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

inline void cuda_check(cudaError_t err, const char* call, const char* file, int line) {
    if (err != cudaSuccess)
        throw CudaError(std::string(file) + ":" + std::to_string(line) + ": " + call + ": " + cudaGetErrorString(err));
}

}  // namespace flowpic

#define CUDA_CHECK(call) ::flowpic::cuda_check((call), #call, __FILE__, __LINE__)
// After a kernel launch: launch-configuration errors now, execution errors at the next sync.
#define CUDA_CHECK_LAUNCH() ::flowpic::cuda_check(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)
