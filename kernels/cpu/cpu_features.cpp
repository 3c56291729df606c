#include "kernels/cpu/cpu_features.h"

#include <cstdlib>
#include <cstring>

namespace flowpic {

bool cpu_has_avx2_fma() {
    __builtin_cpu_init();  // harmless when already done; needed if called before constructors run
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

bool use_avx2() {
    // Read once: the choice must not change under a running training loop.
    static const bool on = [] {
        const char* env = std::getenv("FLOWPIC_CPU");
        return cpu_has_avx2_fma() && !(env && std::strcmp(env, "scalar") == 0);
    }();
    return on;
}

}  // namespace flowpic
