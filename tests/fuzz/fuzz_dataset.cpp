// The dataset file (.fpd): DatasetReader on the bytes, then everything the tools read
// from it (tables, meta, every window, counts) and the binning of each window as
// flowpic-train and -render do it.  Every section is CRC-checked, so random bytes rarely
// get past the header: when the first byte is odd, the harness first rewrites the
// checksums of the header and of every section that lies inside the file, and the fuzzer
// reaches the tables and window records behind them.
#include <cstring>
#include <vector>

#include "core/error.h"
#include "flowpic/checksum.h"
#include "flowpic/dataset_file.h"
#include "kernels/cpu/binning.h"
#include "kernels/cpu/binning_avx2.h"
#include "tests/fuzz/fuzz_util.h"

namespace flowpic {

namespace {

void reseal(std::vector<uint8_t>& b) {
    if (b.size() < kHeaderSize) return;
    FileHeader h;
    std::memcpy(&h, b.data(), sizeof h);
    for (SectionEntry& s : h.sections)
        if (s.size <= b.size() && s.offset <= b.size() - s.size) s.crc = crc32c(b.data() + s.offset, s.size);
    h.header_crc = header_crc(h);
    std::memcpy(b.data(), &h, sizeof h);
}

}  // namespace

int fuzz_dataset(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    std::vector<uint8_t> bytes(data + 1, data + size);
    if (data[0] & 1) reseal(bytes);
    fuzz::InputFile in(bytes.data(), bytes.size(), "dataset.fpd");
    try {
        DatasetReader ds(in.path(), (data[0] & 2) ? DatasetReader::Verify::kTables : DatasetReader::Verify::kAll);
        if (data[0] & 2) ds.verify_packets();
        (void)ds.prep_json();
        (void)ds.counts();
        BinningOptions b;
        b.resolution = 8;
        b.normalize = (data[0] & 4) ? Normalize::fixed : Normalize::span;
        b.direction = (data[0] & 8) ? Direction::channels : Direction::none;
        std::vector<float> img(image_size(b));
        const size_t n = std::min<size_t>(ds.window_count(), 64);
        for (size_t i = 0; i < n; ++i) {
            DatasetWindow w = ds.window(i);
            if (w.label >= ds.classes().size() || w.prov.capture >= ds.captures().size()) std::abort();
            bin_dense_ref(&w.packets, 1, b, img.data());
            bin_dense_avx2(&w.packets, 1, b, img.data());
            SparseBatch sparse;
            bin_sparse_avx2(&w.packets, 1, b, sparse);
        }
    } catch (const InputError&) {
    }
    return 0;
}

}  // namespace flowpic

FLOWPIC_FUZZ_ENTRY(flowpic::fuzz_dataset)
