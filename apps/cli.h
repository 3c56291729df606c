// What every flowpic binary shares: CLI11 for parsing (Debian's libcli11-dev: header-only,
// well kept, subcommand-free apps need nothing more), one error shape, the exit codes
//   0 success, 1 bad input (one line on stderr: "flowpic-x: file: what"), 2 usage error.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <functional>
#include <new>

#include "core/error.h"

namespace flowpic {

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
