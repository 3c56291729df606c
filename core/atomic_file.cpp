#include "core/atomic_file.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

namespace flowpic {

namespace {
std::string temp_name_for(const std::string& path) {
    auto slash = path.find_last_of('/');
    std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
    std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    return dir + "." + base + ".tmp.XXXXXX";
}
}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
    if (is_stdout()) {
        file_ = stdout;
        return;
    }
    temp_ = temp_name_for(path_);
    int fd = mkstemp(temp_.data());
    if (fd < 0) throw input_error(path_, std::string("cannot create output: ") + std::strerror(errno));
    mode_t mask = umask(0);  // mkstemp makes 0600; give the file the usual 0666 & ~umask
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    file_ = fdopen(fd, "wb");
    if (!file_) {
        int err = errno;
        ::close(fd);
        unlink(temp_.c_str());
        throw input_error(path_, std::string("cannot open output: ") + std::strerror(err));
    }
    std::setvbuf(file_, nullptr, _IOFBF, 1 << 20);
}

AtomicFile::~AtomicFile() {
    if (is_stdout()) {
        if (file_) std::fflush(file_);
        return;
    }
    if (!committed_) {
        if (file_) std::fclose(file_);
        unlink(temp_.c_str());
    }
}

void AtomicFile::commit() {
    if (committed_) return;
    if (is_stdout()) {
        if (std::fflush(file_) != 0 || std::ferror(file_))
            throw input_error("<stdout>", std::string("write failed: ") + std::strerror(errno));
        committed_ = true;
        return;
    }
    bool ok = std::fflush(file_) == 0 && !std::ferror(file_);
    int err = errno;
    if (ok && fsync(fileno(file_)) != 0) { ok = false; err = errno; }
    if (std::fclose(file_) != 0 && ok) { ok = false; err = errno; }
    file_ = nullptr;
    if (!ok) {
        unlink(temp_.c_str());
        committed_ = true;  // nothing left to clean up
        throw input_error(path_, std::string("write failed: ") + std::strerror(err));
    }
    if (std::rename(temp_.c_str(), path_.c_str()) != 0) {
        err = errno;
        unlink(temp_.c_str());
        committed_ = true;
        throw input_error(path_, std::string("cannot rename output into place: ") + std::strerror(err));
    }
    committed_ = true;
}

void write_file_atomic(const std::string& path, const void* data, size_t size) {
    AtomicFile out(path);
    if (size && std::fwrite(data, 1, size, out.get()) != size)
        throw input_error(path, std::string("write failed: ") + std::strerror(errno));
    out.commit();
}

}  // namespace flowpic
