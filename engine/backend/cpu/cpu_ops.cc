// CpuOps (cpu_ops.h): each op record run by its CPU kernel, with the same argument checks as
// the CUDA launchers (InvalidArgument "op: field").
#include "engine/backend/cpu/cpu_ops.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "engine/backend/cpu/thread_pool.h"
#include "engine/cache/eviction.h"
#include "engine/gguf/dequantize.h"
#include "kernels/activations.h"
#include "kernels/attention.h"
#include "kernels/elementwise.h"
#include "kernels/embedding.h"
#include "kernels/gemm_f32.h"
#include "kernels/key_norms.h"
#include "kernels/matmul.h"
#include "kernels/rms_norm.h"
#include "kernels/rope.h"
#include "kernels/softmax.h"

namespace cachewire::backend {
namespace {

absl::Status Invalid(const char* op, const std::string& what) {
  return absl::InvalidArgumentError(std::string(op) + ": " + what);
}

// A status from a kernel, prefixed with the op's name like the CUDA errors.
absl::Status Named(const char* op, const absl::Status& s) {
  return s.ok() ? s : absl::Status(s.code(), std::string(op) + ": " + std::string(s.message()));
}

template <typename Args>
const Args& As(const void* args) {
  return *static_cast<const Args*>(args);
}

class CpuOps final : public Ops {
 public:
  explicit CpuOps(int n_threads) : pool_(n_threads) {}

  std::string name() const override { return "cpu-twin"; }

  absl::StatusOr<Buffer> Alloc(size_t bytes) override {
    if (bytes == 0) return Buffer();
    const size_t rounded = (bytes + 63) / 64 * 64;  // aligned_alloc wants a multiple
    void* p = std::aligned_alloc(64, rounded);
    if (p == nullptr)
      return absl::ResourceExhaustedError("cpu: cannot allocate " + std::to_string(bytes) +
                                          " bytes");
    std::memset(p, 0, rounded);
    return Buffer(p, bytes, [](void* q) { std::free(q); });
  }

  absl::Status CopyIn(void* dst, const void* host, size_t bytes) override {
    if (bytes > 0) std::memcpy(dst, host, bytes);
    return absl::OkStatus();
  }
  absl::Status CopyOut(void* host, const void* src, size_t bytes) override {
    if (bytes > 0) std::memcpy(host, src, bytes);
    return absl::OkStatus();
  }
  absl::Status Synchronize() override { return absl::OkStatus(); }

  absl::Status RunOp(CwOp op, const void* args) override {
    if (args == nullptr) return absl::InvalidArgumentError("run_op: null args");
    switch (op) {
      case CW_OP_DEQUANTIZE:
        return Dequantize(As<CwDequantizeArgs>(args));
      case CW_OP_RMS_NORM:
        return RmsNorm(As<CwRmsNormArgs>(args));
      case CW_OP_ROPE:
        return Rope(As<CwRopeArgs>(args));
      case CW_OP_SOFTMAX:
        return Softmax(As<CwSoftmaxArgs>(args));
      case CW_OP_GATED:
        return Gated(As<CwGatedArgs>(args));
      case CW_OP_EMBEDDING:
        return Embedding(As<CwEmbeddingArgs>(args));
      case CW_OP_MATMUL:
        return Matmul(As<CwMatmulArgs>(args));
      case CW_OP_ATTENTION:
        return Attention(As<CwAttentionArgs>(args));
      case CW_OP_KEY_NORMS:
        return KeyNorms(As<CwKeyNormsArgs>(args));
      case CW_OP_EVICT_SELECT:
        return EvictSelect(As<CwEvictSelectArgs>(args));
      case CW_OP_GATHER_ROWS:
        return GatherRows(As<CwGatherRowsArgs>(args));
      case CW_OP_GEMM_F32:
        return GemmF32(As<CwGemmF32Args>(args));
      case CW_OP_ADD:
        return Add(As<CwAddArgs>(args));
      case CW_OP_SCALE:
        return Scale(As<CwScaleArgs>(args));
    }
    return absl::UnimplementedError("run_op: unknown op id " + std::to_string(op));
  }

 private:
  absl::Status Dequantize(const CwDequantizeArgs& a) {
    if (a.n_rows < 0 || a.n_per_row < 0) return Invalid("dequantize", "n_rows or n_per_row < 0");
    return Named("dequantize", gguf::DequantizeRow(static_cast<gguf::TensorType>(a.type),
                                                   static_cast<const uint8_t*>(a.src), a.dst,
                                                   a.n_rows * a.n_per_row));
  }

