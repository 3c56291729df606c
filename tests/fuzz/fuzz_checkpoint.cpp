// The training checkpoint: read_checkpoint (safetensors, format, version, CRC-32C,
// counters, finite values), as flowpic-train --resume reads it.  The checksum stops
// random changes early, so when the first byte is odd a file that parses as safetensors
// is re-sealed (its crc32c recomputed and written back) and read again: the fuzzer then
// reaches the counter and value checks behind the checksum.
#include <cstdio>

#include "core/error.h"
#include "nn/safetensors.h"
#include "nn/trainer.h"
#include "tests/fuzz/fuzz_util.h"

namespace flowpic {

int fuzz_checkpoint(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    fuzz::InputFile in(data + 1, size - 1, "checkpoint.safetensors");
    try {
        (void)read_checkpoint(in.path());
    } catch (const InputError&) {
    }
    if (!(data[0] & 1)) return 0;
    try {
        SafeTensorsFile f = read_safetensors(in.path());
        char crc[16];
        std::snprintf(crc, sizeof crc, "%08x", checkpoint_checksum(f));
        f.metadata["crc32c"] = crc;
        const std::string sealed = fuzz::temp_dir() + "/sealed.safetensors";
        write_safetensors(sealed, f);
        CheckpointFile c = read_checkpoint(sealed);
        if (c.best_epoch > c.epoch || c.since_best > c.epoch) std::abort();
    } catch (const InputError&) {
    } catch (const std::invalid_argument&) {  // write_safetensors: a name the writer refuses
    }
    return 0;
}

}  // namespace flowpic

FLOWPIC_FUZZ_ENTRY(flowpic::fuzz_checkpoint)
