// Replays the fuzz harnesses (tests/fuzz/fuzz_*.cpp) on every input kept under
// tests/fuzz/regress/<harness>/ (each one crashed, hung or leaked once; docs/FUZZING.md)
// and on the seed corpora under tests/fuzz/corpus/<harness>/, without libFuzzer: the
// harness bodies are ordinary functions.  Each input must return without an escaping
// exception and quickly (a hang found by the fuzzer must stay fixed).
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>

#include "tests/util.h"

namespace flowpic {
int fuzz_capture(const uint8_t*, size_t);
int fuzz_dataset(const uint8_t*, size_t);
int fuzz_model(const uint8_t*, size_t);
int fuzz_checkpoint(const uint8_t*, size_t);
int fuzz_npy(const uint8_t*, size_t);
int fuzz_labels(const uint8_t*, size_t);
}  // namespace flowpic

using namespace flowpic;

namespace {

using Harness = std::function<int(const uint8_t*, size_t)>;

// Runs the harness on every file of dir; returns how many.
size_t replay(const std::string& dir, const Harness& h) {
    std::vector<std::string> names = list_dir(dir);
    std::sort(names.begin(), names.end());
    for (const std::string& n : names) {
        const std::string bytes = read_file(dir + "/" + n);
        const auto t0 = std::chrono::steady_clock::now();
        BOOST_CHECK_NO_THROW(h(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        BOOST_TEST(s < 5.0, dir << "/" << n << " took " << s << " s");
    }
    return names.size();
}

void replay_harness(const std::string& name, const Harness& h, bool needs_regress) {
    const size_t seeds = replay("tests/fuzz/corpus/" + name, h);
    const size_t kept = replay("tests/fuzz/regress/" + name, h);
    BOOST_TEST_MESSAGE(name << ": " << seeds << " seeds, " << kept << " regression inputs");
    BOOST_TEST(seeds > 0u, "tests/fuzz/corpus/" << name << " is empty");
    if (needs_regress) BOOST_TEST(kept > 0u, "tests/fuzz/regress/" << name << " is empty");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(fuzz_regress)

BOOST_AUTO_TEST_CASE(capture) { replay_harness("capture", fuzz_capture, true); }
BOOST_AUTO_TEST_CASE(dataset) { replay_harness("dataset", fuzz_dataset, true); }
BOOST_AUTO_TEST_CASE(model) { replay_harness("model", fuzz_model, true); }
BOOST_AUTO_TEST_CASE(checkpoint) { replay_harness("checkpoint", fuzz_checkpoint, true); }
BOOST_AUTO_TEST_CASE(npy) { replay_harness("npy", fuzz_npy, false); }
BOOST_AUTO_TEST_CASE(labels) { replay_harness("labels", fuzz_labels, true); }

BOOST_AUTO_TEST_SUITE_END()
