#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <cstring>
#include <nlohmann/json.hpp>
#include <random>

#include "core/error.h"
#include "flowpic/checksum.h"
#include "flowpic/dataset_file.h"
#include "flowpic/dataset_format.h"
#include "flowpic/dataset_stats.h"
#include "synth/random_windows.h"
#include "tests/util.h"

using namespace flowpic;

namespace {

struct Written {
    struct W {
        Window w;
        uint32_t label, capture;
        bool vpn;
        uint8_t split;
    };
    std::vector<W> windows;
    std::vector<std::string> classes, captures;
};

Window random_window(std::mt19937_64& rng) {
    Window w;
    w.flow_id = rng() % 100000;
    for (auto& b : w.tuple.src) b = uint8_t(rng());
    for (auto& b : w.tuple.dst) b = uint8_t(rng());
    w.tuple.sport = uint16_t(rng());
    w.tuple.dport = uint16_t(rng());
    w.tuple.proto = rng() % 2 ? kProtoTcp : kProtoUdp;
    w.tuple.ip_version = rng() % 2 ? 4 : 6;
    w.view = DirView(rng() % 3);
    w.index = uint32_t(rng() % 50);
    w.start_ns = int64_t(1400000000000000000ull + rng() % 100000000000000000ull);
    w.length_us = uint32_t(1000000 * (1 + rng() % 120));
    RandomWindowOptions packets;  // 1..700 packets sorted in the window, sizes 1..1500
    packets.min_packets = 1;
    packets.max_packets = 700;
    packets.length_us = w.length_us;
    packets.min_size = 1;
    packets.max_size = 1500;
    packets.seed = rng();
    w.packets = std::move(random_windows(packets).packets[0]);
    return w;
}

// Writes a random dataset; returns what went in.
Written write_random(const std::string& path, uint64_t seed, size_t windows = 150) {
    std::mt19937_64 rng(seed);
    Written out;
    DatasetWriter wr(path, R"({"flows":"uni","window_s":60,"labels":"builtin:iscx-vpn2016"})");
    for (const char* c : {"chat", "file", "voip", "video"}) out.classes.push_back(c), wr.add_class(c);
    BOOST_TEST(wr.add_class("file") == 1u);  // existing name: same index
    for (int i = 0; i < 9; ++i) {
        out.captures.push_back("caps/capture_" + std::to_string(i) + ".pcap");
        wr.add_capture(out.captures.back());
    }
    for (size_t i = 0; i < windows; ++i) {
        Written::W x{random_window(rng), 0, uint32_t(rng() % 9), false, 0};
        x.label = x.capture % 4;  // one label per capture
        x.vpn = x.capture >= 6;
        BOOST_TEST(wr.add_window(x.w, x.label, x.capture, x.vpn) == i);
        out.windows.push_back(std::move(x));
    }
    // The split arrives after all windows, grouped by capture.
    auto groups = wr.split_groups();
    SplitPlan plan = assign_splits(groups, parse_split("0.6,0.2,0.2"), seed);
    wr.apply_split_plan(groups, plan);
    std::vector<uint8_t> of_capture(9, 0);
    for (size_t g = 0; g < groups.size(); ++g) of_capture[groups[g].id] = plan.split[g];
    for (auto& x : out.windows) x.split = of_capture[x.capture];
    wr.set_split(0, 2);  // a single override
    out.windows[0].split = 2;
    wr.finish();
    return out;
}

std::string error_of(const std::string& path, DatasetReader::Verify v = DatasetReader::Verify::kAll) {
    try {
        DatasetReader r(path, v);
        return "";
    } catch (const InputError& e) {
        return e.what();
    }
}

FileHeader header_of(const std::string& bytes) {
    FileHeader h;
    std::memcpy(&h, bytes.data(), sizeof h);
    return h;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(dataset_file)

BOOST_AUTO_TEST_CASE(crc32c_known_value) {
    BOOST_TEST(crc32c("123456789", 9) == 0xE3069283u);
    BOOST_TEST(crc32c("56789", 5, crc32c("1234", 4)) == 0xE3069283u);  // running CRC
    BOOST_TEST(crc32c("", 0) == 0u);
}

BOOST_AUTO_TEST_CASE(round_trip_random_windows) {
    TempDir dir;
    const std::string path = dir.path + "/ds.flowpic";
    Written in = write_random(path, 1234);
    DatasetReader r(path);
    BOOST_TEST(r.classes() == in.classes, boost::test_tools::per_element());
    BOOST_TEST(r.captures() == in.captures, boost::test_tools::per_element());
    BOOST_REQUIRE_EQUAL(r.window_count(), in.windows.size());
    uint64_t packets = 0;
    std::vector<std::array<uint64_t, 3>> counts(4, {0, 0, 0});
    for (size_t i = 0; i < in.windows.size(); ++i) {
        const auto& x = in.windows[i];
        DatasetWindow w = r.window(i);
        BOOST_TEST(w.label == x.label);
        BOOST_TEST(r.label(i) == x.label);
        BOOST_TEST(w.split == x.split);
        BOOST_TEST(r.split(i) == x.split);
        BOOST_TEST(w.vpn == x.vpn);
        BOOST_TEST(w.prov.capture == x.capture);
        BOOST_TEST(w.prov.flow_id == x.w.flow_id);
        BOOST_TEST((w.prov.tuple == x.w.tuple));
        BOOST_TEST(int(w.prov.view) == int(x.w.view));
        BOOST_TEST(w.prov.index == x.w.index);
        BOOST_TEST(w.prov.start_ns == x.w.start_ns);
        BOOST_TEST(w.prov.length_us == x.w.length_us);
        BOOST_TEST(w.packets.length_us == x.w.length_us);
        BOOST_REQUIRE_EQUAL(w.packets.count, x.w.packets.size());
        BOOST_TEST(reinterpret_cast<uintptr_t>(w.packets.packets) % 8 == 0u);  // usable in place
        BOOST_TEST(std::memcmp(w.packets.packets, x.w.packets.data(), x.w.packets.size() * 8) == 0);
        packets += x.w.packets.size();
        counts[x.label][x.split]++;
    }
    BOOST_TEST(r.packet_count() == packets);
    BOOST_TEST(r.counts() == counts);
    auto prep = nlohmann::json::parse(r.prep_json());
    BOOST_TEST(prep["labels"] == "builtin:iscx-vpn2016");
    BOOST_TEST(prep["window_s"] == 60);
    // Packet records dominate: the file is header + 8 bytes a packet + small tables.
    BOOST_TEST(r.file_size() >= 256 + 8 * packets + 88 * in.windows.size());
    BOOST_TEST(r.file_size() <= 256 + 8 * packets + 88 * in.windows.size() + 1024);
    BOOST_CHECK_THROW(r.window(in.windows.size()), std::out_of_range);
    BOOST_CHECK_NO_THROW(r.verify_packets());
}

BOOST_AUTO_TEST_CASE(same_input_same_bytes) {
    TempDir dir;
    write_random(dir.path + "/a", 99);
    write_random(dir.path + "/b", 99);
    BOOST_TEST((read_file(dir.path + "/a") == read_file(dir.path + "/b")));
}

BOOST_AUTO_TEST_CASE(empty_dataset_round_trips) {
    TempDir dir;
    {
        DatasetWriter w(dir.path + "/e");
        w.finish();
    }
    DatasetReader r(dir.path + "/e");
    BOOST_TEST(r.window_count() == 0u);
    BOOST_TEST(r.classes().empty());
    BOOST_TEST(r.prep_json() == "{}");
}

BOOST_AUTO_TEST_CASE(writer_is_atomic_and_checks_its_input) {
    TempDir dir;
    const std::string path = dir.path + "/x";
    {
        DatasetWriter w(path);
        w.add_class("chat");
        w.add_capture("c.pcap");
        std::mt19937_64 rng(5);
        w.add_window(random_window(rng), 0, 0, false);
        Window bad = random_window(rng);
        bad.packets.back().t_us = bad.length_us;  // past the window
        BOOST_CHECK_THROW(w.add_window(bad, 0, 0, false), std::invalid_argument);
        Window unsorted = random_window(rng);
        if (unsorted.packets.size() > 1) {
            std::swap(unsorted.packets.front(), unsorted.packets.back());
            unsorted.packets.front().t_us = unsorted.packets.back().t_us + 1;
            BOOST_CHECK_THROW(w.add_window(unsorted, 0, 0, false), std::invalid_argument);
        }
        BOOST_CHECK_THROW(w.add_window(random_window(rng), 1, 0, false), std::invalid_argument);
        BOOST_CHECK_THROW(w.set_split(0, 3), std::invalid_argument);
        // no finish(): nothing appears
    }
    BOOST_TEST(!file_exists(path));
    BOOST_TEST(list_dir(dir.path).empty());
    BOOST_CHECK_THROW(DatasetWriter("-"), UsageError);
    BOOST_CHECK_THROW(DatasetWriter(path, "[1,2]"), std::invalid_argument);
    BOOST_CHECK_THROW(DatasetWriter(dir.path + "/no/such/dir/x"), InputError);
}

BOOST_AUTO_TEST_CASE(flipped_byte_in_each_section_is_a_checksum_error) {
    TempDir dir;
    const std::string path = dir.path + "/ds";
    write_random(path, 7);
    const std::string good = read_file(path);
    const FileHeader h = header_of(good);
    std::mt19937_64 rng(8);
    for (const SectionEntry& s : h.sections) {
        const std::string name = section_name(s.id);
        BOOST_REQUIRE(s.size > 0);
        for (int trial = 0; trial < 5; ++trial) {
            std::string bad = good;
            size_t at = s.offset + rng() % s.size;
            bad[at] = char(bad[at] ^ (1 + rng() % 255));
            write_file(path, bad);
            std::string e = error_of(path);
            BOOST_TEST(e.find("section '" + name + "' checksum mismatch") != std::string::npos, name << ": " << e);
            BOOST_TEST(e.find(path + ": ") == 0u);
            if (s.id == kSecPackets) {
                // Skipping the packet checksum at open defers the check to verify_packets().
                DatasetReader r(path, DatasetReader::Verify::kTables);
                BOOST_CHECK_THROW(r.verify_packets(), InputError);
            }
        }
    }
    // In the header (window_count) and in the padding between sections.
    std::string bad = good;
    bad[24] ^= 1;
    write_file(path, bad);
    BOOST_TEST(error_of(path).find("header checksum mismatch") != std::string::npos);
    bool padded = false;
    for (const SectionEntry& s : h.sections) {
        uint64_t end = s.offset + s.size;
        if (end % 8 != 0 && end < good.size()) {
            bad = good;
            bad[end] = 'x';
            write_file(path, bad);
            BOOST_TEST(error_of(path).find("padding") != std::string::npos, error_of(path));
            padded = true;
        }
    }
    BOOST_TEST(padded);
}

BOOST_AUTO_TEST_CASE(string_table_counts_are_bounded_by_their_bytes) {
    // A consistent header and table (checksums recomputed) that claim 0xffffffff names in
    // a few hundred bytes: reserving them first asked for 128 GB; now "corrupt table".
    TempDir dir;
    const std::string path = dir.path + "/ds";
    write_random(path, 21, 20);
    const std::string good = read_file(path);
    for (uint32_t id : {uint32_t(kSecClasses), uint32_t(kSecCaptures)})
        for (uint32_t count : {0xffffffffu, 0x40000000u, 1000u}) {
            std::string bad = good;
            FileHeader h = header_of(bad);
            for (SectionEntry& s : h.sections)
                if (s.id == id) {
                    std::memcpy(&bad[s.offset], &count, 4);
                    s.crc = crc32c(bad.data() + s.offset, s.size);
                }
            (id == kSecClasses ? h.class_count : h.capture_count) = count;
            h.header_crc = header_crc(h);
            std::memcpy(&bad[0], &h, sizeof h);
            write_file(path, bad);
            const std::string want = id == kSecClasses ? "corrupt class table" : "corrupt capture table";
            BOOST_TEST(error_of(path) == path + ": " + want, error_of(path));
        }
}

BOOST_AUTO_TEST_CASE(any_single_byte_flip_is_an_error_never_a_crash) {
    TempDir dir;
    const std::string path = dir.path + "/ds";
    write_random(path, 21, 20);
    const std::string good = read_file(path);
    std::mt19937_64 rng(22);
    for (int trial = 0; trial < 300; ++trial) {
        std::string bad = good;
        size_t at = trial < 256 ? size_t(trial) : rng() % bad.size();  // every header byte, then anywhere
        bad[at] = char(bad[at] ^ (1 + rng() % 255));
        write_file(path, bad);
        BOOST_TEST(!error_of(path).empty(), "byte " << at);
    }
}

BOOST_AUTO_TEST_CASE(truncated_files_are_clear_errors) {
    TempDir dir;
    const std::string path = dir.path + "/ds";
    write_random(path, 3);
    const std::string good = read_file(path);
    for (size_t len : {size_t(0), size_t(1), size_t(4), size_t(8), size_t(11), size_t(12), size_t(100), size_t(255),
                       size_t(256), size_t(257), size_t(4096), good.size() / 2, good.size() - 8, good.size() - 1}) {
        write_file(path, good.substr(0, len));
        std::string e = error_of(path);
        BOOST_TEST((e.find("truncated") != std::string::npos || e.find("empty") != std::string::npos),
                   len << ": " << e);
    }
    write_file(path, good + "extra");
    BOOST_TEST(error_of(path).find("trailing") != std::string::npos);
    BOOST_TEST(error_of(dir.path + "/missing").find("cannot open") != std::string::npos);
    BOOST_TEST(!error_of(dir.path).empty());  // a directory
}

BOOST_AUTO_TEST_CASE(wrong_magic_and_version) {
    TempDir dir;
    const std::string path = dir.path + "/ds";
    write_random(path, 4);
    const std::string good = read_file(path);
    std::string bad = good;
    bad[0] = 'G';
    write_file(path, bad);
    BOOST_TEST(error_of(path).find("not a flowpic dataset") != std::string::npos);
    write_file(path, "PK\x03\x04 a zip file, not ours");
    BOOST_TEST(error_of(path).find("not a flowpic dataset") != std::string::npos);
    bad = good;
    uint32_t v = 2;
    std::memcpy(&bad[8], &v, 4);
    write_file(path, bad);
    BOOST_TEST(error_of(path).find("unsupported dataset version 2 (this build reads version 1)") != std::string::npos,
               error_of(path));
}

BOOST_AUTO_TEST_CASE(stats_text_and_json) {
    TempDir dir;
    const std::string path = dir.path + "/ds";
    Written in = write_random(path, 55);
    DatasetReader r(path, DatasetReader::Verify::kTables);
    DatasetStats s = compute_stats(r);
    uint64_t mn = UINT64_MAX, mx = 0, total = 0, vpn = 0;
    for (auto& x : in.windows) {
        mn = std::min<uint64_t>(mn, x.w.packets.size());
        mx = std::max<uint64_t>(mx, x.w.packets.size());
        total += x.w.packets.size();
        vpn += x.vpn;
    }
    BOOST_TEST(s.all.min == mn);
    BOOST_TEST(s.all.max == mx);
    BOOST_TEST(s.all.mean() == double(total) / in.windows.size(), boost::test_tools::tolerance(1e-12));
    BOOST_TEST(s.vpn_windows == vpn);
    BOOST_TEST(s.file_bytes == read_file(path).size());
    auto j = nlohmann::json::parse(stats_json(s));
    BOOST_TEST(j["windows"] == in.windows.size());
    BOOST_TEST(j["classes"].size() == 4u);
    uint64_t sum = 0;
    for (auto& c : j["classes"]) sum += c["train"].get<uint64_t>() + c["val"].get<uint64_t>() + c["test"].get<uint64_t>();
    BOOST_TEST(sum == in.windows.size());
    BOOST_TEST(j["splits"]["train"].get<uint64_t>() + j["splits"]["val"].get<uint64_t>() +
                   j["splits"]["test"].get<uint64_t>() == in.windows.size());
    BOOST_TEST(j["prep"]["flows"] == "uni");
    std::string text = stats_text(s);
    for (const char* c : {"chat", "file", "voip", "video", "train", "MB"}) BOOST_TEST(text.find(c) != std::string::npos, c);
}

BOOST_AUTO_TEST_SUITE_END()
