// Output files that appear whole or not at all.  Data goes to a hidden temp file beside
// the target; commit() flushes, fsyncs and renames it over the target.  If the object is
// destroyed without commit() (an error, an exception) the temp file is removed and any
// existing target is left untouched.  The path "-" writes to stdout instead.
#pragma once
#include <cstdio>
#include <string>

namespace flowpic {

class AtomicFile {
public:
    explicit AtomicFile(std::string path);  // throws InputError if it cannot be created
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    std::FILE* get() const { return file_; }
    const std::string& path() const { return path_; }
    bool is_stdout() const { return path_ == "-"; }

    // Flush, fsync, rename.  Throws InputError on a write error (disk full...).
    void commit();

private:
    std::string path_;
    std::string temp_;
    std::FILE* file_ = nullptr;
    bool committed_ = false;
};

// Write a whole buffer atomically (small files: models, PNGs, .npy).
void write_file_atomic(const std::string& path, const void* data, size_t size);

}  // namespace flowpic
