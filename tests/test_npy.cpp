// .npy writing and reading: round trips, numpy.load on our files (when Debian's numpy is
// there), our reader on numpy's files, the streaming writer, and every malformed case.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "flowpic/npy.h"
#include "tests/util.h"

using namespace flowpic;

namespace {

const NpyDtype kDtypes[] = {NpyDtype::u8, NpyDtype::u16, NpyDtype::i64, NpyDtype::f32};
const std::vector<NpyShape> kShapes = {{}, {0}, {5}, {3, 4}, {2, 1, 7, 7}, {0, 2, 3}, {1, 1, 1, 1, 3}};

// Random non-zero values that numpy and we sum exactly in double (see checksum()).
std::vector<uint8_t> random_values(NpyDtype t, uint64_t n, std::mt19937& rng) {
    std::vector<uint8_t> out(n * npy_itemsize(t));
    for (uint64_t i = 0; i < n; ++i) {
        int64_t k = int64_t(rng() % 1000) + 1;
        uint8_t* p = out.data() + i * npy_itemsize(t);
        switch (t) {
        case NpyDtype::u8: *p = uint8_t(k % 255 + 1); break;
        case NpyDtype::u16: { uint16_t v = uint16_t(k * 65); std::memcpy(p, &v, 2); break; }
        case NpyDtype::i64: { int64_t v = (k - 500) * 1000000007LL; std::memcpy(p, &v, 8); break; }
        case NpyDtype::f32: { float v = float(k - 500) / 4.0f; std::memcpy(p, &v, 4); break; }
        }
    }
    return out;
}

// sum(value * (i % 7 + 1)) * 4: an integer for every dtype above.
long long checksum(NpyDtype t, const std::vector<uint8_t>& data) {
    NpyArray a;
    a.dtype = t;
    a.shape = {data.size() / npy_itemsize(t)};
    a.data = data;
    long double s = 0;
    if (t == NpyDtype::i64) {
        for (size_t i = 0; i < a.shape[0]; ++i) {
            int64_t v;
            std::memcpy(&v, data.data() + 8 * i, 8);
            s += (long double)v * (i % 7 + 1);
        }
    } else {
        std::vector<float> f = a.to_float();
        for (size_t i = 0; i < f.size(); ++i) s += (long double)f[i] * (i % 7 + 1);
    }
    return (long long)(s * 4);
}

std::string shape_repr(const NpyShape& s) {  // Python's tuple repr
    std::string r = "(";
    for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
    return r + (s.size() == 1 ? ",)" : ")");
}

bool have_numpy() { return std::system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") == 0; }

struct NumpyAvailable {
    boost::test_tools::assertion_result operator()(boost::unit_test::test_unit_id) const {
        boost::test_tools::assertion_result r(have_numpy());
        r.message() << "skipped: /usr/bin/python3 has no numpy";
        return r;
    }
};

// Runs python code with numpy; returns its stdout.
std::string python(const std::string& code, const std::string& args, const TempDir& dir) {
    write_file(dir.path + "/check.py", code);
    std::string cmd = "/usr/bin/python3 " + dir.path + "/check.py " + args + " >" + dir.path + "/py.out";
    BOOST_REQUIRE_EQUAL(std::system(cmd.c_str()), 0);
    return read_file(dir.path + "/py.out");
}

// A hand-made .npy: any version, any header text (padded to 64), any data.
std::string make_npy(const std::string& dict, const std::string& data, int major = 1, int minor = 0) {
    std::string head = "\x93NUMPY";
    head += char(major);
    head += char(minor);
    size_t len_bytes = major == 1 ? 2 : 4;
    size_t total = (8 + len_bytes + dict.size() + 1 + 63) / 64 * 64;
    size_t hl = total - 8 - len_bytes;
    for (size_t i = 0; i < len_bytes; ++i) head += char((hl >> (8 * i)) & 0xff);
    head += dict + std::string(total - 8 - len_bytes - dict.size() - 1, ' ') + "\n";
    return head + data;
}

// Expects InputError "path: ..." containing `what`.
void expect_error(const std::string& path, const std::string& what) {
    try {
        read_npy(path);
        BOOST_ERROR(path << ": no error, expected '" << what << "'");
    } catch (const InputError& e) {
        std::string msg = e.what();
        BOOST_TEST(msg.rfind(path + ": ", 0) == 0u, msg);
        BOOST_TEST(msg.find(what) != std::string::npos, "'" << msg << "' lacks '" << what << "'");
    }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(npy)

BOOST_AUTO_TEST_CASE(round_trip_all_dtypes_and_shapes) {
    TempDir dir;
    std::mt19937 rng(1);
    for (NpyDtype t : kDtypes)
        for (const auto& shape : kShapes) {
            auto data = random_values(t, npy_elements(shape), rng);
            std::string path = dir.path + "/a.npy";
            write_npy(path, t, shape, data.data());
            std::string file = read_file(path);
            std::string pre = npy_preamble(t, shape);
            BOOST_TEST(pre.size() % 64 == 0u);
            BOOST_TEST(file.size() == pre.size() + data.size());
            BOOST_TEST(file.compare(0, pre.size(), pre) == 0);
            BOOST_TEST(pre.find(std::string("'descr': '") + npy_descr(t) + "'") != std::string::npos);
            BOOST_TEST(pre.find("'shape': " + shape_repr(shape)) != std::string::npos, pre);
            NpyArray a = read_npy(path);
            BOOST_TEST((a.dtype == t));
            BOOST_TEST(a.shape == shape);
            BOOST_TEST(a.data == data);
        }
    BOOST_TEST(list_dir(dir.path).size() == 1u);  // no temp files left behind
}

BOOST_AUTO_TEST_CASE(typed_write_and_float_conversion) {
    TempDir dir;
    std::vector<uint16_t> v = {0, 1, 65535, 300, 7, 9};
    write_npy(dir.path + "/u.npy", {2, 3}, v.data());
    NpyArray a = read_npy(dir.path + "/u.npy");
    BOOST_TEST((a.dtype == NpyDtype::u16));
    std::vector<float> f = a.to_float(), want = {0, 1, 65535, 300, 7, 9};
    BOOST_TEST(f == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(numpy_loads_our_files, *boost::unit_test::precondition(NumpyAvailable())) {
    TempDir dir;
    std::mt19937 rng(2);
    std::string args, expected;
    int i = 0;
    for (NpyDtype t : kDtypes)
        for (const auto& shape : kShapes) {
            auto data = random_values(t, npy_elements(shape), rng);
            std::string path = dir.path + "/f" + std::to_string(i++) + ".npy";
            write_npy(path, t, shape, data.data());
            args += " " + path;
            expected += std::string(npy_descr(t)) + " " + shape_repr(shape) + " True " +
                        std::to_string(checksum(t, data)) + "\n";
        }
    // A streamed file too.
    {
        NpyStreamWriter w(dir.path + "/s.npy", NpyDtype::f32, {2, 3});
        auto data = random_values(NpyDtype::f32, 6 * 5, rng);
        w.append_raw(data.data(), 2);
        w.append_raw(data.data() + 2 * 24, 3);
        w.finish();
        args += " " + dir.path + "/s.npy";
        expected += "<f4 (5, 2, 3) True " + std::to_string(checksum(NpyDtype::f32, data)) + "\n";
    }
    std::string out = python(
        "import sys, numpy as np\n"
        "for p in sys.argv[1:]:\n"
        "    a = np.load(p)\n"
        "    v = a.ravel().astype(np.float64 if a.dtype.kind == 'f' else np.int64)\n"
        "    w = np.arange(a.size) % 7 + 1\n"
        "    print(a.dtype.str, a.shape, a.flags.c_contiguous, int(round(float((v * w).sum()) * 4))"
        " if a.dtype.kind == 'f' else int((v * w).sum()) * 4)\n",
        args, dir);
    BOOST_TEST(out == expected);
}

BOOST_AUTO_TEST_CASE(reads_numpy_files, *boost::unit_test::precondition(NumpyAvailable())) {
    TempDir dir;
    python("import sys, numpy as np\n"
           "d = sys.argv[1]\n"
           "np.save(d + '/u8.npy', (np.arange(24, dtype=np.uint8) * 7).reshape(2, 3, 4))\n"
           "np.save(d + '/f4.npy', np.arange(6, dtype=np.float32).reshape(3, 2) / 8)\n"
           "np.save(d + '/f8.npy', np.zeros(3))\n"
           "np.save(d + '/fortran.npy', np.asfortranarray(np.ones((3, 2), dtype=np.float32)))\n",
           dir.path, dir);
    NpyArray a = read_npy(dir.path + "/u8.npy");
    BOOST_TEST((a.dtype == NpyDtype::u8));
    BOOST_TEST(a.shape == (NpyShape{2, 3, 4}));
    BOOST_TEST(a.data.at(23) == 23 * 7);
    NpyArray f = read_npy(dir.path + "/f4.npy");
    BOOST_TEST(f.shape == (NpyShape{3, 2}));
    BOOST_TEST(f.to_float().at(5) == 5.0f / 8);
    expect_error(dir.path + "/f8.npy", "unsupported dtype '<f8'");
    expect_error(dir.path + "/fortran.npy", "Fortran");
}

BOOST_AUTO_TEST_CASE(streaming_writer) {
    TempDir dir;
    std::mt19937 rng(3);
    const NpyShape item = {1, 4, 4};
    std::vector<uint16_t> all;
    {
        NpyStreamWriter w(dir.path + "/X.npy", NpyDtype::u16, item);
        for (uint64_t chunk : {3u, 0u, 1u, 7u}) {
            std::vector<uint16_t> v(chunk * 16);
            for (auto& x : v) x = uint16_t(rng() % 60000 + 1);
            w.append(v.data(), chunk);
            all.insert(all.end(), v.begin(), v.end());
        }
        BOOST_TEST(w.count() == 11u);
        BOOST_TEST(!file_exists(dir.path + "/X.npy"));  // appears only on finish
        BOOST_CHECK_THROW(w.append(std::vector<float>(16).data(), 1), std::logic_error);
        w.finish();
    }
    NpyReader r(dir.path + "/X.npy");
    BOOST_TEST(r.shape() == (NpyShape{11, 1, 4, 4}));
    std::vector<uint16_t> rows(2 * 16);
    r.read_rows(9, 2, rows.data());
    BOOST_TEST(std::equal(rows.begin(), rows.end(), all.begin() + 9 * 16));
    BOOST_CHECK_THROW(r.read_rows(10, 2, rows.data()), std::out_of_range);
    NpyArray a = read_npy(dir.path + "/X.npy");
    BOOST_TEST(std::memcmp(a.data.data(), all.data(), all.size() * 2) == 0);
    BOOST_TEST((read_file(dir.path + "/X.npy").size() - all.size() * 2) % 64 == 0u);

    {  // nothing appended: shape (0, 1, 4, 4)
        NpyStreamWriter w(dir.path + "/empty.npy", NpyDtype::u8, item);
        w.finish();
    }
    BOOST_TEST(read_npy(dir.path + "/empty.npy").shape == (NpyShape{0, 1, 4, 4}));
    {  // abandoned: no file, no temp file
        NpyStreamWriter w(dir.path + "/gone.npy", NpyDtype::u8, item);
        std::vector<uint8_t> v(16, 1);
        w.append(v.data(), 1);
    }
    BOOST_TEST(!file_exists(dir.path + "/gone.npy"));
    BOOST_TEST(list_dir(dir.path).size() == 2u);
}

BOOST_AUTO_TEST_CASE(malformed_files_are_input_errors) {
    TempDir dir;
    const std::string good_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    const std::string data(24, '\x01');
    auto put = [&](const std::string& name, const std::string& bytes) {
        write_file(dir.path + "/" + name, bytes);
        return dir.path + "/" + name;
    };
    // the hand-made good file reads, so each case below fails for its own reason
    BOOST_TEST(read_npy(put("good.npy", make_npy(good_dict, data))).shape == (NpyShape{2, 3}));
    BOOST_TEST(read_npy(put("v2.npy", make_npy(good_dict, data, 2, 0))).shape == (NpyShape{2, 3}));

    std::string bad = make_npy(good_dict, data);
    bad[1] = 'X';
    expect_error(put("magic.npy", bad), "bad magic");
    expect_error(put("empty.npy", ""), "bad magic");
    expect_error(put("short.npy", "\x93NUM"), "bad magic");
    expect_error(put("v3.npy", make_npy(good_dict, data, 3, 0)), "unsupported .npy version 3.0");
    expect_error(put("v1_5.npy", make_npy(good_dict, data, 1, 5)), "unsupported .npy version 1.5");
    for (const char* d : {"<f8", ">f4", "<i4", "|b1", "O"}) {
        std::string dict = good_dict;
        dict.replace(dict.find("<f4"), 3, d);
        expect_error(put("dtype.npy", make_npy(dict, data)), std::string("unsupported dtype '") + d + "'");
    }
    std::string fdict = good_dict;
    fdict.replace(fdict.find("False"), 5, "True");
    expect_error(put("fortran.npy", make_npy(fdict, data)), "Fortran");
    expect_error(put("trunc.npy", make_npy(good_dict, data.substr(0, 23))), "truncated data (23 of 24 bytes)");
    expect_error(put("nodata.npy", make_npy(good_dict, "")), "truncated data (0 of 24 bytes)");
    expect_error(put("extra.npy", make_npy(good_dict, data + "xx")), "2 unexpected bytes");
    std::string cut = make_npy(good_dict, data);
    expect_error(put("cuthead.npy", cut.substr(0, 40)), "truncated .npy header");
    for (const char* dict : {"{'descr': '<f4', 'shape': (2, 3), }",
                             "{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }",
                             "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }",
                             "{'descr': '<f4', 'fortran_order': Nope, 'shape': (2, 3), }",
                             "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}",
                             "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)",
                             "{'descr': '<f4, 'fortran_order': False, 'shape': (2, 3)}",
                             "['descr', '<f4']",
                             "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)} junk",
                             "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999, 3)}"})
        expect_error(put("header.npy", make_npy(dict, data)), "malformed .npy header");
    BOOST_CHECK_THROW(read_npy(dir.path + "/does-not-exist.npy"), InputError);
    BOOST_CHECK_THROW(read_npy(dir.path), InputError);  // a directory
}

BOOST_AUTO_TEST_SUITE_END()
