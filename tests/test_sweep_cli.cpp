// flowpic-sweep on the command line: --help, usage errors naming the axis, and a sweep
// killed with SIGKILL in the middle that, started again, ends with every cell.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/util.h"

using namespace flowpic;

namespace {

struct SweepData {
    TempDir dir;
    std::string path;
    SweepData() {
        path = dir.path + "/d.fpd";
        auto s = run_tool("synth", "--out " + dir.path + "/cap --flows-per-class 4 --duration 130 --classes voip,video,chat "
                                   "--seed 3 -q");
        BOOST_REQUIRE(s.exit_code == 0);
        auto p = run_tool("prep", dir.path + "/cap -o " + path + " --label-from-dir --window 20 --split 0.5,0.25,0.25 -q");
        BOOST_REQUIRE_MESSAGE(p.exit_code == 0, p.err);
    }
};

SweepData& data() {
    static SweepData d;
    return d;
}

const std::string kTiny = " --arch lenet --resolution 16 --epochs 2 --batch 16 --seeds 2 --device cpu --infer-batch 16 "
                          "--latency-samples 4 --classical off --no-plot -q";

size_t lines_in(const std::string& path) { return count_lines(read_file(path)); }

}  // namespace

BOOST_AUTO_TEST_SUITE(sweep_cli)

BOOST_AUTO_TEST_CASE(help_and_usage_errors) {
    auto h = run_tool("sweep", "--help");
    BOOST_TEST(h.exit_code == 0);
    BOOST_TEST(h.out.find("Examples:") != std::string::npos);
    BOOST_TEST(h.out.find("--preset") != std::string::npos);
    BOOST_TEST(h.out.find("--window") != std::string::npos);
    TempDir d;
    const std::string base = "--data " + data().path + " -o " + d.path + "/o";
    auto r = run_tool("sweep", base + " --arch flowpic --resolution 32");
    BOOST_TEST(r.exit_code == 2);
    BOOST_TEST(r.err.find("axis 'arch'") != std::string::npos, r.err);
    r = run_tool("sweep", base + " --overlap 0.5");
    BOOST_TEST(r.exit_code == 2);
    BOOST_TEST(r.err.find("axis 'overlap'") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("--inputs") != std::string::npos, r.err);
    r = run_tool("sweep", base + " --values ''");
    BOOST_TEST(r.exit_code == 2);
    BOOST_TEST(r.err.find("axis 'values'") != std::string::npos, r.err);
    write_file(d.path + "/g.json", R"({"colour": [1]})");
    r = run_tool("sweep", base + " --grid " + d.path + "/g.json");
    BOOST_TEST(r.exit_code == 2);
    BOOST_TEST(r.err.find("g.json: unknown axis 'colour'") != std::string::npos, r.err);
    r = run_tool("sweep", base + " --grid " + d.path + "/g.json --preset seed");
    BOOST_TEST(r.exit_code == 2);
    r = run_tool("sweep", "-o " + d.path + "/o --arch lenet --resolution 32");
    BOOST_TEST(r.exit_code == 2);
    BOOST_TEST(r.err.find("--data") != std::string::npos, r.err);
    BOOST_TEST(!file_exists(d.path + "/o"));  // nothing made by refused runs
    r = run_tool("sweep", "--data " + d.path + "/missing.fpd -o " + d.path + "/o --arch lenet --resolution 32");
    BOOST_TEST(r.exit_code == 1);
    BOOST_TEST(r.err.find("missing.fpd") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(killed_with_sigkill_then_resumed) {
    TempDir d;
    const std::string out = d.path + "/o";
    const std::string args = "--data " + data().path + " -o " + out + " --values count,binary --normalize span,fixed" + kTiny;
    // Start it, wait for the first cell line, kill -9 it.
    const pid_t pid = fork();
    BOOST_REQUIRE(pid >= 0);
    if (pid == 0) {
        const std::string cmd = "exec " + bin_dir() + "/flowpic-sweep " + args + " >" + d.path + "/killed.log 2>&1";
        execl("/bin/sh", "sh", "-c", cmd.c_str(), (char*)nullptr);
        _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline && lines_in(out + "/cells.jsonl") < 1)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    const size_t done_at_kill = lines_in(out + "/cells.jsonl");
    BOOST_TEST(done_at_kill >= 1u);
    // Whole lines only, whatever moment it died at.
    const std::string cells = read_file(out + "/cells.jsonl");
    BOOST_TEST(cells.back() == '\n');
    // The same command again finishes the grid and keeps what was done.
    auto r = run_tool("sweep", args);
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    BOOST_TEST(lines_in(out + "/cells.jsonl") == 4u);
    BOOST_TEST(read_file(out + "/cells.jsonl").compare(0, cells.size(), cells) == 0);
    BOOST_TEST(count_lines(read_file(out + "/results.csv")) == 5u);
    BOOST_TEST(r.out.find("| # |") != std::string::npos);  // the table on stdout
    // And once more: nothing left to run.
    auto again = run_tool("sweep", args);
    BOOST_TEST(again.exit_code == 0);
    BOOST_TEST(lines_in(out + "/cells.jsonl") == 4u);
    for (const auto& f : list_dir(out)) BOOST_TEST(f.find("flowpic-tmp") == std::string::npos, f);
}

BOOST_AUTO_TEST_CASE(inputs_prepare_each_prep_setting_once) {
    TempDir d;
    const std::string out = d.path + "/o";
    const std::string args = "--inputs " + data().dir.path + "/cap -o " + out +
                             " --window 20,30 --split 0.5,0.25,0.25 --values binary" + kTiny;
    auto r = run_tool("sweep", args);
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    BOOST_TEST(list_dir(out + "/prep").size() == 2u);  // one dataset per window length
    BOOST_TEST(lines_in(out + "/cells.jsonl") == 2u);
    const std::string csv = read_file(out + "/results.csv");
    BOOST_TEST(csv.find(",20,") != std::string::npos);
    BOOST_TEST(csv.find(",30,") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
