// Portable scalar kernels: the activation quantisers and the row dots of every weight type.
//
// This path runs on any CPU and defines the arithmetic the SIMD files reproduce: int8 products
// are summed exactly in int32 per block, the block sum is scaled in float, and the mins of
// Q4_K/Q5_K and the -32 offset of Q6_K are applied through the activation block sums. The
// quantisers here are the definition the SIMD quantisers must match bit for bit.
#include <cmath>
#include <vector>

#include "engine/gguf/dequantize.h"
#include "kernels/cpu/dot_table.h"

namespace cachewire::kernels::cpu_detail {
namespace {

// ---- quantisers ---------------------------------------------------------------------------

// d = amax / 127 and q = nearbyint(x / d) computed as x * (1 / d): the SIMD quantisers use the
// same reciprocal and the same round-to-nearest-even, so all levels agree exactly.
void QuantizeQ8_0(const float* x, void* y_void, int64_t n) {
  auto* y = static_cast<BlockQ8_0*>(y_void);
  for (int64_t b = 0; b < n / kQK8_0; ++b, x += kQK8_0) {
    float amax = 0.0f;
    for (int i = 0; i < kQK8_0; ++i) amax = std::fmax(amax, std::fabs(x[i]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = gguf::F32ToF16(d);
    for (int i = 0; i < kQK8_0; ++i) y[b].qs[i] = static_cast<int8_t>(std::nearbyint(x[i] * id));
  }
}

void QuantizeQ8_K(const float* x, void* y_void, int64_t n) {
  auto* y = static_cast<BlockQ8_K*>(y_void);
  for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    float amax = 0.0f;
    for (int i = 0; i < kQK_K; ++i) amax = std::fmax(amax, std::fabs(x[i]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[b].d = d;
    for (int k = 0; k < kQK_K / 16; ++k) {
      int sum = 0;
      for (int i = 16 * k; i < 16 * k + 16; ++i) {
        const int q = static_cast<int>(std::nearbyint(x[i] * id));
        y[b].qs[i] = static_cast<int8_t>(q);
        sum += q;
      }
      y[b].bsums[k] = static_cast<int16_t>(sum);
    }
  }
}

// ---- one weight row x one activation row --------------------------------------------------

// Float dots keep 8 partial sums: one running sum would make every element wait for the
// previous add's latency, and the compiler may not reorder float adds itself.
template <typename ToFloat>
float DotFloat(int64_t n, const float* x, ToFloat w_at) {
  float part[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int k = 0; k < 8; ++k) part[k] += w_at(i + k) * x[i + k];
  }
  for (; i < n; ++i) part[0] += w_at(i) * x[i];
  return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

float DotF32(int64_t n, const void* w_void, const float* x) {
  const auto* w = static_cast<const float*>(w_void);
  return DotFloat(n, x, [w](int64_t i) { return w[i]; });
}

// Every f16 as f32 (256 KiB): a table lookup beats the branchy bit conversion per element
// several times over, and this path only runs on CPUs without F16C.
const float* F16Table() {
  static const std::vector<float> table = [] {
    std::vector<float> t(65536);
    for (uint32_t h = 0; h < 65536; ++h) t[h] = Fp16ToFp32(static_cast<uint16_t>(h));
    return t;
  }();
  return table.data();
}

float DotF16(int64_t n, const void* w_void, const float* x) {
  const auto* w = static_cast<const uint16_t*>(w_void);
  const float* f16 = F16Table();
  return DotFloat(n, x, [w, f16](int64_t i) { return f16[w[i]]; });
}

float DotBF16(int64_t n, const void* w_void, const float* x) {
  const auto* w = static_cast<const uint16_t*>(w_void);
  return DotFloat(n, x, [w](int64_t i) { return Bf16ToFp32(w[i]); });
}

float DotQ8_0(int64_t n, const void* w_void, const void* x_void) {
  const auto* w = static_cast<const BlockQ8_0*>(w_void);
  const auto* x = static_cast<const BlockQ8_0*>(x_void);
  float sum = 0.0f;
  for (int64_t b = 0; b < n / kQK8_0; ++b) {
    int32_t sumi = 0;
    for (int i = 0; i < kQK8_0; ++i) sumi += w[b].qs[i] * x[b].qs[i];
    sum += Fp16ToFp32(w[b].d) * Fp16ToFp32(x[b].d) * static_cast<float>(sumi);
  }
  return sum;
}

float DotQ4_0(int64_t n, const void* w_void, const void* x_void) {
  const auto* w = static_cast<const BlockQ4_0*>(w_void);
  const auto* x = static_cast<const BlockQ8_0*>(x_void);
  float sum = 0.0f;
  for (int64_t b = 0; b < n / kQK8_0; ++b) {
    int32_t sumi = 0;
    for (int i = 0; i < kQK8_0 / 2; ++i) {
      sumi += ((w[b].qs[i] & 0x0f) - 8) * x[b].qs[i];
      sumi += ((w[b].qs[i] >> 4) - 8) * x[b].qs[i + kQK8_0 / 2];
    }
    sum += Fp16ToFp32(w[b].d) * Fp16ToFp32(x[b].d) * static_cast<float>(sumi);
  }
  return sum;
}

// sum_j m[j] * (activation sum of sub-block j): what the mins subtract, in units of dmin * d_x.
int32_t MinsTerm(const uint8_t m[8], const int16_t bsums[16]) {
  int32_t summ = 0;
  for (int j = 0; j < 8; ++j) summ += m[j] * (bsums[2 * j] + bsums[2 * j + 1]);
  return summ;
}

float DotQ4_K(int64_t n, const void* w_void, const void* x_void) {
  const auto* w = static_cast<const BlockQ4_K*>(w_void);
  const auto* x = static_cast<const BlockQ8_K*>(x_void);
  float sum = 0.0f;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    uint8_t sc[8], m[8];
    UnpackScalesMinsK4(w[b].scales, sc, m);
    int32_t sumi = 0;
    for (int g = 0; g < 4; ++g) {
      const uint8_t* q = w[b].qs + 32 * g;
      const int8_t* a = x[b].qs + 64 * g;
      int32_t lo = 0, hi = 0;
      for (int l = 0; l < 32; ++l) {
        lo += (q[l] & 0x0f) * a[l];
        hi += (q[l] >> 4) * a[l + 32];
      }
      sumi += sc[2 * g] * lo + sc[2 * g + 1] * hi;
    }
    const float dx = x[b].d;
    sum += Fp16ToFp32(w[b].d) * dx * static_cast<float>(sumi) -
           Fp16ToFp32(w[b].dmin) * dx * static_cast<float>(MinsTerm(m, x[b].bsums));
  }
  return sum;
}

float DotQ5_K(int64_t n, const void* w_void, const void* x_void) {
  const auto* w = static_cast<const BlockQ5_K*>(w_void);
  const auto* x = static_cast<const BlockQ8_K*>(x_void);
  float sum = 0.0f;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    uint8_t sc[8], m[8];
    UnpackScalesMinsK4(w[b].scales, sc, m);
    int32_t sumi = 0;
    for (int g = 0; g < 4; ++g) {
      const uint8_t* q = w[b].qs + 32 * g;
      const int8_t* a = x[b].qs + 64 * g;
      int32_t lo = 0, hi = 0;
      for (int l = 0; l < 32; ++l) {
        const int h_lo = ((w[b].qh[l] >> (2 * g)) & 1) << 4;
        const int h_hi = ((w[b].qh[l] >> (2 * g + 1)) & 1) << 4;
        lo += ((q[l] & 0x0f) | h_lo) * a[l];
        hi += ((q[l] >> 4) | h_hi) * a[l + 32];
      }
      sumi += sc[2 * g] * lo + sc[2 * g + 1] * hi;
    }
    const float dx = x[b].d;
    sum += Fp16ToFp32(w[b].d) * dx * static_cast<float>(sumi) -
           Fp16ToFp32(w[b].dmin) * dx * static_cast<float>(MinsTerm(m, x[b].bsums));
  }
  return sum;
}

float DotQ6_K(int64_t n, const void* w_void, const void* x_void) {
  const auto* w = static_cast<const BlockQ6_K*>(w_void);
  const auto* x = static_cast<const BlockQ8_K*>(x_void);
  float sum = 0.0f;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    // Per 16-element sub-block: sum of unsigned q * a; the -32 comes from bsums afterwards.
    int32_t sub[16] = {};
    for (int half = 0; half < 2; ++half) {
      const uint8_t* ql = w[b].ql + 64 * half;
      const uint8_t* qh = w[b].qh + 32 * half;
      const int8_t* a = x[b].qs + 128 * half;
      int32_t* s = sub + 8 * half;
      for (int l = 0; l < 32; ++l) {
        const int q0 = (ql[l] & 0x0f) | ((qh[l] & 0x03) << 4);
        const int q1 = (ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 0x03) << 4);
        const int q2 = (ql[l] >> 4) | (((qh[l] >> 4) & 0x03) << 4);
        const int q3 = (ql[l + 32] >> 4) | (((qh[l] >> 6) & 0x03) << 4);
        s[l / 16 + 0] += q0 * a[l];
        s[l / 16 + 2] += q1 * a[l + 32];
        s[l / 16 + 4] += q2 * a[l + 64];
        s[l / 16 + 6] += q3 * a[l + 96];
      }
    }
    int32_t sumi = 0, offset = 0;
    for (int k = 0; k < 16; ++k) {
      sumi += w[b].scales[k] * sub[k];
      offset += w[b].scales[k] * x[b].bsums[k];
    }
    sum += Fp16ToFp32(w[b].d) * x[b].d * static_cast<float>(sumi - 32 * offset);
  }
  return sum;
}

// ---- the DotRowsFn wrappers: the scalar path simply repeats the row dot per activation row --

template <float (*kDot)(int64_t, const void*, const float*)>
void FloatRows(int64_t n, const void* w, const void* x, size_t x_stride, int n_x, float* out) {
  for (int t = 0; t < n_x; ++t) {
    out[t] = kDot(n, w,
                  reinterpret_cast<const float*>(static_cast<const char*>(x) +
                                                 static_cast<size_t>(t) * x_stride));
  }
}

template <float (*kDot)(int64_t, const void*, const void*)>
void QuantRows(int64_t n, const void* w, const void* x, size_t x_stride, int n_x, float* out) {
  for (int t = 0; t < n_x; ++t) {
    out[t] = kDot(n, w, static_cast<const char*>(x) + static_cast<size_t>(t) * x_stride);
  }
}

}  // namespace

IsaKernels ScalarKernels() {
  IsaKernels k;
  k.dot[kSlotF32] = FloatRows<DotF32>;
  k.dot[kSlotF16] = FloatRows<DotF16>;
  k.dot[kSlotBF16] = FloatRows<DotBF16>;
  k.dot[kSlotQ8_0] = QuantRows<DotQ8_0>;
  k.dot[kSlotQ4_0] = QuantRows<DotQ4_0>;
  k.dot[kSlotQ4_K] = QuantRows<DotQ4_K>;
  k.dot[kSlotQ5_K] = QuantRows<DotQ5_K>;
  k.dot[kSlotQ6_K] = QuantRows<DotQ6_K>;
  k.quantize_q8_0 = QuantizeQ8_0;
  k.quantize_q8_k = QuantizeQ8_K;
  return k;
}

}  // namespace cachewire::kernels::cpu_detail
