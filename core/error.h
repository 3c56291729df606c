// Errors that end a command.  InputError: the user's data is bad or unreadable (exit 1).
// UsageError: the command line is wrong (exit 2).  Messages are one line and name the
// file and what is wrong, e.g. "capture.pcap: truncated global header (12 of 24 bytes)".
#pragma once
#include <stdexcept>
#include <string>

namespace flowpic {

struct InputError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// "path: what" — the one shape every error message has.
inline InputError input_error(const std::string& path, const std::string& what) {
    return InputError(path + ": " + what);
}

}  // namespace flowpic
