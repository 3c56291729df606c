// Small filesystem helpers shared by the tools.
#pragma once
#include <string>

namespace flowpic {

// mkdir -p: creates `dir` and its parents; an existing directory is fine.
// Throws InputError("dir: what") when it cannot.
void make_dirs(const std::string& dir);

}  // namespace flowpic
