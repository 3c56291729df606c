// What every flowpic binary shares: CLI11 for parsing (Debian's libcli11-dev: header-only,
// well kept, subcommand-free apps need nothing more), one error shape, the exit codes
//   0 success, 1 bad input (one line on stderr: "flowpic-x: file: what"), 2 usage error.
#pragma once
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <exception>
#include <functional>
#include <new>

#include "core/error.h"
#include "core/output_paths.h"

namespace flowpic {

// Number checks for flags that say their bound in words.  CLI11's own PositiveNumber and
// Range accept "nan" and "inf" for floating-point flags and print 1.79769e+308 as a bound.
// `lo_open`: the value must be > lo (else >= lo).
inline CLI::Validator number_in(double lo, double hi, bool lo_open = false) {
    auto bound = [](double v) {
        std::string s = std::to_string(v);
        if (s.find('.') != std::string::npos) {
            s.erase(s.find_last_not_of('0') + 1);
            if (s.back() == '.') s.pop_back();
        }
        return s;
    };
    std::string want = std::string("must be a number ") + (lo_open ? "> " : ">= ") + bound(lo) +
                       (std::isinf(hi) ? "" : " and at most " + bound(hi));
    return CLI::Validator(
        [=](std::string& in) -> std::string {
            char* end = nullptr;
            double v = std::strtod(in.c_str(), &end);
            if (in.empty() || *end != '\0' || !std::isfinite(v) || (lo_open ? !(v > lo) : !(v >= lo)) || v > hi)
                return want + ", not '" + in + "'";
            return "";
        },
        lo_open ? "> " + bound(lo) : ">= " + bound(lo));
}
inline CLI::Validator positive(double hi = HUGE_VAL) { return number_in(0, hi, true); }
inline CLI::Validator non_negative(double hi = HUGE_VAL) { return number_in(0, hi); }

// --threads: 0 = all cores; more threads than this help nobody and OpenMP's stacks for
// 100000 of them do not fit in memory.
constexpr int kMaxThreads = 1024;

// Parses argv with `app`, then runs `body`.  Turns every error into a message and an
// exit code; nothing escapes as a crash.
inline int run_cli(CLI::App& app, int argc, char** argv, const std::function<int()>& body) {
    const std::string name = app.get_name();
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        std::fputs(app.help().c_str(), stdout);
        return 0;
    } catch (const CLI::CallForAllHelp&) {
        std::fputs(app.help("", CLI::AppFormatMode::All).c_str(), stdout);
        return 0;
    } catch (const CLI::Success&) {
        return 0;
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "%s: %s (see --help)\n", name.c_str(), e.what());
        return 2;
    }
    try {
        return body();
    } catch (const UsageError& e) {
        std::fprintf(stderr, "%s: %s (see --help)\n", name.c_str(), e.what());
        return 2;
    } catch (const InputError& e) {
        std::fprintf(stderr, "%s: %s\n", name.c_str(), e.what());
        return 1;
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "%s: out of memory\n", name.c_str());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: internal error: %s\n", name.c_str(), e.what());
        return 3;
    }
}

}  // namespace flowpic
