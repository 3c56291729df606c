// A read-only memory map of a whole file (RAII over mmap).  An empty file maps to
// data() == nullptr, size() == 0.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace flowpic {

class MappedFile {
public:
    explicit MappedFile(const std::string& path);  // InputError "path: what"
    ~MappedFile();
    MappedFile(MappedFile&& o) noexcept;
    MappedFile& operator=(MappedFile&& o) noexcept;
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;

    const uint8_t* data() const { return data_; }
    size_t size() const { return size_; }
    const std::string& path() const { return path_; }

private:
    void release();
    std::string path_;
    const uint8_t* data_ = nullptr;
    size_t size_ = 0;
};

}  // namespace flowpic
