// flowpic-extract end to end: generated captures of each format, the CSV/TSV outputs,
// the seed's filters, and every bad input from the issue (clear error, exit code, no
// half-written output).
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <pcap.h>
#include <sys/stat.h>

#include "tests/pcap_builder.h"
#include "tests/util.h"

using namespace flowpic;
using namespace flowpic::testing;

namespace {

constexpr int64_t kT0 = 1700000000LL * 1000000000LL;

// A small conversation: client 10.0.0.1:40000 -> server 192.168.1.1:443 (TCP), and a DNS
// exchange, and one ARP frame.  Timestamps have nanosecond digits.
PcapFile conversation() {
    PcapFile f(DLT_EN10MB);
    f.add(kT0 + 123456789, ethernet(0x0800, ipv4(L4{6, 40000, 443, 0})));
    f.add(kT0 + 223456789, ethernet(0x0800, ipv4(L4{6, 443, 40000, 1400}, 0xc0a80101, 0x0a000001)));
    f.add(kT0 + 1223456789, ethernet(0x0800, ipv4(L4{6, 40000, 443, 200})));
    f.add(kT0 + 1300000000, ethernet(0x0800, ipv4(L4{17, 5353, 53, 30}, 0x0a000001, 0x08080808)));
    f.add(kT0 + 1400000000, ethernet(0x0806, std::string(28, '\x01')));
    return f;
}

std::vector<std::string> lines(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(extract_cli)

BOOST_AUTO_TEST_CASE(csv_has_the_seed_columns_and_values) {
    TempDir d;
    write_file(d.path + "/c.pcap", conversation().bytes);
    auto r = run_tool("extract", d.path + "/c.pcap --csv " + d.path + "/out.csv --relative-time --direction --label chat -q");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    auto l = lines(read_file(d.path + "/out.csv"));
    BOOST_REQUIRE(l.size() == 5u);
    BOOST_TEST(l[0] == "Timestamp,SourceIP,SourcePort,DestinationIP,DestinationPort,Protocol,Size,RelativeTime,Direction,Label");
    BOOST_TEST(l[1] == "1700000000.123456789,10.0.0.1,40000,192.168.1.1,443,TCP,40,0.000000000,1,chat");
    BOOST_TEST(l[2] == "1700000000.223456789,192.168.1.1,443,10.0.0.1,40000,TCP,1440,0.100000000,0,chat");
    BOOST_TEST(l[3] == "1700000001.223456789,10.0.0.1,40000,192.168.1.1,443,TCP,240,1.100000000,1,chat");
    BOOST_TEST(l[4] == "1700000001.300000000,10.0.0.1,5353,8.8.8.8,53,UDP,58,0.000000000,1,chat");
}

BOOST_AUTO_TEST_CASE(flows_tsv_and_json_summary) {
    TempDir d;
    write_file(d.path + "/c.pcap", conversation().bytes);
    auto r = run_tool("extract", d.path + "/c.pcap --flows " + d.path + "/f.tsv --json -q");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    auto l = lines(read_file(d.path + "/f.tsv"));
    BOOST_REQUIRE(l.size() == 3u);
    BOOST_TEST(l[0] == "proto\tsrc\tsport\tdst\tdport\tpackets_fwd\tbytes_fwd\tpackets_rev\tbytes_rev\tfirst_ts\tlast_ts");
    BOOST_TEST(l[1] == "TCP\t10.0.0.1\t40000\t192.168.1.1\t443\t2\t280\t1\t1440\t1700000000.123456789\t1700000001.223456789");
    BOOST_TEST(l[2] == "UDP\t10.0.0.1\t5353\t8.8.8.8\t53\t1\t58\t0\t0\t1700000001.300000000\t1700000001.300000000");
    BOOST_TEST(r.out.find("\"packets\":4") != std::string::npos, r.out);
    BOOST_TEST(r.out.find("\"non_ip\":1") != std::string::npos, r.out);
    BOOST_TEST(r.out.find("\"records\":5") != std::string::npos, r.out);
}

BOOST_AUTO_TEST_CASE(seed_filters_skip_empty_tcp_and_dns) {
    TempDir d;
    write_file(d.path + "/c.pcap", conversation().bytes);
    auto r = run_tool("extract", d.path + "/c.pcap --csv - --skip-empty-tcp --skip-dns -q");
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    auto l = lines(r.out);
    BOOST_REQUIRE(l.size() == 3u);  // header + two TCP packets with payload
    BOOST_TEST(l[1].find(",1440") != std::string::npos);
    BOOST_TEST(l[2].find(",240") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(every_link_type_and_pcapng_read_from_files_and_stdin) {
    TempDir d;
    std::string v4 = ipv4(L4{17, 1000, 2000, 50}), v6 = ipv6(L4{6, 3000, 443, 10});
    struct F { const char* name; std::string bytes; };
    std::vector<F> files = {
        {"eth.pcap", PcapFile(DLT_EN10MB).add(kT0, ethernet(0x0800, v4, {0x8100})).add(kT0 + 1, ethernet(0x86DD, v6)).bytes},
        {"sll.pcap", PcapFile(DLT_LINUX_SLL).add(kT0, sll(0x0800, v4)).add(kT0 + 1, sll(0x86DD, v6)).bytes},
        {"sll2.pcap", PcapFile(DLT_LINUX_SLL2).add(kT0, sll2(0x0800, v4)).add(kT0 + 1, sll2(0x86DD, v6)).bytes},
        {"raw.pcap", PcapFile(101).add(kT0, v4).add(kT0 + 1, v6).bytes},  // LINKTYPE_RAW on disk
        {"null.pcap", PcapFile(DLT_NULL).add(kT0, null_loop(2, false, v4)).add(kT0 + 1, null_loop(30, false, v6)).bytes},
        {"loop.pcap", PcapFile(DLT_LOOP).add(kT0, null_loop(2, true, v4)).add(kT0 + 1, null_loop(24, true, v6)).bytes},
        {"usec.pcap", PcapFile(DLT_RAW, 65535, false).add(kT0, v4).add(kT0 + 1000, v6).bytes},
        {"ng.pcapng", PcapngFile(DLT_EN10MB).add(kT0, ethernet(0x0800, v4)).add(kT0 + 1, ethernet(0x86DD, v6)).bytes},
    };
    for (const auto& f : files) {
        BOOST_TEST_CONTEXT(f.name) {
            write_file(d.path + "/" + f.name, f.bytes);
            auto r = run_tool("extract", d.path + "/" + f.name + " --flows - -q");
            BOOST_TEST(r.exit_code == 0, r.err);
            BOOST_TEST(count_lines(r.out) == 3u, r.out);
            BOOST_TEST(r.out.find("UDP\t10.0.0.1\t1000\t192.168.1.1\t2000\t1\t78") != std::string::npos, r.out);
            BOOST_TEST(r.out.find("TCP\t2001::1\t3000\t2001::2\t443\t1\t70") != std::string::npos, r.out);
            auto s = run_tool("extract", "- --flows - -q", d.path + "/" + f.name);
            BOOST_TEST(s.exit_code == 0, s.err);
            BOOST_TEST(s.out == r.out);
        }
    }
    // A directory is walked recursively; files that are not captures are ignored.
    mkdir((d.path + "/sub").c_str(), 0755);
    write_file(d.path + "/sub/more.pcap", files[0].bytes);
    write_file(d.path + "/notes.txt", "not a capture");
    auto r = run_tool("extract", d.path + " --flows - --label-from-dir -q");
    BOOST_TEST(r.exit_code == 0, r.err);
    BOOST_TEST(count_lines(r.out) == 1u + 2u * 9u, r.out);
    BOOST_TEST(r.out.find("\tsub\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(snaplen_cut_and_caplen_zero_records) {
    TempDir d;
    std::string v4 = ethernet(0x0800, ipv4(L4{6, 1, 2, 1000}));
    PcapFile f(DLT_EN10MB, 64);
    f.add(kT0, v4, 64);          // headers only: size still 1040
    f.add(kT0 + 1, v4, 0);       // caplen 0: truncated
    f.add(kT0 + 2, v4, 30);      // cut inside the IP header
    f.add(kT0 + 3, v4, 100);     // caplen > snaplen: libpcap reads it or rejects the file
    write_file(d.path + "/c.pcap", f.bytes);
    auto r = run_tool("extract", d.path + "/c.pcap --json -q");
    BOOST_TEST_REQUIRE((r.exit_code == 0 || r.exit_code == 1), r.err);
    if (r.exit_code == 1) {
        BOOST_TEST(r.err.find(d.path + "/c.pcap") != std::string::npos, r.err);
    } else {
        auto c = run_tool("extract", d.path + "/c.pcap --csv - -q");
        BOOST_TEST(count_lines(c.out) == 3u, c.out);  // header, the cut record, the oversized one
        BOOST_TEST(c.out.find(".000000000,10.0.0.1,1,192.168.1.1,2,TCP,1040\n") != std::string::npos, c.out);
        BOOST_TEST(r.out.find("\"truncated\":2") != std::string::npos, r.out);
    }
}

BOOST_AUTO_TEST_CASE(bad_inputs_give_one_clear_line_and_exit_1) {
    TempDir d;
    std::string good = conversation().bytes;
    struct Bad { const char* name; std::string bytes; const char* message; };
    std::vector<Bad> bad = {
        {"empty.pcap", "", "empty file"},
        {"magic.pcap", std::string(64, 'x'), "unknown file format"},
        {"header.pcap", good.substr(0, 12), "truncated"},
        {"wifi.pcap", PcapFile(105).add(kT0, std::string(40, '\1')).bytes, "unsupported link type IEEE802_11 (DLT 105)"},
    };
    for (const auto& b : bad) {
        BOOST_TEST_CONTEXT(b.name) {
            std::string path = d.path + "/" + b.name;
            write_file(path, b.bytes);
            auto r = run_tool("extract", path + " --flows " + d.path + "/out.tsv -q");
            BOOST_TEST(r.exit_code == 1);
            BOOST_TEST(count_lines(r.err) == 1u, r.err);
            BOOST_TEST(r.err.find(path) != std::string::npos, r.err);
            BOOST_TEST(r.err.find(b.message) != std::string::npos, r.err);
            BOOST_TEST(!file_exists(d.path + "/out.tsv"));
            BOOST_TEST(list_dir(d.path).size() == 1u);  // no temp file left behind
            std::remove(path.c_str());
        }
    }
    auto missing = run_tool("extract", d.path + "/nope.pcap --flows -");
    BOOST_TEST(missing.exit_code == 1);
    BOOST_TEST(missing.err.find("nope.pcap: No such file or directory") != std::string::npos, missing.err);
    mkdir((d.path + "/empty").c_str(), 0755);
    auto empty_dir = run_tool("extract", d.path + "/empty --flows -");
    BOOST_TEST(empty_dir.exit_code == 1);
    BOOST_TEST(empty_dir.err.find("holds no pcap or pcapng capture") != std::string::npos, empty_dir.err);
}

BOOST_AUTO_TEST_CASE(truncated_last_record_warns_and_keeps_the_rest) {
    TempDir d;
    std::string bytes = conversation().bytes;
    write_file(d.path + "/cut.pcap", bytes.substr(0, bytes.size() - 10));
    auto r = run_tool("extract", d.path + "/cut.pcap --csv -");
    BOOST_TEST(r.exit_code == 0, r.err);
    BOOST_TEST(count_lines(r.out) == 5u);  // header + 4 TCP/UDP packets before the ARP frame
    BOOST_TEST(r.err.find("cut.pcap: warning: capture cut short") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(keep_going_skips_a_bad_capture) {
    TempDir d;
    write_file(d.path + "/a.pcap", conversation().bytes);
    write_file(d.path + "/b.pcap", PcapFile(105).add(kT0, std::string(40, '\1')).bytes);
    auto strict = run_tool("extract", d.path + " --flows -");
    BOOST_TEST(strict.exit_code == 1);
    auto r = run_tool("extract", d.path + " --flows - --keep-going");
    BOOST_TEST(r.exit_code == 0, r.err);
    BOOST_TEST(count_lines(r.out) == 3u);
    BOOST_TEST(r.err.find("b.pcap: unsupported link type") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_CASE(usage_errors_exit_2_and_help_exits_0) {
    TempDir d;
    write_file(d.path + "/c.pcap", conversation().bytes);
    BOOST_TEST(run_tool("extract", "").exit_code == 2);
    BOOST_TEST(run_tool("extract", d.path + "/c.pcap --bogus").exit_code == 2);
    BOOST_TEST(run_tool("extract", d.path + "/c.pcap --direction").exit_code == 2);
    BOOST_TEST(run_tool("extract", d.path + "/c.pcap --idle-timeout -3").exit_code == 2);
    BOOST_TEST(run_tool("extract", d.path + "/c.pcap --csv - --json").exit_code == 2);
    auto h = run_tool("extract", "--help");
    BOOST_TEST(h.exit_code == 0);
    BOOST_TEST(h.out.find("Examples:") != std::string::npos);
    BOOST_TEST(h.out.find("Exit codes") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(unwritable_output_path_is_exit_1_and_existing_output_survives) {
    TempDir d;
    write_file(d.path + "/c.pcap", conversation().bytes);
    auto r = run_tool("extract", d.path + "/c.pcap --flows /nonexistent-dir/f.tsv");
    BOOST_TEST(r.exit_code == 1);
    BOOST_TEST(r.err.find("/nonexistent-dir/f.tsv") != std::string::npos, r.err);
    // A failing run never clobbers a previous good output.
    write_file(d.path + "/f.tsv", "previous\n");
    write_file(d.path + "/bad.pcap", "garbage-garbage-garbage-garbage");
    auto r2 = run_tool("extract", d.path + "/c.pcap " + d.path + "/bad.pcap --flows " + d.path + "/f.tsv");
    BOOST_TEST(r2.exit_code == 1);
    BOOST_TEST(read_file(d.path + "/f.tsv") == "previous\n");
}

BOOST_AUTO_TEST_SUITE_END()
