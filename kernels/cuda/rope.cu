// RoPE with the twin's arithmetic (kernels/cpu/rope.cc), so the two agree to an ulp of cos/sin:
// the same double angle expression, cos/sin in double rounded once to float, and the pair
// rotation as separately rounded f32 products and sums (intrinsics, so no FMA contraction).
//
// A block owns rows that share one angle set (a token's heads, or a run of rows of the shift
// form) and computes that set's cos/sin once into shared memory, a tile of pairs at a time,
// before rotating every pair of its rows; double cos/sin are far dearer than the rotations.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "kernels/cuda/rope.cuh"

namespace cachewire::kernels::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kTilePairs = 512;  // cos/sin of this many pairs at a time: 4 KiB of shared memory
constexpr int kShiftRowsPerBlock = 64;

// Inverse frequencies of the first kHostPairs pairs, from the host's std::pow: the very libm
// call the twin makes, so those angles are bit for bit the twin's (2 KiB of kernel parameters).
// Pairs past it (n_rot > 512, more than any supported model rotates) use the device's pow,
// within 2 ulp of double, which moves a float cos/sin only in rare boundary cases.
constexpr int kHostPairs = 256;
struct InvFreq {
  double v[kHostPairs];
};

// x: (n_rows, head_dim), rows grouped by rows_per_block; block b's rows turn by pos[b], or by
// `shift` when pos is null. freq_factors: (n_rot/2) or null.
__global__ void RopeKernel(float* x, const int32_t* pos, int32_t shift, int64_t n_rows,
                           int64_t rows_per_block, int64_t head_dim, int64_t n_rot, int neox,
                           double freq_base, double freq_scale, const float* freq_factors,
                           InvFreq host_inv) {
  __shared__ float2 cs[kTilePairs];  // (tile, cos/sin)
  const int64_t half = n_rot / 2;
  const int64_t row0 = static_cast<int64_t>(blockIdx.x) * rows_per_block;
  const int64_t rows = min(rows_per_block, n_rows - row0);
  const int32_t p = pos != nullptr ? pos[blockIdx.x] : shift;
  const double scaled_pos = static_cast<double>(p) * freq_scale;
  // NORM pairs (2i, 2i+1); NEOX pairs (i, i + half).
  const int64_t stride = neox ? 1 : 2;
  const int64_t other = neox ? half : 1;
  for (int64_t i0 = 0; i0 < half; i0 += kTilePairs) {
    const int64_t tile = min(static_cast<int64_t>(kTilePairs), half - i0);
    for (int64_t j = threadIdx.x; j < tile; j += blockDim.x) {
      const int64_t i = i0 + j;
      double inv = i < kHostPairs
                       ? host_inv.v[i]
                       : pow(freq_base, -2.0 * static_cast<double>(i) / static_cast<double>(n_rot));
      if (freq_factors != nullptr) inv /= static_cast<double>(freq_factors[i]);
      const double angle = scaled_pos * inv;
      cs[j] = make_float2(static_cast<float>(cos(angle)), static_cast<float>(sin(angle)));
    }
    __syncthreads();
    for (int64_t e = threadIdx.x; e < rows * tile; e += blockDim.x) {
      const int64_t r = e / tile, j = e % tile;
      float* a = x + (row0 + r) * head_dim + (i0 + j) * stride;
      const float x0 = a[0], x1 = a[other];
      const float c = cs[j].x, s = cs[j].y;
      a[0] = __fsub_rn(__fmul_rn(x0, c), __fmul_rn(x1, s));
      a[other] = __fadd_rn(__fmul_rn(x0, s), __fmul_rn(x1, c));
    }
    __syncthreads();  // the next tile overwrites cs
  }
}

}  // namespace

LaunchStatus LaunchRope(const CwRopeArgs& a, cudaStream_t stream) {
  if (a.n_tokens < 0) return InvalidArg("n_tokens < 0");
  if (a.n_heads < 0) return InvalidArg("n_heads < 0");
  if (a.head_dim < 0) return InvalidArg("head_dim < 0");
  if (a.pos != nullptr && a.n_tokens > INT32_MAX) return InvalidArg("n_tokens > 2^31 - 1");
  if (a.n_rot <= 0 || a.n_rot % 2 != 0) return InvalidArg("n_rot odd or <= 0");
  if (a.n_rot > a.head_dim) return InvalidArg("n_rot > head_dim");
  if (!(a.freq_base > 0.0f)) return InvalidArg("freq_base <= 0");
  if (!(a.freq_scale > 0.0f)) return InvalidArg("freq_scale <= 0");
  const int64_t n_rows = a.n_tokens * a.n_heads;
  if (n_rows == 0) return Ok();
  if (a.x == nullptr) return InvalidArg("x is null");

  InvFreq inv{};
  const int64_t host_pairs = std::min<int64_t>(a.n_rot / 2, kHostPairs);
  for (int64_t i = 0; i < host_pairs; ++i) {
    inv.v[i] = std::pow(static_cast<double>(a.freq_base),
                        -2.0 * static_cast<double>(i) / static_cast<double>(a.n_rot));
  }
  // With positions, a block is one token's heads; the shift form turns every row alike.
  const int64_t rows_per_block = a.pos != nullptr ? a.n_heads : int64_t{kShiftRowsPerBlock};
  const unsigned blocks =
      a.pos != nullptr ? static_cast<unsigned>(a.n_tokens) : GridFor(n_rows, kShiftRowsPerBlock);
  RopeKernel<<<blocks, kThreads, 0, stream>>>(
      a.x, a.pos, a.shift, n_rows, rows_per_block, a.head_dim, a.n_rot, a.neox != 0 ? 1 : 0,
      static_cast<double>(a.freq_base), static_cast<double>(a.freq_scale), a.freq_factors, inv);
  return AfterLaunch("RopeKernel");
}

}  // namespace cachewire::kernels::cuda
