// What the harnesses share: the input as a file in a private temp directory (the readers
// take paths), and the libFuzzer entry point.  Each fuzz_<name>.cpp defines
//   int fuzz_<name>(const uint8_t* data, size_t size);
// which returns 0 and throws nothing for any input the code handles: a bad input must end
// in InputError (caught here), anything else (another exception, a crash, a sanitizer
// report) is a bug.  `make fuzz` builds each file with FLOWPIC_FUZZ_MAIN for libFuzzer;
// the test suite calls the same functions on tests/fuzz/regress/<name>/*.
#pragma once
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace flowpic::fuzz {

// One directory per process under $TMPDIR (or /tmp), removed at exit.
inline const std::string& temp_dir() {
    static const std::string dir = [] {
        const char* t = std::getenv("TMPDIR");
        std::string tmpl = std::string(t && *t ? t : "/tmp") + "/flowpic-fuzz.XXXXXX";
        if (!mkdtemp(&tmpl[0])) std::abort();
        return tmpl;
    }();
    struct Remover {
        ~Remover() { std::system(("rm -rf '" + dir + "'").c_str()); }
    };
    static Remover remover;
    return dir;
}

// The input written to temp_dir()/name; removed again when this goes out of scope.
class InputFile {
public:
    InputFile(const uint8_t* data, size_t size, const std::string& name = "input")
        : path_(temp_dir() + "/" + name) {
        std::FILE* f = std::fopen(path_.c_str(), "wb");
        if (!f || (size && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0) std::abort();
    }
    ~InputFile() { ::unlink(path_.c_str()); }
    InputFile(const InputFile&) = delete;
    InputFile& operator=(const InputFile&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

}  // namespace flowpic::fuzz

#ifdef FLOWPIC_FUZZ_MAIN
#define FLOWPIC_FUZZ_ENTRY(fn)                                                   \
    extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { \
        return fn(data, size);                                                \
    }
#else
#define FLOWPIC_FUZZ_ENTRY(fn)
#endif
