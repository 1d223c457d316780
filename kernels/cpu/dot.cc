// Runtime dispatch of the CPU dot kernels: feature detection, the CACHEWIRE_CPU_ISA override,
// and the per-level kernel tables built from dot_scalar.cc / dot_avx2.cc / dot_avx512.cc.
//
// Detection runs once. A level's table is only built when the CPU runs that level, since the
// table functions live in files compiled for it. Tables are built on first use under a static
// local's thread-safe initialisation, after which lookups are plain array reads.
#include "kernels/dot.h"

#include <array>
#include <cstdio>
#include <cstdlib>

#include "engine/gguf/str_cat.h"
#include "kernels/cpu/dot_table.h"

namespace cachewire::kernels {
namespace {

using cpu_detail::IsaKernels;

CpuIsa DetectOnce() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  // The compiler flags of dot_avx512.cc; avx512f also covers the OS having enabled zmm state,
  // which __builtin_cpu_supports checks through xgetbv.
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni") &&
      __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("f16c") &&
      __builtin_cpu_supports("fma")) {
    return CpuIsa::kAvx512;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
      __builtin_cpu_supports("f16c")) {
    return CpuIsa::kAvx2;
  }
#endif
  return CpuIsa::kScalar;
}

const std::array<IsaKernels, kNumIsas>& Tables() {
  static const std::array<IsaKernels, kNumIsas> tables = [] {
    std::array<IsaKernels, kNumIsas> t{};
    const CpuIsa detected = DetectedIsa();
    t[0] = cpu_detail::ScalarKernels();
#if defined(__x86_64__) || defined(__i386__)
    if (detected >= CpuIsa::kAvx2) t[1] = cpu_detail::Avx2Kernels();
    if (detected >= CpuIsa::kAvx512) t[2] = cpu_detail::Avx512Kernels();
#else
    (void)detected;
#endif
    return t;
  }();
  return tables;
}

struct TypeInfo {
  cpu_detail::WeightSlot slot;
  ActFormat act;
  int64_t block_elems;
};

// nullopt for a type without kernels.
std::optional<TypeInfo> InfoOf(gguf::TensorType type) {
  using gguf::TensorType;
  switch (type) {
    case TensorType::kF32: return TypeInfo{cpu_detail::kSlotF32, ActFormat::kF32, 1};
    case TensorType::kF16: return TypeInfo{cpu_detail::kSlotF16, ActFormat::kF32, 1};
    case TensorType::kBF16: return TypeInfo{cpu_detail::kSlotBF16, ActFormat::kF32, 1};
    case TensorType::kQ8_0: return TypeInfo{cpu_detail::kSlotQ8_0, ActFormat::kQ8_0, kQK8_0};
    case TensorType::kQ4_0: return TypeInfo{cpu_detail::kSlotQ4_0, ActFormat::kQ8_0, kQK8_0};
    case TensorType::kQ4_K: return TypeInfo{cpu_detail::kSlotQ4_K, ActFormat::kQ8_K, kQK_K};
    case TensorType::kQ5_K: return TypeInfo{cpu_detail::kSlotQ5_K, ActFormat::kQ8_K, kQK_K};
    case TensorType::kQ6_K: return TypeInfo{cpu_detail::kSlotQ6_K, ActFormat::kQ8_K, kQK_K};
  }
  return std::nullopt;
}

}  // namespace

std::string_view IsaName(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::kScalar: return "scalar";
    case CpuIsa::kAvx2: return "avx2";
    case CpuIsa::kAvx512: return "avx512";
  }
  return "?";
}

std::optional<CpuIsa> ParseIsa(std::string_view name) {
  for (CpuIsa isa : {CpuIsa::kScalar, CpuIsa::kAvx2, CpuIsa::kAvx512}) {
    if (name == IsaName(isa)) return isa;
  }
  return std::nullopt;
}

CpuIsa DetectedIsa() {
  static const CpuIsa detected = DetectOnce();
  return detected;
}

