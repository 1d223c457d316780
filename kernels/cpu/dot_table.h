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

}  // namespace cachewire::kernels::cpu_detail
