// The caching device arena (device_memory.h).  Best fit over a size-ordered free list:
// a request takes the smallest cached block that holds it, if that block is at most
// twice the request (so a small tensor never pins a huge block); else cudaMalloc.
#include <cuda_runtime.h>

#include <map>
#include <mutex>
#include <unordered_map>

#include "kernels/cuda/check.h"
#include "kernels/cuda/device_memory.h"

namespace flowpic {

namespace {

size_t round_up(size_t bytes) { return (bytes + 511) / 512 * 512; }

std::string gib(size_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f GiB", double(bytes) / double(1ull << 30));
    return buf;
}

class Arena {
public:
    void* alloc(size_t bytes) {
        if (bytes == 0) return nullptr;
        const size_t size = round_up(bytes);
        std::lock_guard<std::mutex> lock(mu_);
        auto it = free_.lower_bound(size);
        if (it != free_.end() && it->first <= 2 * size) {
            void* p = it->second;
            used_[p] = it->first;
            stats_.bytes_in_use += it->first;
            free_.erase(it);
            note_peak();
            return p;
        }
        void* p = nullptr;
        cudaError_t err = cudaMalloc(&p, size);
        if (err == cudaErrorMemoryAllocation) {
            cudaGetLastError();  // clear the sticky-free error state of the runtime
            release_cached();
            err = cudaMalloc(&p, size);
        }
        if (err == cudaErrorMemoryAllocation) {
            cudaGetLastError();
            size_t free_b = 0, total_b = 0;
            cudaMemGetInfo(&free_b, &total_b);
            throw DeviceMemoryError("out of device memory: " + gib(size) + " requested, " + gib(free_b) + " of " +
                                        gib(total_b) + " free",
                                    size, free_b, total_b);
        }
        CUDA_CHECK(err);
        ++stats_.cuda_mallocs;
        stats_.bytes_reserved += size;
        stats_.bytes_in_use += size;
        used_[p] = size;
        note_peak();
        return p;
    }

    void free(void* p) noexcept {
        if (!p) return;
        std::lock_guard<std::mutex> lock(mu_);
        auto it = used_.find(p);
        if (it == used_.end()) return;  // not ours: never happens through Tensor
        stats_.bytes_in_use -= it->second;
        free_.emplace(it->second, p);
        used_.erase(it);
    }

    void trim() {
        std::lock_guard<std::mutex> lock(mu_);
        release_cached();
    }

    DeviceArenaStats stats() {
        std::lock_guard<std::mutex> lock(mu_);
        return stats_;
    }

private:
    void release_cached() {  // mu_ held
        for (auto& [size, p] : free_) {
            cudaFree(p);
            stats_.bytes_reserved -= size;
        }
        free_.clear();
    }
    void note_peak() { stats_.peak_in_use = std::max(stats_.peak_in_use, stats_.bytes_in_use); }

    std::mutex mu_;
    std::multimap<size_t, void*> free_;
    std::unordered_map<void*, size_t> used_;
    DeviceArenaStats stats_;
};

// Never destroyed: blocks still cached at exit go with the process (freeing them from a
// static destructor could run after the CUDA runtime has shut down).
Arena& arena() {
    static Arena* a = new Arena;
    return *a;
}

}  // namespace

void* device_alloc(size_t bytes) { return arena().alloc(bytes); }
void device_free(void* p) noexcept { arena().free(p); }
DeviceArenaStats device_arena_stats() { return arena().stats(); }
void device_arena_trim() { arena().trim(); }

void device_copy(void* dst, const void* src, size_t bytes) {
    if (bytes) CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDefault));
}
void device_memset(void* dst, int byte, size_t bytes) {
    if (bytes) CUDA_CHECK(cudaMemset(dst, byte, bytes));
}
void device_synchronize() { CUDA_CHECK(cudaDeviceSynchronize()); }

void device_memory_info(size_t& free_bytes, size_t& total_bytes) {
    CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
}

}  // namespace flowpic
