// Argument records of the backend ops, one plain C struct per op: what the CUDA plugin's run_op
// (plugin_api.h) takes, and what backend::Ops (engine/backend/ops.h) runs on either backend.
//
// Every pointer is in the backend's memory (device memory on CUDA) unless its comment says
// otherwise; shapes are in comments, row-major. Each op mirrors a CPU kernel of kernels/<op>.h
// (named beside it), its twin: the twin tests run both on the same inputs. The records are C so
// the boundary of the dlopen'd plugin carries no C++ ABI.
#pragma once

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// The op ids. Values are part of the ABI: append, never renumber.
typedef enum CwOp {
  CW_OP_DEQUANTIZE = 1,
  CW_OP_RMS_NORM = 2,
  CW_OP_ROPE = 3,
  CW_OP_SOFTMAX = 4,
  CW_OP_GATED = 5,
  CW_OP_EMBEDDING = 6,
  CW_OP_MATMUL = 7,
  CW_OP_ATTENTION = 8,
  CW_OP_KEY_NORMS = 9,
  CW_OP_EVICT_SELECT = 10,
  CW_OP_GATHER_ROWS = 11,
  CW_OP_GEMM_F32 = 12,
  CW_OP_ADD = 13,
  CW_OP_SCALE = 14,
} CwOp;

// gguf::DequantizeRow: n_rows rows of n_per_row elements of GGUF type `type` (ggml id), back to
// back, to f32. n_per_row is a whole number of blocks.
typedef struct CwDequantizeArgs {
  uint32_t type;
  const void* src;
  int64_t n_rows;
  int64_t n_per_row;
  float* dst;  // (n_rows, n_per_row)
} CwDequantizeArgs;

// kernels::RmsNorm: y = x / sqrt(mean(x^2) + eps) * w per row; y may be x.
typedef struct CwRmsNormArgs {
  const float* x;  // (n_rows, n)
  const float* w;  // (n), or null for 1
  float* y;        // (n_rows, n)
  int64_t n_rows;
  int64_t n;
  float eps;
} CwRmsNormArgs;

// kernels::BuildRopeTable + ApplyRope (pos set) or ApplyRopeRow (pos null: every row turns by
// `shift` positions, the bounded cache's re-indexing). In place. Angles in double, as the twin.
typedef struct CwRopeArgs {
  float* x;             // (n_tokens, n_heads, head_dim)
  const int32_t* pos;   // (n_tokens), or null to use `shift` for every row
  int32_t shift;
  int64_t n_tokens;
  int64_t n_heads;
  int64_t head_dim;
  int32_t neox;               // 0: pairs (2i, 2i+1) (GGUF llama); 1: pairs (i, i + n_rot/2)
  int64_t n_rot;              // even, <= head_dim
  float freq_base;
  float freq_scale;
  const float* freq_factors;  // (n_rot/2) divisors of each frequency, or null
} CwRopeArgs;

// kernels::SoftmaxRows, in place; -inf gives exactly 0, an all -inf row all 0.
typedef struct CwSoftmaxArgs {
  float* x;  // (n_rows, n)
  int64_t n_rows;
  int64_t n;
} CwSoftmaxArgs;

// kernels::GatedMul: out = act(gate) * up; kind 0 SiLU (Llama), 1 tanh GELU (Gemma 3).
typedef struct CwGatedArgs {
  int32_t kind;
  const float* gate;  // (n_rows, n)
  const float* up;    // (n_rows, n)
  float* out;         // (n_rows, n); may be gate or up
  int64_t n_rows;
  int64_t n;
} CwGatedArgs;

// kernels::EmbeddingLookup: each id's row of a GGUF table to f32, times scale. Ids are checked
// by the caller (host side) before upload; a row of an id outside [0, n_vocab) is written as 0.
typedef struct CwEmbeddingArgs {
  uint32_t type;
  const void* table;  // (n_vocab, n_embd) raw GGUF rows
  int64_t n_vocab;
  int64_t n_embd;
  const int32_t* ids;  // (n_tokens)
  int64_t n_tokens;
  float scale;
  float* out;  // (n_tokens, n_embd)
} CwEmbeddingArgs;

