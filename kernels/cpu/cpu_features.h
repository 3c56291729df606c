// Which CPU implementation an op runs.  Every op with an AVX2 version calls use_avx2()
// to choose it over the scalar reference; FLOWPIC_CPU=scalar forces the reference (to
// compare, or to rule the fast path out when hunting a bug).
#pragma once

namespace flowpic {

bool cpu_has_avx2_fma();  // this CPU executes AVX2 and FMA instructions
bool use_avx2();          // cpu_has_avx2_fma() and FLOWPIC_CPU is not "scalar" (read once)

}  // namespace flowpic
