// A Boost precondition for GPU suites: skipped, with the reason printed, when there is no
// CUDA device (or the build has no CUDA).
#pragma once
#include <boost/test/unit_test.hpp>
#include <cstdio>

#include "kernels/cuda/device.h"

namespace flowpic {

struct CudaPresent {
    boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) {
        CudaDeviceInfo info = cuda_device_info();
        boost::test_tools::assertion_result r(info.count > 0);
        if (!r) {
            r.message() << info.why_none;
            std::printf("skipped: %s\n", info.why_none.c_str());
        }
        return r;
    }
};

}  // namespace flowpic
