// CaptureReader on timestamps at the edge of what int64 nanoseconds hold (1970..2262):
// a pcapng record past 2262 is a bad-input error naming the file and the record (it was
// a signed overflow, undefined behaviour); the last representable second still reads.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <pcap.h>

#include <cstdint>

#include "core/error.h"
#include "pcap/capture_reader.h"
#include "tests/pcap_builder.h"
#include "tests/util.h"

using namespace flowpic;
using namespace flowpic::testing;

namespace {

std::string frame() { return ethernet(0x0800, ipv4(L4{17, 5060, 5004, 60})); }

size_t read_all(const std::string& path) {
    CaptureReader r(path);
    RawRecord rec;
    size_t n = 0;
    while (r.next(rec)) ++n;
    return n;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(capture_reader)

BOOST_AUTO_TEST_CASE(pcapng_timestamp_past_2262_is_an_input_error) {
    TempDir d;
    const std::string p = d.path + "/future.pcapng";
    // 2^64 - 2^60 ns: 17 billion seconds, year ~560,000.
    PcapngFile f(DLT_EN10MB);
    f.add(1700000000123456789, frame()).add(int64_t(0xF000000000000000ull), frame());
    write_file(p, f.bytes);
    try {
        read_all(p);
        BOOST_ERROR("no error");
    } catch (const InputError& e) {
        const std::string msg = e.what();
        BOOST_TEST(msg.rfind(p + ": record 2: timestamp ", 0) == 0u, msg);
        BOOST_TEST(msg.find("outside 1970..2262") != std::string::npos, msg);
    }
    // The last nanosecond int64 holds (2262-04-11 23:47:16.854775807) reads fine.
    PcapngFile ok(DLT_EN10MB);
    ok.add(INT64_MAX, frame());
    write_file(p, ok.bytes);
    CaptureReader r(p);
    RawRecord rec;
    BOOST_TEST(r.next(rec));
    BOOST_TEST(rec.ts_ns == INT64_MAX);
}

BOOST_AUTO_TEST_CASE(a_file_that_is_not_a_capture_leaves_no_mapping_behind) {
    // The fuzzer's "Failed to mmap" after 654,239 runs: each rejected file leaked its
    // mmap until the process hit the kernel's limit on mappings.
    TempDir d;
    const std::string p = d.path + "/not.pcap";
    write_file(p, std::string(4096, 'x'));
    auto mappings = [] { return count_lines(read_file("/proc/self/maps")); };
    BOOST_CHECK_THROW(CaptureReader r(p), InputError);  // first use: libraries settle
    const size_t before = mappings();
    for (int i = 0; i < 200; ++i) BOOST_CHECK_THROW(CaptureReader r(p), InputError);
    BOOST_TEST(mappings() < before + 20);
}

BOOST_AUTO_TEST_SUITE_END()
