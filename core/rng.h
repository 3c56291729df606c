// Seeded integer randomness every layer shares (synthetic traffic, splits, weight init,
// dropout masks).  Plain integer arithmetic: the same seed gives the same numbers with
// any compiler, standard library or CPU, which std::<random> distributions do not.
#pragma once
#include <cstdint>

namespace flowpic {

// splitmix64 (Steele, Lea, Flood 2014): advances `state` and returns a well-mixed value.
inline uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// Combines two values into a new well-mixed seed (order matters).
inline uint64_t mix_seed(uint64_t a, uint64_t b) {
    uint64_t s = a;
    uint64_t x = splitmix64(s);
    s = x ^ (b * 0xD6E8FEB86659FD93ull);
    return splitmix64(s);
}

}  // namespace flowpic
