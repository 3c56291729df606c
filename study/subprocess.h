// Running a helper program (the plot script, the classical baselines, the features tool)
// without a shell: argv as given, stdout and stderr appended to a log file, the exit code
// back.  The sweep's own work runs in process; only what is not C++ (Python) or not in this
// library runs this way (docs/SWEEP.md says which and why).
#pragma once
#include <string>
#include <vector>

namespace flowpic {

struct ProgramResult {
    int exit_code = -1;    // 127: could not be started; 128 + N: killed by signal N
    std::string last_line;  // the log's last non-empty line of this run (its message)
};

// argv[0] is looked up in PATH when it has no '/'.  The log file is created if missing.
ProgramResult run_program(const std::vector<std::string>& argv, const std::string& log_path);

// An executable file at `path` (stat + access X_OK).
bool is_executable(const std::string& path);

// A file of this repository (bench/sweep_plot.py ...): beside the running binary's
// build/bin (../../REL), else under the current directory; empty when neither exists.
std::string find_repo_file(const std::string& rel);
// The directory of the running binary (/proc/self/exe), without a trailing '/'.
std::string self_dir();

}  // namespace flowpic
