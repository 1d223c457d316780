// Row dot products of GGUF weight rows with activation rows, and the activation quantisers
// they need: the inner loops the CPU forward pass stands on.
//
// Each weight type multiplies against one activation format: F32/F16/BF16 weights against f32
// activations; Q8_0/Q4_0 against Q8_0 blocks; Q4_K/Q5_K/Q6_K against Q8_K blocks. Integer
// paths sum exact int8 products per block, so they differ from a double-precision reference on
// the same quantised inputs only by float rounding of the per-block scaling.
//
// Every kernel exists per ISA level (scalar, AVX2, AVX-512); the CPU's features are detected
// once and CACHEWIRE_CPU_ISA=scalar|avx2|avx512 may lower (never raise) the level used.
// Tests and benchmarks name a level explicitly through GetDotKernels(type, isa).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/gguf/tensor_type.h"
#include "kernels/quant_blocks.h"

namespace cachewire::kernels {

// ---- ISA levels ---------------------------------------------------------------------------

// Ordered: a higher level needs every feature of the lower ones.
enum class CpuIsa : int {
  kScalar = 0,
  kAvx2 = 1,    // AVX2 + FMA + F16C
  kAvx512 = 2,  // AVX-512 F/BW/VL + VNNI + BF16
};
inline constexpr int kNumIsas = 3;

std::string_view IsaName(CpuIsa isa);
// "scalar" / "avx2" / "avx512" -> level; nullopt for anything else.
std::optional<CpuIsa> ParseIsa(std::string_view name);
// Best level this CPU runs (cpuid, detected once).
CpuIsa DetectedIsa();
// The level kernels use by default: DetectedIsa(), lowered by CACHEWIRE_CPU_ISA when set to a
// lower level. An unknown or higher value is ignored (with one line on stderr).
CpuIsa ActiveIsa();
// Pure form of the rule above, for tests: `env` is the variable's value or nullptr.
CpuIsa ResolveIsa(CpuIsa detected, const char* env);
// Every level from scalar up to DetectedIsa().
std::vector<CpuIsa> AvailableIsas();

// ---- activation formats -------------------------------------------------------------------

enum class ActFormat { kF32, kQ8_0, kQ8_K };

// Bytes of one activation row of n elements (n a multiple of the format's block).
size_t ActRowBytes(ActFormat format, int64_t n);

// ---- kernels ------------------------------------------------------------------------------

// Activation rows a kernel call multiplies one weight row with. Matmul hands several token rows
// at once so a weight block is loaded and unpacked once for all of them.
inline constexpr int kMaxDotRows = 4;

// x (n floats) -> y (n / block quantised blocks of the activation format).
using QuantizeRowFn = void (*)(const float* x, void* y, int64_t n);
// out[t] = dot(weight row w, activation row t) for t < n_x (1..kMaxDotRows), where activation
// row t starts at x + t * x_stride bytes. n: elements per row, a multiple of the block size.
using DotRowsFn = void (*)(int64_t n, const void* w, const void* x, size_t x_stride, int n_x,
                           float* out);

struct DotKernels {
  ActFormat act = ActFormat::kF32;
  int64_t block_elems = 1;  // weight block; activation blocks divide it
  DotRowsFn dot = nullptr;
  QuantizeRowFn quantize = nullptr;  // nullptr for f32 activations (used as they are)
};

// Kernels of a weight type at an ISA level. InvalidArgument for a type without kernels or a
// level above DetectedIsa() (running it would fault on an illegal instruction).
absl::StatusOr<DotKernels> GetDotKernels(gguf::TensorType type, CpuIsa isa);
// Same at ActiveIsa().
absl::StatusOr<DotKernels> GetDotKernels(gguf::TensorType type);

// Quantisers at ActiveIsa(). n must be a multiple of 32 (Q8_0) or 256 (Q8_K); results are
// bit-identical across levels. Each element is round-to-nearest-even of x / d, d = amax / 127.
void QuantizeRowQ8_0(const float* x, BlockQ8_0* y, int64_t n);
void QuantizeRowQ8_K(const float* x, BlockQ8_K* y, int64_t n);

// One weight row against one activation row already in the type's format, at ActiveIsa().
// InvalidArgument for an unsupported type or n not a whole number of blocks.
absl::StatusOr<float> DotRow(gguf::TensorType type, const void* w, const void* x_act, int64_t n);

}  // namespace cachewire::kernels
