// LabelRegex (flowpic/label_regex.h): the same answers as std::regex on random patterns
// of the supported language, linear time where std::regex backtracks for seconds, and
// clear errors for what it does not support.
#define BOOST_TEST_DYN_LINK
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <random>
#include <regex>

#include "flowpic/label_regex.h"

using namespace flowpic;

namespace {

// A random pattern over a, b, c: literals, '.', classes, groups with alternation,
// every quantifier form (never two in a row), anchors now and then.
struct PatternGen {
    std::mt19937_64 rng;
    explicit PatternGen(uint64_t seed) : rng(seed) {}
    int pick(int n) { return int(rng() % uint64_t(n)); }

    std::string atom(int depth) {
        switch (pick(depth < 3 ? 8 : 6)) {
            case 0: case 1: case 2: return std::string(1, "abc"[pick(3)]);
            case 3: return ".";
            case 4: { const char* c[] = {"[ab]", "[^a]", "[a-b]", "[c]", "\\w", "[^bc]"}; return c[pick(6)]; }
            case 5: return pick(4) == 0 ? "\\." : std::string(1, "abc"[pick(3)]);
            default: return std::string(pick(2) ? "(" : "(?:") + alternation(depth + 1) + ")";
        }
    }
    std::string quantified(int depth) {
        std::string a = atom(depth);
        const char* q[] = {"", "", "", "*", "+", "?", "{2}", "{0,2}", "{1,}", "*?", "+?"};
        return a + q[pick(11)];
    }
    std::string sequence(int depth) {
        std::string s;
        if (pick(8) == 0) s += "^";
        for (int n = pick(4); n >= 0; --n) s += quantified(depth);
        if (pick(8) == 0) s += "$";
        return s;
    }
    std::string alternation(int depth) {
        std::string s = sequence(depth);
        while (pick(4) == 0) s += "|" + sequence(depth);
        return s;
    }
};

double seconds_of(const std::function<void()>& f) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(label_regex)

BOOST_AUTO_TEST_CASE(agrees_with_std_regex_on_random_patterns) {
    PatternGen gen(20240611);
    std::mt19937_64 srng(7);
    int checked = 0;
    for (int p = 0; p < 600; ++p) {
        const std::string pat = gen.alternation(0);
        const LabelRegex mine(pat);
        const std::regex ref(pat, std::regex::ECMAScript);
        for (int k = 0; k < 25; ++k) {
            std::string s;
            for (int n = int(srng() % 9); n > 0; --n) s += "abc."[srng() % 4];
            BOOST_TEST(mine.search(s) == std::regex_search(s, ref), "search /" << pat << "/ in '" << s << "'");
            BOOST_TEST(mine.match(s) == std::regex_match(s, ref), "match /" << pat << "/ on '" << s << "'");
            ++checked;
        }
    }
    BOOST_TEST(checked == 600 * 25);
}

BOOST_AUTO_TEST_CASE(escapes_classes_and_counts) {
    BOOST_TEST(LabelRegex("^caps/.*_ft[0-9]+").search("caps/x_ft12.pcap"));
    BOOST_TEST(!LabelRegex("^caps/.*_ft[0-9]+").search("other/caps/x_ft12.pcap"));
    BOOST_TEST(LabelRegex("\\d{3}\\.pcap$").search("run_123.pcap"));
    BOOST_TEST(!LabelRegex("\\d{3}\\.pcap$").search("run_12.pcap"));
    BOOST_TEST(LabelRegex("a{2,3}").match("aaa"));
    BOOST_TEST(!LabelRegex("a{2,3}").match("aaaa"));
    BOOST_TEST(LabelRegex("[^/]+\\.pcapng").match("x-1.pcapng"));
    BOOST_TEST(LabelRegex("\\x41\\u0042\\t").match("AB\t"));
    BOOST_TEST(LabelRegex("[\\d_-]+").match("1_2-3"));
    BOOST_TEST(!LabelRegex("[]").search("anything"));  // an empty class matches nothing
}

BOOST_AUTO_TEST_CASE(backtracking_patterns_run_in_linear_time) {
    // std::regex takes seconds to minutes on these (nested or stacked quantifiers).
    const std::string name = std::string(30, 'a') + "c";
    const std::string long_name = std::string(4000, 'a') + "c";
    for (const char* pat : {"(a*)*b", "(a|a)*b", "(a+)+b", "(?:a?){30}a{30}b", "(.*)*x$"}) {
        LabelRegex re(pat);
        double s = seconds_of([&] {
            BOOST_TEST(!re.search(name));
            BOOST_TEST(!re.search(long_name));
        });
        BOOST_TEST(s < 2.0, pat << " took " << s << " s");
    }
}

BOOST_AUTO_TEST_CASE(unsupported_syntax_is_refused_with_a_reason) {
    auto refused = [](const std::string& pat, const std::string& why) {
        try {
            LabelRegex re(pat);
            BOOST_ERROR("accepted /" << pat << "/");
        } catch (const std::invalid_argument& e) {
            BOOST_TEST(std::string(e.what()).find(why) != std::string::npos, pat << ": " << e.what());
        }
    };
    refused("a?+b", "nothing to repeat");
    refused("a**", "nothing to repeat");
    refused("*a", "nothing to repeat");
    refused("^*", "nothing to repeat");
    refused("(a)\\1", "backreferences");
    refused("(?=a)", "lookaround");
    refused("\\bword", "word boundaries");
    refused("([", "unterminated");
    refused("(a", "missing ')'");
    refused("a)", "unmatched ')'");
    refused("[z-a]", "out of order");
    refused("a{3,2}", "m < n");
    refused("a{5000}", "over 1000");
    refused("(a{1000}){1000}", "states");
    refused(std::string(150, '(') + std::string(150, ')'), "nested deeper");
    refused(std::string(1001, 'a'), "longer than");
    refused("\\q", "unknown escape");
}

BOOST_AUTO_TEST_CASE(catch_alls_are_recognised) {
    for (const char* p : {".*", "x*", "^", "(a|)", "(?:)", "a?"}) BOOST_TEST(LabelRegex(p).matches_everything(), p);
    for (const char* p : {"a", "^$", "^.*$", ".+", "$"}) BOOST_TEST(!LabelRegex(p).matches_everything(), p);
}

BOOST_AUTO_TEST_SUITE_END()
