// Embedding lookup on the device: one thread per run (quant_decode.cuh) of one token's row,
// over a flat index of (token, run) so any number of tokens fits a 1-D grid.
#include "kernels/cuda/embedding.cuh"
#include "kernels/cuda/quant_decode.cuh"

namespace cachewire::kernels::cuda {
namespace {

constexpr int kThreads = 256;

// table: (n_vocab, n_embd) rows of row_bytes; ids: (n_tokens); out: (n_tokens, n_embd).
// runs_per_row = n_embd / kRun.
template <uint32_t kType>
__global__ void EmbeddingKernel(const uint8_t* table, int64_t row_bytes, int64_t n_vocab,
                                int64_t runs_per_row, const int32_t* ids, int64_t n_tokens,
                                float scale, float* out) {
  constexpr int kRun = quant::Block<kType>::kRun;
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n_tokens * runs_per_row) return;
  const int64_t t = i / runs_per_row, run = i % runs_per_row;
  float* dst = out + t * runs_per_row * kRun + run * kRun;
  const int32_t id = __ldg(ids + t);
  float v[kRun];
  if (id < 0 || id >= n_vocab) {
#pragma unroll
    for (int k = 0; k < kRun; ++k) v[k] = 0.0f;
  } else {
    quant::DecodeRun<kType>(table + id * row_bytes, run, v);
    // As the twin: scaled only when scale != 1, and then by one rounded multiply.
    if (scale != 1.0f) {
#pragma unroll
      for (int k = 0; k < kRun; ++k) v[k] = __fmul_rn(v[k], scale);
    }
  }
#pragma unroll
  for (int k = 0; k < kRun; ++k) dst[k] = v[k];
}

}  // namespace

// The twin's checks (kernels/cpu/embedding.cc) on type and sizes; ids are the caller's to check,
// an id out of range only zeroes its row here.
LaunchStatus LaunchEmbedding(const CwEmbeddingArgs& a, cudaStream_t stream) {
  const quant::Layout layout = quant::LayoutOf(a.type);
  if (layout.elems == 0) return InvalidArg("type not supported on CUDA");
  if (a.n_embd <= 0) return InvalidArg("n_embd <= 0");
  if (a.n_embd % layout.elems != 0) return InvalidArg("n_embd is not a whole number of blocks");
  if (a.n_vocab <= 0) return InvalidArg("n_vocab <= 0");
  if (a.n_tokens < 0) return InvalidArg("n_tokens < 0");
  if (a.n_tokens == 0) return Ok();
  if (a.table == nullptr) return InvalidArg("table is null");
  if (a.ids == nullptr) return InvalidArg("ids is null");
  if (a.out == nullptr) return InvalidArg("out is null");
  const int64_t runs_per_row = a.n_embd / layout.run;
  const int64_t blocks = (a.n_tokens * runs_per_row + kThreads - 1) / kThreads;
  if (blocks > 0x7fffffff) return InvalidArg("n_tokens above the grid limit");
  const int64_t row_bytes = a.n_embd / layout.elems * layout.bytes;
  return quant::WithType(a.type, "type not supported on CUDA", [&](auto tag) {
    constexpr uint32_t kType = decltype(tag)::kValue;
    EmbeddingKernel<kType><<<static_cast<unsigned>(blocks), kThreads, 0, stream>>>(
        static_cast<const uint8_t*>(a.table), row_bytes, a.n_vocab, runs_per_row, a.ids, a.n_tokens,
        a.scale, a.out);
    return AfterLaunch("EmbeddingKernel");
  });
}

}  // namespace cachewire::kernels::cuda
