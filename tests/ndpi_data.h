// Where the nDPI real-capture corpus lives (../shared/data/ndpi beside the repository, or
// $FLOWPIC_NDPI), and a Boost precondition that skips a test with a reason when absent.
#pragma once
#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/util.h"

namespace flowpic {

inline std::string ndpi_dir() {
    const char* e = std::getenv("FLOWPIC_NDPI");
    return e ? e : "../shared/data/ndpi";
}

struct NdpiPresent {
    boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) {
        boost::test_tools::assertion_result r(file_exists(ndpi_dir() + "/flows.tsv"));
        if (!r) {
            r.message() << "no nDPI corpus at " << ndpi_dir();
            std::printf("skipped: no nDPI corpus at %s\n", ndpi_dir().c_str());  // visible at any log level
        }
        return r;
    }
};

}  // namespace flowpic
