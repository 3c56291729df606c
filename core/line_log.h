// A file that grows by whole lines while a long run goes on (flowpic-train --metrics).
// A regular file is rewritten atomically with every line (what it held before, then the
// new lines), so a full disk or a crash never leaves a line cut in half; a device or FIFO
// gets each line written in place.  Write errors throw InputError naming the file.
#pragma once
#include <cstdio>
#include <memory>
#include <string>

namespace flowpic {

class AtomicFile;

class LineLog {
public:
    explicit LineLog(std::string path);  // reads what a regular file holds already
    ~LineLog();
    LineLog(const LineLog&) = delete;
    LineLog& operator=(const LineLog&) = delete;

    void append(const std::string& line);  // `line` without its newline
    const std::string& path() const { return path_; }

private:
    std::string path_;
    std::string content_;                 // regular files: the whole file as it should be
    std::unique_ptr<AtomicFile> stream_;  // devices and FIFOs: open for the whole run
};

}  // namespace flowpic
