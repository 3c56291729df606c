// NVTX ranges for Nsight Systems / Nsight Compute (docs/PROFILING.md): TraceRange r("conv2d_forward")
// marks the scope.  NVTX v3 is header-only and costs a branch when no profiler is
// attached; a build without CUDA compiles the ranges away.
#pragma once
#ifdef FLOWPIC_CUDA
#include <nvtx3/nvToolsExt.h>
#endif

namespace flowpic {

class TraceRange {
public:
#ifdef FLOWPIC_CUDA
    explicit TraceRange(const char* name) { nvtxRangePushA(name); }
    ~TraceRange() { nvtxRangePop(); }
#else
    explicit TraceRange(const char*) {}
#endif
    TraceRange(const TraceRange&) = delete;
    TraceRange& operator=(const TraceRange&) = delete;
};

}  // namespace flowpic
