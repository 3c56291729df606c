#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>

#include "core/atomic_file.h"
#include "core/line_log.h"
#include "core/output_paths.h"
#include "core/error.h"
#include "tests/util.h"

using namespace flowpic;

BOOST_AUTO_TEST_SUITE(core)

BOOST_AUTO_TEST_CASE(atomic_file_appears_only_on_commit) {
    TempDir dir;
    std::string path = dir.path + "/out.txt";
    {
        AtomicFile f(path);
        std::fputs("hello", f.get());
        BOOST_TEST(!file_exists(path));
        f.commit();
    }
    BOOST_TEST(read_file(path) == "hello");
    {
        AtomicFile f(path);
        std::fputs("half", f.get());
        // destroyed without commit: the old file survives, no temp file is left behind
    }
    BOOST_TEST(read_file(path) == "hello");
    BOOST_TEST(list_dir(dir.path).size() == 1u);
}

BOOST_AUTO_TEST_CASE(atomic_file_unwritable_directory_is_an_input_error) {
    BOOST_CHECK_THROW(AtomicFile("/nonexistent-dir/x.csv"), InputError);
}


namespace {

mode_t kind_of(const std::string& p) {
    struct stat st;
    return lstat(p.c_str(), &st) == 0 ? st.st_mode & S_IFMT : 0;
}

void write_through(const std::string& path, const std::string& data) {
    AtomicFile f(path);
    std::fputs(data.c_str(), f.get());
    f.commit();
}

}  // namespace

