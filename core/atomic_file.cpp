#include "core/atomic_file.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"
#include "core/temp_cleanup.h"

namespace flowpic {

namespace {

// A Unix socket cannot be open()ed: connect to it, as `nc -U` would.
int connect_unix(const std::string& path) {
    sockaddr_un addr{};
    if (path.size() >= sizeof addr.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        int err = errno;
        ::close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

}  // namespace

AtomicFile::AtomicFile(std::string path) : target_(resolve_output(path)) {
    if (is_stdout()) {
        file_ = stdout;
        return;
    }
    if (target_.kind == OutputKind::kInPlace) {
        open_in_place();
        return;
    }
    stale_temp_cleanup(target_.target);
    temp_ = temp_template_for(target_.target);
    int fd = mkstemp(temp_.data());
    if (fd < 0) throw input_error(path, std::string("cannot create output: ") + std::strerror(errno));
    register_temp(temp_.c_str());
    // mkstemp makes 0600: give the file the mode a replaced file had, else 0666 & ~umask.
    struct stat st;
    if (target_.exists && stat(target_.target.c_str(), &st) == 0) {
        fchmod(fd, st.st_mode & 07777);
    } else {
        mode_t mask = umask(0);
        umask(mask);
        fchmod(fd, 0666 & ~mask);
    }
    file_ = fdopen(fd, "wb");
    if (!file_) {
        int err = errno;
        ::close(fd);
        unregister_temp(temp_.c_str());
        unlink(temp_.c_str());
        throw input_error(path, std::string("cannot open output: ") + std::strerror(err));
    }
    std::setvbuf(file_, nullptr, _IOFBF, 1 << 20);
}

void AtomicFile::open_in_place() {
    struct stat st;
    const bool socket = stat(target_.target.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
    // No O_TRUNC and no O_CREAT: a device or FIFO is written as it is, never made anew.
    int fd = socket ? connect_unix(target_.target) : ::open(target_.target.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0 || !(file_ = fdopen(fd, "wb"))) {
        int err = errno;
        if (fd >= 0) ::close(fd);
        throw input_error(target_.path, std::string("cannot open output: ") + std::strerror(err));
    }
}

AtomicFile::~AtomicFile() {
    if (is_stdout()) {
        if (file_) std::fflush(file_);
        return;
    }
    if (!committed_) {
        if (file_) std::fclose(file_);
        if (!temp_.empty()) {
            unlink(temp_.c_str());
            unregister_temp(temp_.c_str());
        }
    }
}

void AtomicFile::commit() {
    if (committed_) return;
    committed_ = true;  // whatever happens below, nothing is left to clean up twice
    if (is_stdout()) {
        if (std::fflush(file_) != 0 || std::ferror(file_))
            throw input_error("<stdout>", std::string("write failed: ") + std::strerror(errno));
        return;
    }
    bool ok = std::fflush(file_) == 0 && !std::ferror(file_);
    int err = errno;
    if (ok && !temp_.empty() && fsync(fileno(file_)) != 0) { ok = false; err = errno; }
    if (std::fclose(file_) != 0 && ok) { ok = false; err = errno; }
    file_ = nullptr;
    if (temp_.empty()) {
        if (!ok) throw input_error(path(), std::string("write failed: ") + std::strerror(err));
        return;
    }
    if (ok && std::rename(temp_.c_str(), target_.target.c_str()) != 0) {
        err = errno;
        unlink(temp_.c_str());
        unregister_temp(temp_.c_str());
        throw input_error(path(), std::string("cannot rename output into place: ") + std::strerror(err));
    }
    if (!ok) unlink(temp_.c_str());
    unregister_temp(temp_.c_str());
    if (!ok) throw input_error(path(), std::string("write failed: ") + std::strerror(err));
}

void write_file_atomic(const std::string& path, const void* data, size_t size) {
    AtomicFile out(path);
    if (size && std::fwrite(data, 1, size, out.get()) != size)
        throw input_error(path, std::string("write failed: ") + std::strerror(errno));
    out.commit();
}

void OutputBatch::add(const std::string& path) {
    struct stat st;
    if (lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) written_.push_back(path);
}

size_t OutputBatch::discard() {
    size_t n = 0;
    for (const auto& p : written_) n += unlink(p.c_str()) == 0;
    written_.clear();
    return n;
}

}  // namespace flowpic