CpuIsa ResolveIsa(CpuIsa detected, const char* env) {
  if (env == nullptr || *env == '\0') return detected;
  const std::optional<CpuIsa> wanted = ParseIsa(env);
  if (!wanted.has_value() || *wanted > detected) return detected;
  return *wanted;
}

CpuIsa ActiveIsa() {
  static const CpuIsa active = [] {
    const char* env = std::getenv("CACHEWIRE_CPU_ISA");
    const CpuIsa detected = DetectedIsa();
    const CpuIsa resolved = ResolveIsa(detected, env);
    if (env != nullptr && *env != '\0' && IsaName(resolved) != env) {
      // A typo or a level this CPU lacks: say so once instead of silently ignoring it.
      std::fprintf(stderr, "cachewire: CACHEWIRE_CPU_ISA=%s not usable here, using %s\n", env,
                   std::string(IsaName(resolved)).c_str());
    }
    return resolved;
  }();
  return active;
}

std::vector<CpuIsa> AvailableIsas() {
  std::vector<CpuIsa> out;
  for (int i = 0; i <= static_cast<int>(DetectedIsa()); ++i) out.push_back(static_cast<CpuIsa>(i));
  return out;
}

size_t ActRowBytes(ActFormat format, int64_t n) {
  switch (format) {
    case ActFormat::kF32: return static_cast<size_t>(n) * sizeof(float);
    case ActFormat::kQ8_0: return static_cast<size_t>(n / kQK8_0) * sizeof(BlockQ8_0);
    case ActFormat::kQ8_K: return static_cast<size_t>(n / kQK_K) * sizeof(BlockQ8_K);
  }
  return 0;
}

absl::StatusOr<DotKernels> GetDotKernels(gguf::TensorType type, CpuIsa isa) {
  const std::optional<TypeInfo> info = InfoOf(type);
  if (!info.has_value()) {
    return absl::InvalidArgumentError(gguf::Cat("no CPU dot kernel for tensor type ",
                                                gguf::TensorTypeName(type), " (id ",
                                                static_cast<uint32_t>(type), ")"));
  }
  if (isa > DetectedIsa()) {
    return absl::InvalidArgumentError(
        gguf::Cat("ISA level ", IsaName(isa),
                  " is not supported by this CPU (best: ", IsaName(DetectedIsa()), ")"));
  }
  const IsaKernels& table = Tables()[static_cast<size_t>(isa)];
  DotKernels k;
  k.act = info->act;
  k.block_elems = info->block_elems;
  k.dot = table.dot[info->slot];
  if (info->act == ActFormat::kQ8_0) k.quantize = table.quantize_q8_0;
  if (info->act == ActFormat::kQ8_K) k.quantize = table.quantize_q8_k;
  return k;
}

absl::StatusOr<DotKernels> GetDotKernels(gguf::TensorType type) {
  return GetDotKernels(type, ActiveIsa());
}

void QuantizeRowQ8_0(const float* x, BlockQ8_0* y, int64_t n) {
  Tables()[static_cast<size_t>(ActiveIsa())].quantize_q8_0(x, y, n);
}

void QuantizeRowQ8_K(const float* x, BlockQ8_K* y, int64_t n) {
  Tables()[static_cast<size_t>(ActiveIsa())].quantize_q8_k(x, y, n);
}

absl::StatusOr<float> DotRow(gguf::TensorType type, const void* w, const void* x_act, int64_t n) {
  absl::StatusOr<DotKernels> k = GetDotKernels(type);
  if (!k.ok()) return k.status();
  if (n < 0 || n % k->block_elems != 0) {
    return absl::InvalidArgumentError(gguf::Cat("row of ", n, " elements is not a whole number of ",
                                                gguf::TensorTypeName(type), " blocks of ",
                                                k->block_elems));
  }
  float out = 0.0f;
  k->dot(n, w, x_act, 0, 1, &out);
  return out;
}

}  // namespace cachewire::kernels
