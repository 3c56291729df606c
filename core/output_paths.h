// What an output path is, and the checks every tool runs on its paths before any work.
//
// How outputs behave (coreutils, tcpdump -w and git do the same):
//  - a regular file or a new path is replaced atomically (temp file beside it, renamed);
//  - a character device, FIFO or socket is opened and written in place (/dev/null stays
//    a device, a FIFO's reader gets the data);
//  - a symlink is followed and its target replaced, the link itself is kept;
//  - a directory or a block device is refused;
//  - an output that is the same file as an input or as another output (same device and
//    inode, or the same new path) is refused before any work, naming both.
#pragma once
#include <string>
#include <vector>

namespace flowpic {

enum class OutputKind { kStdout, kReplace, kInPlace };

struct OutputTarget {
    std::string path;    // as the user gave it ("-" is stdout)
    std::string target;  // symlinks followed: the file that is replaced or written
    OutputKind kind = OutputKind::kReplace;
    bool exists = false;
};

// Throws InputError("path: what") for a directory, a block device or a symlink loop.
OutputTarget resolve_output(const std::string& path);

struct NamedOutput {
    std::string flag;  // how the user named it: "-o", "--csv", "--metrics"...
    std::string path;  // empty = not requested (skipped)
};

// Refuses (UsageError, one line naming both) an output that is the same file as one of
// `inputs` or as another output, and (InputError) an output that cannot be written:
// a missing or read-only directory, a file without write permission.  Call it after
// parsing, before any long work.  Inputs are files or directories (a directory input
// is compared as itself, not walked: pass the expanded file list where there is one).
void check_outputs(const std::vector<std::string>& inputs, const std::vector<NamedOutput>& outputs);

}  // namespace flowpic
