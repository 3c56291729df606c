#include "core/output_paths.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "core/temp_cleanup.h"

namespace flowpic {

namespace {

std::string dir_of(const std::string& path) {
    auto slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

std::string base_of(const std::string& path) {
    auto slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The file a path names, so that two spellings of one file compare equal: device and
// inode when it exists, else the canonical directory plus the name.
struct FileId {
    bool exists = false;
    dev_t dev = 0;
    ino_t ino = 0;
    std::string canonical;

    bool operator==(const FileId& o) const {
        return exists == o.exists && (exists ? dev == o.dev && ino == o.ino : canonical == o.canonical);
    }
};

FileId id_of_stat(const struct stat& st) {
    FileId id;
    id.exists = true;
    id.dev = st.st_dev;
    id.ino = st.st_ino;
    return id;
}

FileId id_of_target(const OutputTarget& t) {
    struct stat st;
    if (t.kind == OutputKind::kStdout) {
        if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode)) return id_of_stat(st);
        return FileId{false, 0, 0, "<stdout>"};
    }
    if (stat(t.target.c_str(), &st) == 0) return id_of_stat(st);
    FileId id;
    char buf[PATH_MAX];
    std::string dir = dir_of(t.target);
    id.canonical = (realpath(dir.c_str(), buf) ? std::string(buf) : dir) + "/" + base_of(t.target);
    return id;
}

bool id_of_input(const std::string& path, FileId& id) {
    struct stat st;
    if (path == "-" ? fstat(STDIN_FILENO, &st) != 0 || !S_ISREG(st.st_mode) : stat(path.c_str(), &st) != 0)
        return false;  // a missing input is the reader's error to report, with its own words
    id = id_of_stat(st);
    return true;
}

std::string shown(const std::string& path) { return path == "-" ? "<stdout>" : path; }

void check_writable(const NamedOutput& o, const OutputTarget& t) {
    if (t.kind == OutputKind::kStdout) return;
    if (t.exists && access(t.target.c_str(), W_OK) != 0)
        throw input_error(o.path, std::string("cannot write ") + o.flag + ": " + std::strerror(errno));
    if (t.kind == OutputKind::kInPlace) return;
    // A replaced file is renamed into place: its directory must take a new file.  Make
    // and remove one, the only test that also tells a read-only file system (even as root).
    std::string dir = dir_of(t.target);
    struct stat st;
    if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        throw input_error(o.path, "cannot write " + o.flag + ": directory " + dir + " does not exist");
    std::string probe = temp_template_for(t.target);
    int fd = mkstemp(probe.data());
    if (fd < 0) throw input_error(o.path, "cannot write " + o.flag + ": " + std::strerror(errno));
    ::close(fd);
    unlink(probe.c_str());
}

}  // namespace

OutputTarget resolve_output(const std::string& path) {
    OutputTarget t;
    t.path = path;
    if (path == "-") {
        t.kind = OutputKind::kStdout;
        return t;
    }
    if (path.empty()) throw InputError("empty output path");
    t.target = path;
    for (int hops = 0;; ++hops) {
        struct stat st;
        if (lstat(t.target.c_str(), &st) != 0) return t;  // a new file (a dangling link makes its target)
        if (S_ISLNK(st.st_mode)) {
            if (hops == 40) throw input_error(path, "too many levels of symbolic links");
            char buf[PATH_MAX];
            ssize_t n = readlink(t.target.c_str(), buf, sizeof buf - 1);
            if (n < 0) throw input_error(path, std::string("cannot read symbolic link: ") + std::strerror(errno));
            std::string link(buf, size_t(n));
            t.target = link[0] == '/' || t.target.find('/') == std::string::npos ? link : dir_of(t.target) + "/" + link;
            continue;
        }
        t.exists = true;
        if (S_ISDIR(st.st_mode)) throw input_error(path, "is a directory, not an output file");
        if (S_ISBLK(st.st_mode)) throw input_error(path, "is a block device; refusing to write to it");
        t.kind = S_ISREG(st.st_mode) ? OutputKind::kReplace : OutputKind::kInPlace;  // char device, FIFO, socket
        return t;
    }
}

void check_outputs(const std::vector<std::string>& inputs, const std::vector<NamedOutput>& outputs) {
    std::vector<FileId> input_ids(inputs.size());
    std::vector<bool> has_id(inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) has_id[i] = id_of_input(inputs[i], input_ids[i]);
    std::vector<std::pair<const NamedOutput*, FileId>> seen;
    for (const NamedOutput& o : outputs) {
        if (o.path.empty()) continue;
        OutputTarget t = resolve_output(o.path);
        FileId id = id_of_target(t);
        // Devices and FIFOs are written in place, never replaced: two outputs may both go
        // to /dev/null, and reading /dev/stdin while writing /dev/stdout is no clash.
        const bool device = t.kind == OutputKind::kInPlace;
        for (size_t i = 0; i < inputs.size() && !device; ++i)
            if (has_id[i] && input_ids[i] == id)
                throw UsageError(o.flag + " " + shown(o.path) + " is the same file as the input " +
                                 (inputs[i] == "-" ? std::string("<stdin>") : inputs[i]) +
                                 "; refusing to overwrite an input");
        for (const auto& [other, other_id] : seen)
            if (other_id == id && !device && !(t.kind == OutputKind::kStdout && !id.exists))
                throw UsageError(other->flag + " " + shown(other->path) + " and " + o.flag + " " + shown(o.path) +
                                 " are the same file; give each output its own path");
        seen.emplace_back(&o, id);
        check_writable(o, t);
    }
}

}  // namespace flowpic