  absl::Status RmsNorm(const CwRmsNormArgs& a) {
    if (a.n_rows < 0) return Invalid("rms_norm", "n_rows < 0");
    if (a.n < 0) return Invalid("rms_norm", "n < 0");
    if (a.n_rows > 0 && a.n > 0 && (a.x == nullptr || a.y == nullptr)) {
      return Invalid("rms_norm", "x or y is null");
    }
    kernels::RmsNorm({.x = a.x, .w = a.w, .y = a.y, .n_rows = a.n_rows, .n = a.n, .eps = a.eps});
    return absl::OkStatus();
  }

  absl::Status Rope(const CwRopeArgs& a) {
    if (a.n_tokens < 0 || a.n_heads < 0) return Invalid("rope", "n_tokens or n_heads < 0");
    if (a.n_tokens == 0 || a.n_heads == 0) return absl::OkStatus();
    if (a.x == nullptr) return Invalid("rope", "x is null");
    kernels::RopeParams p{
        .layout = a.neox != 0 ? kernels::RopeLayout::kNeox : kernels::RopeLayout::kNorm,
        .n_rot = a.n_rot,
        .freq_base = a.freq_base,
        .freq_scale = a.freq_scale,
        .freq_factors = a.freq_factors};
    if (a.pos == nullptr) {  // every row by `shift`
      const int32_t shift = a.shift;
      absl::Status s = kernels::BuildRopeTable(p, std::span<const int32_t>(&shift, 1), &table_);
      if (s.ok()) s = kernels::ApplyRopeRow(table_, 0, a.x, a.n_tokens, a.n_heads, a.head_dim);
      return Named("rope", s);
    }
    absl::Status s = kernels::BuildRopeTable(
        p, std::span<const int32_t>(a.pos, static_cast<size_t>(a.n_tokens)), &table_);
    if (s.ok()) s = kernels::ApplyRope(table_, a.x, a.n_tokens, a.n_heads, a.head_dim);
    return Named("rope", s);
  }

  absl::Status Softmax(const CwSoftmaxArgs& a) {
    if (a.n_rows < 0) return Invalid("softmax", "n_rows < 0");
    if (a.n < 0) return Invalid("softmax", "n < 0");
    if (a.n_rows > 0 && a.n > 0 && a.x == nullptr) return Invalid("softmax", "x is null");
    kernels::SoftmaxRows(a.x, a.n_rows, a.n);
    return absl::OkStatus();
  }

  absl::Status Gated(const CwGatedArgs& a) {
    if (a.kind != 0 && a.kind != 1)
      return Invalid("gated", "kind is neither 0 (SiLU) nor 1 (GELU)");
    if (a.n_rows < 0 || a.n < 0) return Invalid("gated", "n_rows or n < 0");
    kernels::GatedMul({.kind = a.kind == 0 ? kernels::GatedActivation::kSilu
                                           : kernels::GatedActivation::kGeluTanh,
                       .gate = a.gate,
                       .up = a.up,
                       .out = a.out,
                       .n_rows = a.n_rows,
                       .n = a.n},
                      a.n_rows > 1 ? &pool_ : nullptr);
    return absl::OkStatus();
  }

  absl::Status Embedding(const CwEmbeddingArgs& a) {
    if (a.n_tokens < 0) return Invalid("embedding", "n_tokens < 0");
    kernels::EmbeddingArgs e;
    e.type = static_cast<gguf::TensorType>(a.type);
    e.table = a.table;
    e.n_vocab = a.n_vocab;
    e.n_embd = a.n_embd;
    e.ids = std::span<const int32_t>(a.ids, static_cast<size_t>(a.n_tokens));
    e.scale = a.scale;
    e.out = a.out;
    return Named("embedding", kernels::EmbeddingLookup(e));
  }

  absl::Status Matmul(const CwMatmulArgs& a) {
    return Named("matmul", kernels::Matmul({.w_type = static_cast<gguf::TensorType>(a.w_type),
                                            .w = a.w,
                                            .n_out = a.n_out,
                                            .n_in = a.n_in,
                                            .x = a.x,
                                            .n_tokens = a.n_tokens,
                                            .y = a.y,
                                            .isa = {}},
                                           &pool_, &matmul_scratch_));
  }

