// Internal to the CPU kernels: the per-ISA kernel tables that dot.cc dispatches through.
//
// Each ISA file (dot_scalar.cc, dot_avx2.cc, dot_avx512.cc) is compiled with its own target
// flags and exposes one function returning its table. dot.cc calls a table function only after
// cpuid said the level is supported, because even filling the table may use that level's
// instructions.
#pragma once

#include "kernels/dot.h"

namespace cachewire::kernels::cpu_detail {

// Position of a weight type in a table.
enum WeightSlot : int {
  kSlotF32,
  kSlotF16,
  kSlotBF16,
  kSlotQ8_0,
  kSlotQ4_0,
  kSlotQ4_K,
  kSlotQ5_K,
  kSlotQ6_K,
  kNumSlots,
};

struct IsaKernels {
  DotRowsFn dot[kNumSlots] = {};
  QuantizeRowFn quantize_q8_0 = nullptr;
  QuantizeRowFn quantize_q8_k = nullptr;
};

IsaKernels ScalarKernels();
IsaKernels Avx2Kernels();
IsaKernels Avx512Kernels();

// The DotRowsFn of a SIMD kernel whose Run<NT> is unrolled for NT activation rows: maps the
// runtime row count onto the instance. Each ISA file instantiates it with its own kernels.
template <typename Kernel>
void Rows(int64_t n, const void* w, const void* x, size_t stride, int n_x, float* out) {
  switch (n_x) {
    case 1: Kernel::template Run<1>(n, w, x, stride, out); break;
    case 2: Kernel::template Run<2>(n, w, x, stride, out); break;
    case 3: Kernel::template Run<3>(n, w, x, stride, out); break;
    default: Kernel::template Run<4>(n, w, x, stride, out); break;
  }
}

}  // namespace cachewire::kernels::cpu_detail