// kernels::Matmul: y[t][o] = sum_i W[o][i] * x[t][i], W in GGUF rows dequantised on the fly
// (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K). Activations stay f32 (the CPU twin quantises them
// for its integer dots, hence the twin tests' bound).
typedef struct CwMatmulArgs {
  uint32_t w_type;
  const void* w;  // (n_out, n_in) raw GGUF rows
  int64_t n_out;
  int64_t n_in;
  const float* x;  // (n_tokens, n_in)
  int64_t n_tokens;
  float* y;  // (n_tokens, n_out)
} CwMatmulArgs;

// One kv head's cached entries (kernels::AttentionKv), device pointers.
typedef struct CwAttentionKv {
  const float* k;        // (n, k_stride)
  const float* v;        // (n, v_stride)
  const int32_t* pos;    // (n)
  int64_t n;
  int64_t k_stride;
  int64_t v_stride;
} CwAttentionKv;

// kernels::Attention: a query at p sees an entry at pk iff pk <= p and (window 0 or
// p - pk < window); query head h reads kv head h / (n_head / n_head_kv). A row that sees
// nothing is 0.
typedef struct CwAttentionArgs {
  const float* q;        // (n_tokens, n_head, head_dim_k), rotated
  const int32_t* q_pos;  // (n_tokens)
  int64_t n_tokens;
  int64_t n_head;
  int64_t n_head_kv;
  int64_t head_dim_k;
  int64_t head_dim_v;
  float scale;
  int64_t window;
  const CwAttentionKv* kv;  // (n_head_kv) records in device memory
  float* out;               // (n_tokens, n_head, head_dim_v)
} CwAttentionArgs;

// The bounded cache's key norms: norms[i] = L2 norm of the first head_dim floats of row i.
typedef struct CwKeyNormsArgs {
  const float* k;  // (n, k_stride)
  int64_t n;
  int64_t k_stride;
  int64_t head_dim;
  float* norms;  // (n)
} CwKeyNormsArgs;

// cache::ChooseKept: the surviving slots of one (layer, kv-head), ascending. The protected
// [0, n_head) and [n_entries - n_tail, n_entries) stay; of the middle the highest norms go
// first, ties to the older entry, NaN as +inf; null norms: the oldest first.
typedef struct CwEvictSelectArgs {
  const float* key_norm;  // (n_entries), or null
  int64_t n_entries;
  int64_t n_keep;  // entries evicted: n_entries - n_keep, clamped to [0, middle size]
  int64_t n_head;  // clamped to [0, n_entries]
  int64_t n_tail;  // clamped to [0, n_entries - n_head]
  int32_t* kept;     // (n_entries) capacity; the first *n_kept are written
  int64_t* n_kept;   // (1)
} CwEvictSelectArgs;

// Compaction: dst row i = src row idx[i] (row_len floats). dst must not overlap src.
typedef struct CwGatherRowsArgs {
  const float* src;
  int64_t src_stride;
  const int32_t* idx;  // (n)
  int64_t n;
  int64_t row_len;
  float* dst;
  int64_t dst_stride;
} CwGatherRowsArgs;

// cuBLAS SGEMM for the adapters' dense layers (kernels::Matmul with F32 weights):
// c (m, n) = alpha * a (m, k) b^T + beta * c, with b (n, k) row-major.
typedef struct CwGemmF32Args {
  int64_t m;
  int64_t n;
  int64_t k;
  const float* a;
  const float* b;
  float* c;
  float alpha;
  float beta;
} CwGemmF32Args;

// kernels::AddInPlace (y += x) and ScaleInPlace (x *= s).
typedef struct CwAddArgs {
  float* y;
  const float* x;
  int64_t n;
} CwAddArgs;

typedef struct CwScaleArgs {
  float* x;
  float s;
  int64_t n;
} CwScaleArgs;

#ifdef __cplusplus
}
#endif
