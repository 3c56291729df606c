// How every tool treats its outputs and its numbers (issue 10): devices and FIFOs written
// in place, symlinks followed, an output that is an input refused before any work, temp
// files gone after SIGTERM and after a later run following kill -9, failed runs that take
// their files back, and flags that are not finite or out of range refused in words.
// Devices are private nodes under a temp dir: no test here touches a system path.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <thread>
#include <unistd.h>

#include "tests/util.h"

using namespace flowpic;

namespace {

mode_t kind_of(const std::string& p) {
    struct stat st;
    return lstat(p.c_str(), &st) == 0 ? st.st_mode & S_IFMT : 0;
}

// Two classes of short synthetic captures, prepared once, and a tiny binary LeNet.
struct Fixture {
    TempDir dir;
    std::string caps, capture, data, model;
    Fixture() {
        caps = dir.path + "/cap";
        auto s = run_tool("synth", "--out " + caps + " --flows-per-class 3 --duration 70 --classes voip,video --seed 5 -q");
        BOOST_REQUIRE_MESSAGE(s.exit_code == 0, s.err);
        capture = caps + "/voip/voip_0.pcap";
        data = dir.path + "/d.fpd";
        auto p = run_tool("prep", caps + " -o " + data + " --label-from-dir --window 10 --split 0.5,0.25,0.25 -q");
        BOOST_REQUIRE_MESSAGE(p.exit_code == 0, p.err);
        model = dir.path + "/m.safetensors";
        auto t = run_tool("train", "--data " + data + " -o " + model +
                                       " --arch lenet --resolution 32 --values binary --epochs 1 --batch 16 --device cpu -q");
        BOOST_REQUIRE_MESSAGE(t.exit_code == 0, t.err);
    }
};

Fixture& fx() {
    static Fixture f;
    return f;
}

// Runs a shell script (bash) in `dir`; returns its stdout.
std::string sh(const std::string& dir, const std::string& script) {
    std::string path = dir + "/script.sh";
    char cwd[4096];
    std::string bin = bin_dir();
    if (bin[0] != '/' && getcwd(cwd, sizeof cwd)) bin = std::string(cwd) + "/" + bin;
    write_file(path, "set -u\ncd '" + dir + "'\nB=" + bin + "\n" + script);
    FILE* p = popen(("bash " + path + " 2>&1").c_str(), "r");
    std::string out;
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
    pclose(p);
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(outputs_cli)

BOOST_AUTO_TEST_CASE(devices_fifos_and_symlinks_as_outputs) {
    TempDir d;
    const std::string cap = fx().capture;
    auto want = run_tool("extract", cap + " --flows - -q");
    BOOST_REQUIRE(want.exit_code == 0);
    // A private null device stays a device.
    std::string node = d.path + "/null";
    if (mknod(node.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0) {
        for (const std::string tool : {"extract", "prep"}) {
            auto r = tool == "extract" ? run_tool("extract", cap + " --flows " + node + " --csv " + node + " -q")
                                       : run_tool("prep", cap + " -o " + node + " --label x --window 10 -q");
            BOOST_TEST(r.exit_code == 0, tool + ": " + r.err);
            BOOST_TEST(kind_of(node) == mode_t(S_IFCHR), tool);
        }
    } else {
        BOOST_TEST_MESSAGE("skipped the device node: mknod needs root");
    }
    // A FIFO's reader gets exactly what a file would get.
    std::string fifo = d.path + "/fifo";
    BOOST_REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
    std::string got;
    std::thread reader([&] { got = read_file(fifo); });
    auto r = run_tool("extract", cap + " --flows " + fifo + " -q");
    reader.join();
    BOOST_TEST(r.exit_code == 0, r.err);
    BOOST_TEST(got == want.out);
    BOOST_TEST(kind_of(fifo) == mode_t(S_IFIFO));
    // A symlink is followed: the link stays, its target gets the data.
    write_file(d.path + "/target.tsv", "old");
    BOOST_REQUIRE(symlink("target.tsv", (d.path + "/link.tsv").c_str()) == 0);
    auto l = run_tool("extract", cap + " --flows " + d.path + "/link.tsv -q");
    BOOST_TEST(l.exit_code == 0, l.err);
    BOOST_TEST(kind_of(d.path + "/link.tsv") == mode_t(S_IFLNK));
    BOOST_TEST(read_file(d.path + "/target.tsv") == want.out);
}

BOOST_AUTO_TEST_CASE(an_output_that_is_an_input_or_another_output_is_refused_before_any_work) {
    TempDir d;
    const Fixture& f = fx();
    std::string cap = d.path + "/a.pcap";
    write_file(cap, read_file(f.capture));
    const std::string before = read_file(cap), data_before = read_file(f.data), model_before = read_file(f.model);
    BOOST_REQUIRE(symlink("a.pcap", (d.path + "/ln.pcap").c_str()) == 0);
    struct Case {
        std::string tool, args, named;
    };
    const std::string lenet = " --arch lenet --resolution 32 --epochs 1 -q";
    for (const Case& c : std::vector<Case>{
             {"extract", cap + " --flows " + cap, "--flows"},
             {"extract", cap + " --csv " + d.path + "/./a.pcap", "--csv"},
             {"extract", cap + " --csv " + d.path + "/ln.pcap", "--csv"},
             {"extract", d.path + " --flows " + cap, "--flows"},  // inside an input directory
             {"extract", cap + " --csv " + d.path + "/x --flows " + d.path + "/x", "--flows"},
             {"prep", cap + " -o " + cap + " --label x", "-o"},
             {"train", "--data " + f.data + " -o " + f.data + lenet, "-o"},
             {"train", "--data " + f.data + " -o " + d.path + "/m.st --metrics " + f.data + lenet, "--metrics"},
             {"train", "--data " + f.data + " -o " + d.path + "/m.st --checkpoint-every 1 --checkpoint " + d.path +
                           "/m.st" + lenet, "--checkpoint"},
             {"infer", "--model " + f.model + " --data " + f.data + " --eval --output " + f.model, "--output"},
             {"infer", "--model " + f.model + " " + cap + " --flows-summary " + cap, "--flows-summary"},
         }) {
        auto r = run_tool(c.tool, c.args);
        BOOST_TEST(r.exit_code == 2, c.tool + " " + c.args + ": " + r.err);
        BOOST_TEST(r.err.find(c.named) != std::string::npos, r.err);
        BOOST_TEST((r.err.find("same file") != std::string::npos), r.err);
        BOOST_TEST(count_lines(r.err) == 1u, r.err);
    }
    BOOST_TEST(read_file(cap) == before);
    BOOST_TEST(read_file(f.data) == data_before);
    BOOST_TEST(read_file(f.model) == model_before);
    BOOST_TEST(!file_exists(d.path + "/x"));
    BOOST_TEST(!file_exists(d.path + "/m.st"));
}

BOOST_AUTO_TEST_CASE(train_checks_its_outputs_before_training) {
    TempDir d;
    auto r = run_tool("train", "--data " + fx().data + " -o " + d.path + "/missing/m.safetensors --arch lenet "
                               "--resolution 32 --epochs 1000");
    BOOST_TEST(r.exit_code == 1, r.err);
    BOOST_TEST(r.err.find("missing/m.safetensors") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("does not exist") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("epoch") == std::string::npos, r.err);  // not one epoch ran
}

BOOST_AUTO_TEST_CASE(a_failed_metrics_write_is_reported_and_the_model_still_written) {
    TempDir d;
    // A metrics file already at the file-size limit (300 KB; the model is ~250 KB): its
    // next whole rewrite fails (EFBIG), as a full disk would (ENOSPC): same code path.
    const std::string old(300 * 1024 - 1, 'x');
    write_file(d.path + "/m.jsonl", old + "\n");
    std::string out = sh(d.path, "trap '' XFSZ; ulimit -f 300; $B/flowpic-train --data " + fx().data +
                                     " -o m.safetensors --metrics m.jsonl --arch lenet --resolution 32 --epochs 2 "
                                     "--batch 16 --device cpu -q; echo rc=$?\n");
    BOOST_TEST(out.find("rc=1") != std::string::npos, out);
    BOOST_TEST(out.find("m.jsonl: write failed") != std::string::npos, out);
    BOOST_TEST(out.find("metrics file is incomplete") != std::string::npos, out);
    BOOST_TEST(file_exists(d.path + "/m.safetensors"));
    BOOST_TEST((read_file(d.path + "/m.jsonl") == old + "\n"));  // never cut
}

BOOST_AUTO_TEST_CASE(temp_files_go_on_sigterm_and_after_kill_9) {
    TempDir d;
    // extract reads a FIFO that stays open: it waits with its temp output created.
    const std::string run =
        "mkfifo in; $B/flowpic-extract - --csv out.csv -q < in & pid=$!; exec 3>in; sleep 0.7\n"
        "echo before: $(ls -A | grep -c flowpic-tmp)\n";
    std::string term = sh(d.path, run + "kill -TERM $pid; wait $pid; echo rc=$?; exec 3>&-\n"
                                        "echo after: $(ls -A | grep -c flowpic-tmp); ls -A\n");
    BOOST_TEST(term.find("before: 1") != std::string::npos, term);
    BOOST_TEST(term.find("rc=143") != std::string::npos, term);  // died of SIGTERM, as usual
    BOOST_TEST(term.find("after: 0") != std::string::npos, term);
    BOOST_TEST(term.find("out.csv") == std::string::npos, term);
    std::string kill9 = sh(d.path, "rm -f in\n" + run + "kill -KILL $pid; wait $pid; exec 3>&-\n"
                                        "echo left: $(ls -A | grep -c flowpic-tmp)\n"
                                        "$B/flowpic-extract " + fx().capture + " --csv out.csv -q; echo rc=$?\n"
                                        "echo after: $(ls -A | grep -c flowpic-tmp)\n");
    BOOST_TEST(kill9.find("left: 1") != std::string::npos, kill9);  // SIGKILL cannot be caught...
    BOOST_TEST(kill9.find("rc=0") != std::string::npos, kill9);
    BOOST_TEST(kill9.find("after: 0") != std::string::npos, kill9);  // ...the next run cleans up
}

BOOST_AUTO_TEST_CASE(failed_runs_take_back_their_files) {
    TempDir d;
    // synth: the 4th capture's path is a directory, so the run fails there.
    BOOST_REQUIRE(std::system(("mkdir -p " + d.path + "/s/voip/voip_3.pcap").c_str()) == 0);
    auto s = run_tool("synth", "--out " + d.path + "/s --flows-per-class 5 --classes voip --duration 30 -q");
    BOOST_TEST(s.exit_code == 1, s.err);
    BOOST_TEST(s.err.find("voip_3.pcap: is a directory") != std::string::npos, s.err);
    BOOST_TEST(s.err.find("removed the 3 files this run had written") != std::string::npos, s.err);
    BOOST_TEST(list_dir(d.path + "/s/voip") == std::vector<std::string>{"voip_3.pcap"});
    // render: one PNG name taken by a directory.
    auto all = run_tool("render", fx().data + " --png " + d.path + "/all --resolution 16 -q");
    BOOST_REQUIRE(all.exit_code == 0);
    auto names = list_dir(d.path + "/all");
    BOOST_REQUIRE(names.size() > 3u);
    std::sort(names.begin(), names.end());
    BOOST_REQUIRE(std::system(("mkdir -p " + d.path + "/part/" + names[names.size() / 2]).c_str()) == 0);
    auto r = run_tool("render", fx().data + " --png " + d.path + "/part --resolution 16 -q");
    BOOST_TEST(r.exit_code == 1, r.err);
    BOOST_TEST(list_dir(d.path + "/part").size() == 1u);
}

BOOST_AUTO_TEST_CASE(numbers_must_be_finite_and_in_range_said_in_words) {
    TempDir d;
    const Fixture& f = fx();
    struct Case {
        std::string tool, args, flag;
    };
    for (const Case& c : std::vector<Case>{
             {"extract", f.capture + " --idle-timeout 1e10", "--idle-timeout"},
             {"extract", f.capture + " --idle-timeout nan", "--idle-timeout"},
             {"extract", f.capture + " --active-timeout 1e300", "--active-timeout"},
             {"extract", f.capture + " --active-timeout -1", "--active-timeout"},
             {"prep", f.capture + " -o " + d.path + "/x.fpd --label a --idle-timeout inf", "--idle-timeout"},
             {"prep", f.capture + " -o " + d.path + "/x.fpd --label a --window nan", "--window"},
             {"prep", f.capture + " -o " + d.path + "/x.fpd --label a --min-span -1", "--min-span"},
             {"train", "--data " + f.data + " -o " + d.path + "/m.st --threads 100000", "--threads"},
             {"train", "--data " + f.data + " -o " + d.path + "/m.st --lr nan", "--lr"},
             {"train", "--data " + f.data + " -o " + d.path + "/m.st --lr -1", "--lr"},
             {"synth", "--out " + d.path + "/s --flows-per-class 4294967296", "--flows-per-class"},
             {"synth", "--out " + d.path + "/s --duration nan", "--duration"},
             {"render", f.data + " --png " + d.path + "/p --scale -1", "--scale"},
             {"bench", "binning --min-time nan", "--min-time"},
         }) {
        auto r = run_tool(c.tool, c.args);
        BOOST_TEST(r.exit_code == 2, c.tool + " " + c.args + ": " + r.err);
        BOOST_TEST(r.err.find(c.flag) != std::string::npos, r.err);
        BOOST_TEST(r.err.find("e+") == std::string::npos, r.err);  // no 1.79769e+308 bound
        BOOST_TEST(count_lines(r.err) == 1u, r.err);
    }
    BOOST_TEST(list_dir(d.path).empty());
    // A long timeout is fine when finite and in range: 7 flows stay 7 flows.
    auto a = run_tool("extract", f.capture + " --flows - --idle-timeout 1e7 --active-timeout 1e7 -q");
    auto b = run_tool("extract", f.capture + " --flows - -q");
    BOOST_TEST(a.exit_code == 0, a.err);
    BOOST_TEST(count_lines(a.out) == count_lines(b.out));
}

BOOST_AUTO_TEST_CASE(render_names_a_bad_dataset_and_refuses_window_flags_on_one) {
    TempDir d;
    std::string bad = d.path + "/bad.fpd", flipped = d.path + "/flipped";
    std::string bytes = read_file(fx().data);
    write_file(bad, bytes.substr(0, 100));  // truncated
    bytes[40] ^= 0x55;
    write_file(flipped, bytes);  // checksum fails, magic intact
    for (const auto& p : {bad, flipped}) {
        auto r = run_tool("render", p + " --png " + d.path + "/png");
        BOOST_TEST(r.exit_code == 1, r.err);
        BOOST_TEST(r.err.find(p) != std::string::npos, r.err);
        BOOST_TEST(r.err.find("not a capture") == std::string::npos, r.err);
    }
    auto w = run_tool("render", fx().data + " --png " + d.path + "/png --window 30");
    BOOST_TEST(w.exit_code == 2, w.err);
    BOOST_TEST(w.err.find("--window") != std::string::npos, w.err);
    BOOST_TEST(!file_exists(d.path + "/png"));
}

BOOST_AUTO_TEST_CASE(images_unlike_the_models_binning_get_a_warning) {
    TempDir d;
    // The model was trained on binary pixels; count images hold 2, 3, ... where packets pile up.
    auto counts = run_tool("render", fx().data + " --npy-dataset " + d.path + "/c --resolution 32 -q");
    auto binary = run_tool("render", fx().data + " --npy-dataset " + d.path + "/b --resolution 32 --values binary -q");
    BOOST_REQUIRE(counts.exit_code == 0 && binary.exit_code == 0);
    auto bad = run_tool("infer", "--model " + fx().model + " --images " + d.path + "/c/X.npy --output " + d.path + "/p.csv -q");
    BOOST_TEST(bad.exit_code == 0, bad.err);
    BOOST_TEST(bad.err.find("warning") != std::string::npos, bad.err);
    BOOST_TEST(bad.err.find("binary pixels") != std::string::npos, bad.err);
    auto good = run_tool("infer", "--model " + fx().model + " --images " + d.path + "/b/X.npy --output " + d.path + "/p.csv -q");
    BOOST_TEST(good.exit_code == 0, good.err);
    BOOST_TEST(good.err.empty(), good.err);
}

BOOST_AUTO_TEST_SUITE_END()
