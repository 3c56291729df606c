#include "core/line_log.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"

namespace flowpic {

LineLog::LineLog(std::string path) : path_(std::move(path)) {
    OutputTarget t = resolve_output(path_);
    if (t.kind != OutputKind::kReplace) {
        stream_ = std::make_unique<AtomicFile>(path_);
        return;
    }
    if (t.exists) {
        std::ifstream in(t.target, std::ios::binary);
        if (!in) throw input_error(path_, "cannot read the file to append to");
        std::stringstream ss;
        ss << in.rdbuf();
        content_ = ss.str();
        if (!content_.empty() && content_.back() != '\n') content_ += '\n';  // a line cut by an older writer
    }
}

LineLog::~LineLog() = default;

void LineLog::append(const std::string& line) {
    if (stream_) {
        std::FILE* f = stream_->get();
        if (std::fprintf(f, "%s\n", line.c_str()) < 0 || std::fflush(f) != 0)
            throw input_error(path_, std::string("write failed: ") + std::strerror(errno));
        return;
    }
    content_ += line;
    content_ += '\n';
    write_file_atomic(path_, content_.data(), content_.size());
}

}  // namespace flowpic
