// .npy files: NpyReader (header, dtype, shape, sizes), rows read in two slices as
// flowpic-infer --images reads a big X.npy, and read_npy + to_float.
#include <vector>

#include "core/error.h"
#include "flowpic/npy.h"
#include "tests/fuzz/fuzz_util.h"

namespace flowpic {

int fuzz_npy(const uint8_t* data, size_t size) {
    fuzz::InputFile in(data, size, "array.npy");
    try {
        NpyReader r(in.path());
        if (r.data_bytes() > size) std::abort();  // the data is in the file, never more
        const uint64_t rows = r.shape().empty() ? 1 : r.shape()[0];
        if (rows > 0 && r.data_bytes() > 0) {
            const size_t row_bytes = r.data_bytes() / rows;
            std::vector<uint8_t> buf(r.data_bytes());
            const uint64_t half = rows / 2;
            r.read_rows(0, half, buf.data());
            r.read_rows(half, rows - half, buf.data() + half * row_bytes);
        }
        NpyArray a = read_npy(in.path());
        std::vector<float> f = a.to_float();
        if (f.size() != a.elements()) std::abort();
    } catch (const InputError&) {
    }
    return 0;
}

}  // namespace flowpic

FLOWPIC_FUZZ_ENTRY(flowpic::fuzz_npy)
