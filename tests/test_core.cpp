#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "core/atomic_file.h"
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

BOOST_AUTO_TEST_SUITE_END()