  absl::Status Attention(const CwAttentionArgs& a) {
    if (a.n_head_kv < 0) return Invalid("attention", "n_head_kv < 0");
    if (a.n_head_kv > 0 && a.kv == nullptr) return Invalid("attention", "kv is null");
    kv_.resize(static_cast<size_t>(a.n_head_kv));
    for (int64_t h = 0; h < a.n_head_kv; ++h) {
      const CwAttentionKv& r = a.kv[h];
      kv_[static_cast<size_t>(h)] = {r.k, r.v, r.pos, r.n, r.k_stride, r.v_stride};
    }
    const kernels::AttentionArgs k{.q = a.q,
                                   .q_pos = a.q_pos,
                                   .n_tokens = a.n_tokens,
                                   .n_head = a.n_head,
                                   .n_head_kv = a.n_head_kv,
                                   .head_dim_k = a.head_dim_k,
                                   .head_dim_v = a.head_dim_v,
                                   .scale = a.scale,
                                   .window = a.window,
                                   .kv = kv_,
                                   .out = a.out,
                                   .n_threads_hint = pool_.n_threads()};
    return Named("attention", kernels::Attention(k, &pool_));
  }

  absl::Status KeyNorms(const CwKeyNormsArgs& a) {
    if (a.n < 0 || a.head_dim < 0) return Invalid("key_norms", "n or head_dim < 0");
    if (a.n > 0 && (a.k == nullptr || a.norms == nullptr)) {
      return Invalid("key_norms", "k or norms is null");
    }
    kernels::KeyL2Norms(a.k, a.n, a.k_stride, a.head_dim, a.norms);
    return absl::OkStatus();
  }

  absl::Status EvictSelect(const CwEvictSelectArgs& a) {
    if (a.n_entries < 0) return Invalid("evict_select", "n_entries < 0");
    if (a.kept == nullptr || a.n_kept == nullptr)
      return Invalid("evict_select", "kept or n_kept is null");
    cache::ChooseKept({.n_entries = a.n_entries,
                       .n_keep = a.n_keep,
                       .n_head = a.n_head,
                       .n_tail = a.n_tail,
                       .key_norm = a.key_norm},
                      &kept_, &order_);
    std::copy(kept_.begin(), kept_.end(), a.kept);
    *a.n_kept = static_cast<int64_t>(kept_.size());
    return absl::OkStatus();
  }

  absl::Status GatherRows(const CwGatherRowsArgs& a) {
    if (a.n < 0 || a.row_len < 0) return Invalid("gather_rows", "n or row_len < 0");
    for (int64_t i = 0; i < a.n; ++i) {
      std::memcpy(a.dst + i * a.dst_stride, a.src + a.idx[i] * a.src_stride,
                  static_cast<size_t>(a.row_len) * sizeof(float));
    }
    return absl::OkStatus();
  }

  absl::Status GemmF32(const CwGemmF32Args& a) {
    // c = alpha a b^T + beta c with b (n, k) row-major: cuBLAS's product on the device.
    const absl::Status s = kernels::GemmF32({.m = a.m, .n = a.n, .k = a.k, .a = a.a, .lda = a.k,
                                             .b = a.b, .ldb = a.k, .trans_b = true, .c = a.c,
                                             .ldc = a.n, .alpha = a.alpha, .beta = a.beta});
    return s.ok() ? s : Named("gemm_f32", s);
  }

  absl::Status Add(const CwAddArgs& a) {
    if (a.n < 0) return Invalid("add", "n < 0");
    kernels::AddInPlace(a.y, a.x, a.n);
    return absl::OkStatus();
  }

  absl::Status Scale(const CwScaleArgs& a) {
    if (a.n < 0) return Invalid("scale", "n < 0");
    kernels::ScaleInPlace(a.x, a.s, a.n);
    return absl::OkStatus();
  }

  cpu::ThreadPool pool_;
  kernels::RopeTable table_;
  kernels::MatmulScratch matmul_scratch_;
  std::vector<kernels::AttentionKv> kv_;
  std::vector<int32_t> kept_, order_;
};

}  // namespace

std::unique_ptr<Ops> NewCpuOps(int n_threads) {
  if (n_threads <= 0)
    n_threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::make_unique<CpuOps>(n_threads);
}

}  // namespace cachewire::backend