BOOST_AUTO_TEST_CASE(atomic_file_writes_a_character_device_in_place) {
    TempDir dir;
    std::string node = dir.path + "/null";  // a private null device, never the system's
    if (mknod(node.c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) {
        BOOST_TEST_MESSAGE("skipped: mknod needs root");
        return;
    }
    write_through(node, "goes nowhere");
    BOOST_TEST(kind_of(node) == mode_t(S_IFCHR));
    BOOST_TEST(list_dir(dir.path).size() == 1u);  // no temp file beside it
}

BOOST_AUTO_TEST_CASE(atomic_file_writes_a_fifo_in_place_and_its_reader_gets_the_data) {
    TempDir dir;
    std::string fifo = dir.path + "/fifo";
    BOOST_REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
    std::string got;
    std::thread reader([&] { got = read_file(fifo); });
    write_through(fifo, "through the pipe\n");
    reader.join();
    BOOST_TEST(got == "through the pipe\n");
    BOOST_TEST(kind_of(fifo) == mode_t(S_IFIFO));
}

BOOST_AUTO_TEST_CASE(atomic_file_connects_to_a_unix_socket) {
    TempDir dir;
    std::string path = dir.path + "/sock";
    int srv = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    BOOST_REQUIRE(bind(srv, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    BOOST_REQUIRE(listen(srv, 1) == 0);
    std::string got;
    std::thread server([&] {
        int c = accept(srv, nullptr, nullptr);
        char buf[256];
        for (ssize_t n; (n = read(c, buf, sizeof buf)) > 0;) got.append(buf, size_t(n));
        close(c);
    });
    write_through(path, "to the socket");
    server.join();
    close(srv);
    BOOST_TEST(got == "to the socket");
    BOOST_TEST(kind_of(path) == mode_t(S_IFSOCK));
}

BOOST_AUTO_TEST_CASE(atomic_file_follows_symlinks_and_keeps_them) {
    TempDir dir;
    std::string target = dir.path + "/target.txt", link = dir.path + "/link.txt";
    write_file(target, "old");
    BOOST_REQUIRE(symlink("target.txt", link.c_str()) == 0);  // relative, as ln -s makes it
    write_through(link, "new");
    BOOST_TEST(kind_of(link) == mode_t(S_IFLNK));
    BOOST_TEST(read_file(target) == "new");
    // A dangling link makes its target.
    std::string dangling = dir.path + "/dangling", made = dir.path + "/made.txt";
    BOOST_REQUIRE(symlink(made.c_str(), dangling.c_str()) == 0);
    write_through(dangling, "made");
    BOOST_TEST(kind_of(dangling) == mode_t(S_IFLNK));
    BOOST_TEST(read_file(made) == "made");
}

BOOST_AUTO_TEST_CASE(atomic_file_refuses_a_directory_and_keeps_a_replaced_files_mode) {
    TempDir dir;
    BOOST_CHECK_THROW(AtomicFile f(dir.path), InputError);
    std::string p = dir.path + "/ro-ish";
    write_file(p, "x");
    chmod(p.c_str(), 0640);
    write_through(p, "y");
    struct stat st;
    BOOST_REQUIRE(stat(p.c_str(), &st) == 0);
    BOOST_TEST((st.st_mode & 07777) == 0640u);
}

BOOST_AUTO_TEST_CASE(temp_files_are_named_for_their_output_and_stale_ones_are_removed) {
    TempDir dir;
    std::string p = dir.path + "/out.fpd";
    const std::string prefix = ".out.fpd.flowpic-tmp." + std::to_string(getpid()) + ".";
    {
        AtomicFile f(p);
        auto names = list_dir(dir.path);
        BOOST_REQUIRE(names.size() == 1u);
        BOOST_TEST(names[0].compare(0, prefix.size(), prefix) == 0, names[0]);
    }
    // A dead run's temp (no process 999999999 can exist: beyond pid_max) goes; a live
    // run's (ours) and other files stay.
    write_file(dir.path + "/.out.fpd.flowpic-tmp.999999999.abcdef", "stale");
    write_file(dir.path + "/" + prefix + "live00", "live");
    write_file(dir.path + "/.other.flowpic-tmp.999999999.abcdef", "other output");
    write_through(p, "data");
    auto names = list_dir(dir.path);
    BOOST_TEST(names.size() == 3u);
    BOOST_TEST(!file_exists(dir.path + "/.out.fpd.flowpic-tmp.999999999.abcdef"));
    BOOST_TEST(file_exists(dir.path + "/" + prefix + "live00"));
}

BOOST_AUTO_TEST_CASE(check_outputs_compares_files_not_spellings) {
    TempDir dir;
    std::string in = dir.path + "/in.pcap";
    write_file(in, "capture");
    BOOST_REQUIRE(link(in.c_str(), (dir.path + "/hard.pcap").c_str()) == 0);
    BOOST_REQUIRE(symlink(in.c_str(), (dir.path + "/soft.pcap").c_str()) == 0);
    for (std::string out : {in, dir.path + "/./in.pcap", dir.path + "/hard.pcap", dir.path + "/soft.pcap"}) {
        try {
            check_outputs({in}, {{"--flows", out}});
            BOOST_ERROR("not refused: " + out);
        } catch (const UsageError& e) {
            std::string m = e.what();
            BOOST_TEST(m.find("--flows " + out) != std::string::npos, m);
            BOOST_TEST(m.find("the input " + in) != std::string::npos, m);
        }
    }
    BOOST_TEST(read_file(in) == "capture");
    // Two outputs on one new path, spelt two ways.
    BOOST_CHECK_THROW(check_outputs({in}, {{"--csv", dir.path + "/x.csv"}, {"--flows", dir.path + "/./x.csv"}}), UsageError);
    // Different files, and outputs that are devices, pass.
    check_outputs({in}, {{"--csv", dir.path + "/a.csv"}, {"--flows", dir.path + "/b.tsv"}});
    std::string node = dir.path + "/null";
    const bool have_node = mknod(node.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0;
    if (have_node) check_outputs({in}, {{"--csv", node}, {"--flows", node}});
    // A missing directory is an input error naming the flag, before any work.
    try {
        check_outputs({in}, {{"-o", dir.path + "/no/such/dir/m.safetensors"}});
        BOOST_ERROR("not refused");
    } catch (const InputError& e) {
        BOOST_TEST(std::string(e.what()).find("does not exist") != std::string::npos, e.what());
    }
    BOOST_TEST(list_dir(dir.path).size() == (have_node ? 4u : 3u));  // the probe left nothing
}

BOOST_AUTO_TEST_CASE(output_batch_takes_back_what_a_failed_run_wrote) {
    TempDir dir;
    write_file(dir.path + "/keep.txt", "the user's");
    std::string node = dir.path + "/null";
    bool have_node = mknod(node.c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0;
    try {
        OutputBatch b;
        b.guard([&] {
            for (int i = 0; i < 3; ++i) {
                write_through(dir.path + "/f" + std::to_string(i), "part");
                b.add(dir.path + "/f" + std::to_string(i));
            }
            if (have_node) b.add(node);  // never unlinked: not a regular file
            throw input_error(dir.path + "/f3", "disk full");
            return 0;
        });
        BOOST_ERROR("no error");
    } catch (const InputError& e) {
        BOOST_TEST(std::string(e.what()) == dir.path + "/f3: disk full (removed the 3 files this run had written)");
    }
    BOOST_TEST(list_dir(dir.path).size() == (have_node ? 2u : 1u));
    if (have_node) BOOST_TEST(kind_of(node) == mode_t(S_IFCHR));
}

BOOST_AUTO_TEST_CASE(line_log_appends_whole_lines_atomically) {
    TempDir dir;
    std::string p = dir.path + "/m.jsonl";
    write_file(p, "{\"epoch\":1}\n{\"cut");  // an older run's line cut in half
    {
        LineLog log(p);
        log.append("{\"epoch\":2}");
        BOOST_TEST(read_file(p) == "{\"epoch\":1}\n{\"cut\n{\"epoch\":2}\n");
        log.append("{\"epoch\":3}");
    }
    BOOST_TEST(read_file(p) == "{\"epoch\":1}\n{\"cut\n{\"epoch\":2}\n{\"epoch\":3}\n");
    BOOST_TEST(list_dir(dir.path).size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
