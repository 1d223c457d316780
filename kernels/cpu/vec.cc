// Runtime dispatch of the f32 vector primitives (vec_table.h): one table per ISA level, built
// on first use, only for levels the CPU runs (as dot.cc does for the dot kernels).
#include <array>

#include "kernels/cpu/vec_table.h"

namespace cachewire::kernels::cpu_detail {
namespace {

const std::array<VecKernels, kNumIsas>& Tables() {
  static const std::array<VecKernels, kNumIsas> tables = [] {
    std::array<VecKernels, kNumIsas> t{};
    t[0] = ScalarVecKernels();
#if defined(__x86_64__) || defined(__i386__)
    const CpuIsa detected = DetectedIsa();
    t[1] = detected >= CpuIsa::kAvx2 ? Avx2VecKernels() : t[0];
    t[2] = detected >= CpuIsa::kAvx512 ? Avx512VecKernels() : t[1];
#else
    t[1] = t[0];
    t[2] = t[0];
#endif
    return t;
  }();
  return tables;
}

}  // namespace

const VecKernels& GetVecKernels(CpuIsa isa) {
  // A level above the CPU's falls back to the best one it runs (never an illegal instruction).
  const CpuIsa level = isa > DetectedIsa() ? DetectedIsa() : isa;
  return Tables()[static_cast<size_t>(level)];
}

const VecKernels& ActiveVecKernels() {
  static const VecKernels& active = GetVecKernels(ActiveIsa());
  return active;
}

}  // namespace cachewire::kernels::cpu_detail
