// CRC-32C (Castagnoli, the iSCSI/ext4 polynomial 0x1EDC6F41, reflected, initial and final
// XOR 0xFFFFFFFF): the dataset file's section checksum.  Chosen over FNV because it
// catches every burst error up to 32 bits and runs at several GB/s with SSE4.2's crc32
// instruction (a table-driven fallback is used when the build targets older CPUs).
// crc32c("123456789") == 0xE3069283.
#pragma once
#include <cstddef>
#include <cstdint>

namespace flowpic {

// Continue a running CRC: crc32c(b, crc32c(a)) == crc32c(a + b).  Start with 0.
uint32_t crc32c(const void* data, size_t size, uint32_t crc = 0);

}  // namespace flowpic
