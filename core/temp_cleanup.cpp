#include "core/temp_cleanup.h"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <mutex>

namespace flowpic {

namespace {

constexpr int kSlots = 256;
// Process-wide by nature: a signal handler can only reach globals.  Lock-free slots, so
// the handler never waits on a lock the interrupted thread holds.
std::atomic<const char*> g_slots[kSlots];

void on_signal(int sig) {
    for (auto& slot : g_slots)
        if (const char* p = slot.load()) unlink(p);  // async-signal-safe
    signal(sig, SIG_DFL);
    raise(sig);
}

void install_handlers() {
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) {
        struct sigaction old {};
        if (sigaction(sig, nullptr, &old) != 0 || old.sa_handler != SIG_DFL) continue;  // keep nohup's SIG_IGN
        struct sigaction sa {};
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(sig, &sa, nullptr);
    }
}

std::string dir_of(const std::string& path) {
    auto slash = path.find_last_of('/');
    return slash == std::string::npos ? "" : path.substr(0, slash + 1);
}

std::string base_of(const std::string& path) {
    auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

void register_temp(const char* path) {
    static std::once_flag once;
    std::call_once(once, install_handlers);
    for (auto& slot : g_slots) {
        const char* empty = nullptr;
        if (slot.compare_exchange_strong(empty, path)) return;
    }
}

void unregister_temp(const char* path) {
    for (auto& slot : g_slots) {
        const char* mine = path;
        if (slot.compare_exchange_strong(mine, nullptr)) return;
    }
}

std::string temp_template_for(const std::string& path) {
    return dir_of(path) + "." + base_of(path) + ".flowpic-tmp." + std::to_string(getpid()) + ".XXXXXX";
}

void stale_temp_cleanup(const std::string& path) {
    const std::string dir = dir_of(path), prefix = "." + base_of(path) + ".flowpic-tmp.";
    DIR* d = opendir(dir.empty() ? "." : dir.c_str());
    if (!d) return;
    while (dirent* e = readdir(d)) {
        std::string name = e->d_name;
        if (name.compare(0, prefix.size(), prefix) != 0) continue;
        char* end = nullptr;
        long pid = std::strtol(name.c_str() + prefix.size(), &end, 10);
        if (pid <= 0 || *end != '.' || std::string(end + 1).size() != 6) continue;
        if (kill(pid_t(pid), 0) != 0 && errno == ESRCH) unlink((dir + name).c_str());
    }
    closedir(d);
}

}  // namespace flowpic
