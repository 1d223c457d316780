// Attention on the GPU, flash-decoding style: one thread block per query row (token, head),
// its warps taking the kv head's entries in turn and the block combining them at the end.
//
// Per warp: lane l holds elements l, l + 32, ... of the query row and of an output accumulator
// (kPerLane of each: 2, 4 or 8, picked by the larger head dim; above 256 the launcher refuses
// the call, as registers would not hold the row). Each entry costs one warp-shuffle dot
// product and one online-softmax step: a running max m, a running sum l of exp(s - m), and the
// accumulator of exp(s - m) * v, rescaled by exp(m_old - m_new) when the max grows. No score
// matrix is formed, so any entry count fits. The warps' partial (m, l, acc) then meet in shared
// memory and are merged under the block's overall max.
//
// Masks come from positions alone (entries of a bounded cache are not in position order, and
// pinned ones may share a position), so every entry is tested; a hidden entry is skipped before
// its key is read. A row that sees nothing, including one of a kv head with n == 0, is 0.
//
// Correct first, not fast. Where a GPU session should look:
// - decode (n_tokens = 1) launches only n_head blocks: split the entries over several blocks
//   per row (flash-decoding's split-K) and merge the partials in a second pass;
// - a GQA group re-reads the same keys once per query head: one block per (token, kv head)
//   could serve the whole group from each key it loads;
// - prefill is a batched matrix product: tiles of keys in shared memory and tensor cores
//   instead of one dot per warp (TF32 or BF16 inputs would need a wider twin bound);
// - one entry in flight per warp leaves global loads unhidden; float4 loads where strides allow.
#include <math_constants.h>

#include <cstdint>

#include "kernels/cuda/attention.cuh"

namespace cachewire::kernels::cuda {
namespace {

constexpr int kWarps = 8;
constexpr int kThreads = kWarps * 32;
constexpr int64_t kMaxHeadDim = 256;
constexpr unsigned kFullMask = 0xffffffffu;

// A record the host could not check (it lives in device memory). Its heads' rows become NaN:
// loud in any comparison, and unlike a trap it leaves the context usable.
__device__ bool KvRecordIsBad(const CwAttentionKv& kv, int64_t dk, int64_t dv) {
  if (kv.n < 0) return true;
  if (kv.n == 0) return false;
  return kv.k == nullptr || kv.v == nullptr || kv.pos == nullptr || kv.k_stride < dk ||
         kv.v_stride < dv;
}

// Grid: n_tokens * n_head blocks, block b is row b of q and out (token b / n_head, head
// b % n_head). Block: kThreads.
template <int kPerLane>
__global__ void __launch_bounds__(kThreads) AttentionKernel(CwAttentionArgs a) {
  // Each warp's partial result; s_acc[w] is laid out like a row of out.
  __shared__ float s_m[kWarps];
  __shared__ float s_l[kWarps];
  __shared__ float s_acc[kWarps][kPerLane * 32];  // (kWarps, head_dim_v rounded up)

  const int64_t row = blockIdx.x;
  const int64_t t = row / a.n_head;
  const int64_t h = row % a.n_head;
  const CwAttentionKv kv = a.kv[h / (a.n_head / a.n_head_kv)];
  const int dk = static_cast<int>(a.head_dim_k);
  const int dv = static_cast<int>(a.head_dim_v);
  float* out = a.out + row * dv;  // (head_dim_v)

  // Block-uniform, so returning before the barrier below is safe.
  if (KvRecordIsBad(kv, dk, dv)) {
    for (int d = threadIdx.x; d < dv; d += kThreads) out[d] = CUDART_NAN_F;
    return;
  }

  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  const float* q = a.q + row * dk;  // (head_dim_k)
  float qr[kPerLane];
  float acc[kPerLane];
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) {
    const int d = lane + 32 * i;
    qr[i] = d < dk ? q[d] : 0.0f;
    acc[i] = 0.0f;
  }

