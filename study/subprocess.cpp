#include "study/subprocess.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <fstream>
#include <sstream>

extern char** environ;

namespace flowpic {

ProgramResult run_program(const std::vector<std::string>& args, const std::string& log_path) {
    ProgramResult r;
    if (args.empty()) return r;
    struct stat st;
    const off_t start = stat(log_path.c_str(), &st) == 0 ? st.st_size : 0;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    const int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        r.exit_code = 127;
        r.last_line = args[0] + ": cannot run it";
        return r;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::ifstream f(log_path, std::ios::binary);
    f.seekg(start);
    std::stringstream ss;
    ss << f.rdbuf();
    std::string line;
    for (std::string l; std::getline(ss, l);)
        if (l.find_first_not_of(" \t\r") != std::string::npos) line = l;
    r.last_line = line;
    return r;
}

bool is_executable(const std::string& path) {
    struct stat st;
    return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
}

std::string self_dir() {
    char buf[PATH_MAX];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return ".";
    std::string p(buf, size_t(n));
    const size_t slash = p.rfind('/');
    return slash == std::string::npos ? "." : p.substr(0, slash);
}

std::string find_repo_file(const std::string& rel) {
    struct stat st;
    for (const std::string& c : {self_dir() + "/../../" + rel, rel})
        if (stat(c.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return c;
    return "";
}

}  // namespace flowpic
