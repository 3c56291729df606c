// One Boost.Test binary for every suite.  Run from the repository root (fixtures are
// found relative to it); FLOWPIC_BIN points the command-line tests at the binaries.
// After Boost.Test's own report it prints the line CI reads: "N passed, N failed".
// Skipped tests (no GPU, no nDPI data) are counted apart and say why in the log.  After
// the suites it checks that /dev/null is still a device (one more failure if not).
#define BOOST_TEST_MODULE flowpic
#define BOOST_TEST_NO_MAIN
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>
#include <boost/test/results_collector.hpp>
#include <sys/stat.h>

#include <cstdio>

int main(int argc, char* argv[]) {
    int rc = boost::unit_test::unit_test_main(&init_unit_test, argc, argv);
    using namespace boost::unit_test;
    const test_results& r = results_collector.results(framework::master_test_suite().p_id);
    unsigned long passed = r.p_test_cases_passed, failed = r.p_test_cases_failed + r.p_test_cases_aborted;
    unsigned long skipped = r.p_test_cases_skipped;
    // No test may write to a system path: a tool that replaced /dev/null with a file
    // (it happened, as root) fails the whole run here, whichever test did it.
    struct stat st;
    if (stat("/dev/null", &st) != 0 || !S_ISCHR(st.st_mode)) {
        std::printf("error: /dev/null is no longer a character device: a test wrote to it as an output\n");
        ++failed;
        rc = rc ? rc : 1;
    }
    if (skipped) std::printf("(%lu skipped)\n", skipped);
    std::printf("%lu passed, %lu failed\n", passed, failed);
    std::fflush(stdout);
    return rc;
}
