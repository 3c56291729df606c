// Include FIRST in every synth source that does floating-point model maths.
// Compilers fuse a*b+c into one FMA instruction when the target has it (g++ does so
// even with -std=c++17), which rounds differently from a multiply then an add: the same
// seed would give other timestamps on a machine or build without FMA.  Turning
// contraction off keeps every operation a single IEEE-754 rounding, identical anywhere.
#pragma once
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
