// Small helpers the suites share: a temp directory that cleans itself up, file reads,
// running a flowpic binary and capturing its output and exit code.
#pragma once
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace flowpic {

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/flowpic-test.XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
};

inline bool file_exists(const std::string& p) {
    struct stat st;
    return stat(p.c_str(), &st) == 0;
}

inline std::string read_file(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

inline void write_file(const std::string& p, const std::string& data) {
    std::ofstream f(p, std::ios::binary);
    f << data;
}

inline std::vector<std::string> list_dir(const std::string& p) {
    std::vector<std::string> out;
    if (DIR* d = opendir(p.c_str())) {
        while (dirent* e = readdir(d)) {
            std::string n = e->d_name;
            if (n != "." && n != "..") out.push_back(n);
        }
        closedir(d);
    }
    return out;
}

// Directory of the built binaries (make test sets FLOWPIC_BIN).
inline std::string bin_dir() {
    const char* b = std::getenv("FLOWPIC_BIN");
    return b ? b : "build/bin";
}

struct CommandResult {
    int exit_code = -1;
    std::string out, err;
};

// Runs `flowpic-<tool> args` through the shell; captures stdout and stderr.
inline CommandResult run_tool(const std::string& tool, const std::string& args,
                              const std::string& stdin_file = "") {
    TempDir tmp;
    std::string cmd = bin_dir() + "/flowpic-" + tool + " " + args + " >" + tmp.path + "/out 2>" +
                      tmp.path + "/err" + (stdin_file.empty() ? " </dev/null" : " <" + stdin_file);
    int status = std::system(cmd.c_str());
    CommandResult r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = read_file(tmp.path + "/out");
    r.err = read_file(tmp.path + "/err");
    return r;
}

inline size_t count_lines(const std::string& s) {
    size_t n = 0;
    for (char c : s) n += c == '\n';
    return n;
}

}  // namespace flowpic
