// Output files that appear whole or not at all (core/output_paths.h says how each kind
// of path is treated).  A regular file or a new path: data goes to a temp file beside
// the target (".NAME.flowpic-tmp.PID.XXXXXX"); commit() flushes, fsyncs and renames it
// over the target, keeping an existing file's permissions.  If the object is destroyed
// without commit() (an error, an exception) or the process gets SIGINT/SIGTERM/SIGHUP,
// the temp file is removed and any existing target is left untouched.  A character
// device, FIFO or socket is written in place; a symlink is followed; "-" is stdout.
#pragma once
#include <cstdio>
#include <string>
#include <vector>

#include "core/error.h"

#include "core/output_paths.h"

namespace flowpic {

class AtomicFile {
public:
    explicit AtomicFile(std::string path);  // throws InputError if it cannot be created
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    std::FILE* get() const { return file_; }
    const std::string& path() const { return target_.path; }
    bool is_stdout() const { return target_.kind == OutputKind::kStdout; }

    // Flush, fsync, rename.  Throws InputError on a write error (disk full...).
    void commit();

private:
    void open_in_place();
    OutputTarget target_;
    std::string temp_;  // empty unless replacing
    std::FILE* file_ = nullptr;
    bool committed_ = false;
};

// Write a whole buffer atomically (small files: models, PNGs, .npy).
void write_file_atomic(const std::string& path, const void* data, size_t size);

// The many files one run writes (flowpic-synth's captures, flowpic-render's PNGs and
// arrays): each appears whole, and if the run fails before commit() the files it wrote
// are removed again, so a failed run never leaves a partial set that looks complete.
class OutputBatch {
public:
    OutputBatch() = default;
    ~OutputBatch() { discard(); }
    OutputBatch(const OutputBatch&) = delete;
    OutputBatch& operator=(const OutputBatch&) = delete;

    // After the file is complete.  Only a regular file is ever removed again: a device,
    // FIFO or symlink given as an output is never unlinked.
    void add(const std::string& path);
    void commit() { written_.clear(); }
    // Removes the files written so far; returns how many.
    size_t discard();
    // Runs `body`; if it throws InputError, removes the files and says so in the message.
    template <class F>
    auto guard(F&& body) -> decltype(body()) {
        try {
            return body();
        } catch (const InputError& e) {
            size_t n = discard();
            if (!n) throw;
            throw InputError(std::string(e.what()) + " (removed the " + std::to_string(n) +
                             " files this run had written)");
        }
    }

private:
    std::vector<std::string> written_;
};

}  // namespace flowpic