  // int64 so that p - pk cannot overflow for any pair of int32 positions.
  const int64_t p = a.q_pos[t];
  float m = -CUDART_INF_F;
  float l = 0.0f;
  for (int64_t j = warp; j < kv.n; j += kWarps) {
    const int64_t pk = kv.pos[j];
    if (pk > p || (a.window > 0 && p - pk >= a.window)) continue;
    const float* k = kv.k + j * kv.k_stride;  // (head_dim_k) of a (n, k_stride) array
    float part = 0.0f;
#pragma unroll
    for (int i = 0; i < kPerLane; ++i) {
      const int d = lane + 32 * i;
      if (d < dk) part = fmaf(qr[i], k[d], part);
    }
    // A butterfly: every lane adds the same values (commutatively), so all hold the same sum
    // and the branches below stay warp-uniform.
    for (int off = 16; off > 0; off >>= 1) part += __shfl_xor_sync(kFullMask, part, off);
    const float s = part * a.scale;
    if (s == -CUDART_INF_F) continue;         // weight exactly 0, as in the CPU twin
    const float* v = kv.v + j * kv.v_stride;  // (head_dim_v) of a (n, v_stride) array
    // "Not <=" rather than ">": a NaN score takes this branch and turns l and acc into NaN for
    // good, so a NaN in q or k shows in the output instead of vanishing (as on the CPU).
    if (!(s <= m)) {
      // The new entry sets the max: rescale what came before (c = 0 on the first entry).
      const float c = expf(m - s);
      m = s;
      l = fmaf(l, c, 1.0f);
#pragma unroll
      for (int i = 0; i < kPerLane; ++i) {
        const int d = lane + 32 * i;
        if (d < dv) acc[i] = fmaf(acc[i], c, v[d]);
      }
    } else {
      const float e = expf(s - m);
      l += e;
#pragma unroll
      for (int i = 0; i < kPerLane; ++i) {
        const int d = lane + 32 * i;
        if (d < dv) acc[i] = fmaf(e, v[d], acc[i]);
      }
    }
  }

  if (lane == 0) {
    s_m[warp] = m;
    s_l[warp] = l;
  }
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) s_acc[warp][lane + 32 * i] = acc[i];
  __syncthreads();

  float mx = -CUDART_INF_F;
  // Not fmaxf, which would drop a NaN max.
  for (int w = 0; w < kWarps; ++w) mx = (s_m[w] > mx || s_m[w] != s_m[w]) ? s_m[w] : mx;
  if (mx == -CUDART_INF_F) {  // no warp saw an entry
    for (int d = threadIdx.x; d < dv; d += kThreads) out[d] = 0.0f;
    return;
  }
  // Warps that saw nothing weigh 0 (their acc and l are 0 too; testing m first avoids inf - inf).
  float wt[kWarps];
  float sum = 0.0f;
#pragma unroll
  for (int w = 0; w < kWarps; ++w) {
    wt[w] = s_m[w] == -CUDART_INF_F ? 0.0f : expf(s_m[w] - mx);
    sum = fmaf(s_l[w], wt[w], sum);
  }
  // sum >= 1: the warp holding the max counted exp(0) for its own entry.
  const float inv = 1.0f / sum;
  for (int d = threadIdx.x; d < dv; d += kThreads) {
    float o = 0.0f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) o = fmaf(s_acc[w][d], wt[w], o);
    out[d] = o * inv;
  }
}

}  // namespace

LaunchStatus LaunchAttention(const CwAttentionArgs& a, cudaStream_t stream) {
  if (a.n_tokens < 0) return InvalidArg("n_tokens < 0");
  if (a.n_head_kv <= 0) return InvalidArg("n_head_kv <= 0");
  if (a.n_head <= 0 || a.n_head % a.n_head_kv != 0) {
    return InvalidArg("n_head is not a positive multiple of n_head_kv");
  }
  if (a.head_dim_k <= 0 || a.head_dim_k > kMaxHeadDim) {
    return InvalidArg("head_dim_k not in [1, 256]");
  }
  if (a.head_dim_v <= 0 || a.head_dim_v > kMaxHeadDim) {
    return InvalidArg("head_dim_v not in [1, 256]");
  }
  if (a.window < 0) return InvalidArg("window < 0");
  if (a.n_tokens == 0) return Ok();
  if (a.q == nullptr) return InvalidArg("q is null");
  if (a.q_pos == nullptr) return InvalidArg("q_pos is null");
  if (a.kv == nullptr) return InvalidArg("kv is null");
  if (a.out == nullptr) return InvalidArg("out is null");
  if (a.n_tokens > INT32_MAX / a.n_head) return InvalidArg("n_tokens * n_head exceeds the grid");

  const unsigned blocks = static_cast<unsigned>(a.n_tokens * a.n_head);
  const int64_t d = a.head_dim_k > a.head_dim_v ? a.head_dim_k : a.head_dim_v;
  if (d <= 64) {
    AttentionKernel<2><<<blocks, kThreads, 0, stream>>>(a);
  } else if (d <= 128) {
    AttentionKernel<4><<<blocks, kThreads, 0, stream>>>(a);
  } else {
    AttentionKernel<8><<<blocks, kThreads, 0, stream>>>(a);
  }
  return AfterLaunch("AttentionKernel");
}

}  // namespace cachewire::kernels::cuda
