// The CUDA build is wired up: with a device this reports it; without one the GPU suites
// say "skipped: no CUDA device" instead of passing silently.
#define BOOST_TEST_DYN_LINK
#pragma GCC diagnostic ignored "-Wuninitialized"  // inside boost::function, from precondition()
#include <boost/test/unit_test.hpp>

#include "tests/cuda_available.h"

using namespace flowpic;

BOOST_AUTO_TEST_SUITE(cuda_device, *boost::unit_test::precondition(CudaPresent()))

BOOST_AUTO_TEST_CASE(device_properties_are_readable) {
    CudaDeviceInfo info = cuda_device_info();
    BOOST_TEST(info.count > 0);
    BOOST_TEST(!info.name.empty());
    BOOST_TEST(info.sm_major >= 5);
    BOOST_TEST(info.memory_bytes > 0u);
    BOOST_TEST_MESSAGE("CUDA device 0: " << info.name << " sm_" << info.sm_major << info.sm_minor);
}

BOOST_AUTO_TEST_SUITE_END()
