// Attention (kernels/attention.h): task split, position masks and the online softmax; the
// score and value tiles are the active ISA's vec_table.h kernels.
#include "kernels/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "engine/gguf/str_cat.h"
#include "kernels/cpu/vec_table.h"

namespace cachewire::kernels {
namespace {

constexpr int kMaxRows = 16;   // query rows (token, head) per task
constexpr int kKeyBlock = 64;  // entries per softmax block
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// How a task's index maps to (kv head, head sub-group, token chunk).
struct Split {
  int64_t heads_per_task, n_head_groups, tokens_per_task, n_token_chunks;
};

Split SplitOf(const AttentionArgs& a) {
  const int64_t group = a.n_head / a.n_head_kv;
  Split s;
  s.heads_per_task = std::min<int64_t>(group, kMaxRows);
  s.tokens_per_task = std::max<int64_t>(1, kMaxRows / s.heads_per_task);
  s.n_token_chunks = (a.n_tokens + s.tokens_per_task - 1) / s.tokens_per_task;
  // Too few tasks for the threads (decode with few kv heads): one head per task instead.
  if (a.n_head_kv * s.n_token_chunks * ((group + s.heads_per_task - 1) / s.heads_per_task) <
      2 * a.n_threads_hint) {
    s.heads_per_task = 1;
    s.tokens_per_task = std::min<int64_t>(kMaxRows, std::max<int64_t>(1, a.n_tokens));
    s.n_token_chunks = (a.n_tokens + s.tokens_per_task - 1) / s.tokens_per_task;
  }
  s.n_head_groups = (group + s.heads_per_task - 1) / s.heads_per_task;
  return s;
}

struct Scratch {
  std::vector<float> q;    // (kMaxRows, head_dim_k) the task's query rows, packed
  std::vector<float> acc;  // (kMaxRows, head_dim_v)
  float s[kMaxRows * kKeyBlock];  // (n_rows, n_keys) scores, then probabilities
};

}  // namespace

absl::Status CheckAttentionArgs(const AttentionArgs& a) {
  if (a.n_tokens < 0 || a.n_head <= 0 || a.n_head_kv <= 0 || a.n_head % a.n_head_kv != 0 ||
      a.head_dim_k <= 0 || a.head_dim_v <= 0 || a.window < 0 ||
      static_cast<int64_t>(a.kv.size()) != a.n_head_kv) {
    return absl::InvalidArgumentError(gguf::Cat(
        "attention: n_tokens=", a.n_tokens, " n_head=", a.n_head, " n_head_kv=", a.n_head_kv,
        " head_dim=", a.head_dim_k, "/", a.head_dim_v, " window=", a.window, " kv heads given=",
        a.kv.size()));
  }
  if (a.n_tokens > 0 && (a.q == nullptr || a.q_pos == nullptr || a.out == nullptr)) {
    return absl::InvalidArgumentError("attention: q, q_pos and out must not be null");
  }
  for (size_t h = 0; h < a.kv.size(); ++h) {
    const AttentionKv& kv = a.kv[h];
    if (kv.n < 0 || (kv.n > 0 && (kv.k == nullptr || kv.v == nullptr || kv.pos == nullptr ||
                                  kv.k_stride < a.head_dim_k || kv.v_stride < a.head_dim_v))) {
      return absl::InvalidArgumentError(gguf::Cat("attention: kv head ", h, " has n=", kv.n,
                                                  " strides ", kv.k_stride, "/", kv.v_stride));
    }
  }
  return absl::OkStatus();
}

int64_t AttentionTaskCount(const AttentionArgs& a) {
  if (a.n_tokens <= 0) return 0;
  const Split s = SplitOf(a);
  return a.n_head_kv * s.n_head_groups * s.n_token_chunks;
}

void AttentionRunTask(const AttentionArgs& a, int64_t task) {
  const Split sp = SplitOf(a);
  const int64_t chunk = task % sp.n_token_chunks;
  const int64_t hg = (task / sp.n_token_chunks) % sp.n_head_groups;
  const int64_t hk = task / (sp.n_token_chunks * sp.n_head_groups);
  const int64_t group = a.n_head / a.n_head_kv;
  const int64_t t0 = chunk * sp.tokens_per_task;
  const int64_t t1 = std::min(a.n_tokens, t0 + sp.tokens_per_task);
  const int64_t h0 = hk * group + hg * sp.heads_per_task;
  const int64_t h1 = std::min(hk * group + group, h0 + sp.heads_per_task);
  const int64_t nh = h1 - h0;
  const int n_rows = static_cast<int>((t1 - t0) * nh);
  const int64_t dk = a.head_dim_k, dv = a.head_dim_v;

  thread_local Scratch sc;
  if (sc.q.size() < static_cast<size_t>(kMaxRows * dk)) sc.q.resize(kMaxRows * dk);
  if (sc.acc.size() < static_cast<size_t>(kMaxRows * dv)) sc.acc.resize(kMaxRows * dv);
  // Row r = (t - t0) * nh + (h - h0).
  int32_t row_pos[kMaxRows];
  float m[kMaxRows], l[kMaxRows];
  int32_t pos_min = std::numeric_limits<int32_t>::max(), pos_max = std::numeric_limits<int32_t>::min();
  for (int64_t t = t0; t < t1; ++t) {
    for (int64_t h = h0; h < h1; ++h) {
      const int r = static_cast<int>((t - t0) * nh + (h - h0));
      std::copy_n(a.q + (t * a.n_head + h) * dk, dk, sc.q.data() + r * dk);
      row_pos[r] = a.q_pos[t];
    }
    pos_min = std::min(pos_min, a.q_pos[t]);
    pos_max = std::max(pos_max, a.q_pos[t]);
  }
  std::fill_n(m, n_rows, kNegInf);
  std::fill_n(l, n_rows, 0.0f);
  std::fill_n(sc.acc.data(), n_rows * dv, 0.0f);

  const cpu_detail::VecKernels& vk = cpu_detail::ActiveVecKernels();
  const AttentionKv& kv = a.kv[static_cast<size_t>(hk)];
  const int64_t w = a.window;
  // Visible iff pk <= p and (no window or p - pk < w); int64 so no difference overflows.
  auto visible = [w](int64_t p, int64_t pk) { return pk <= p && (w == 0 || p - pk < w); };
  for (int64_t kb = 0; kb < kv.n; kb += kKeyBlock) {
    const int nk = static_cast<int>(std::min<int64_t>(kKeyBlock, kv.n - kb));
    const int32_t* kpos = kv.pos + kb;
    const auto [bmin_it, bmax_it] = std::minmax_element(kpos, kpos + nk);
    const int64_t bmin = *bmin_it, bmax = *bmax_it;
    // Whole block hidden from every row: all in the future, or all out of the window.
    if (bmin > pos_max || (w > 0 && pos_min - bmax >= w)) continue;
    vk.scores(sc.q.data(), dk, n_rows, kv.k + kb * kv.k_stride, kv.k_stride, nk, dk, a.scale, sc.s);
    const bool all_visible = visible(pos_min, bmax) && visible(pos_max, bmin);
    for (int r = 0; r < n_rows; ++r) {
      float* s = sc.s + r * nk;
      if (!all_visible) {
        for (int j = 0; j < nk; ++j) {
          if (!visible(row_pos[r], kpos[j])) s[j] = kNegInf;
        }
      }
      const float bm = *std::max_element(s, s + nk);
      if (bm == kNegInf) {
        std::fill_n(s, nk, 0.0f);
        continue;
      }
      if (bm > m[r]) {
        const float c = m[r] == kNegInf ? 0.0f : std::exp(m[r] - bm);
        if (c != 1.0f) {
          float* acc = sc.acc.data() + r * dv;
          for (int64_t i = 0; i < dv; ++i) acc[i] *= c;
          l[r] *= c;
        }
        m[r] = bm;
      }
      l[r] += vk.exp_sub_sum(s, m[r], nk);
    }
    vk.accum(sc.s, nk, n_rows, nk, kv.v + kb * kv.v_stride, kv.v_stride, dv, sc.acc.data(), dv);
  }
  for (int64_t t = t0; t < t1; ++t) {
    for (int64_t h = h0; h < h1; ++h) {
      const int r = static_cast<int>((t - t0) * nh + (h - h0));
      float* out = a.out + (t * a.n_head + h) * dv;
      const float inv = l[r] > 0.0f ? 1.0f / l[r] : 0.0f;
      const float* acc = sc.acc.data() + r * dv;
      for (int64_t i = 0; i < dv; ++i) out[i] = acc[i] * inv;
    }
  }
}

absl::Status Attention(const AttentionArgs& args, backend::cpu::ThreadPool* pool) {
  if (absl::Status s = CheckAttentionArgs(args); !s.ok()) return s;
  const int64_t n_tasks = AttentionTaskCount(args);
  auto run = [&](int64_t task, int) { AttentionRunTask(args, task); };
  if (pool != nullptr && n_tasks > 1) {
    pool->ParallelFor(n_tasks, run);
  } else {
    for (int64_t t = 0; t < n_tasks; ++t) run(t, 0);
  }
  return absl::OkStatus();
}

}  // namespace cachewire::kernels
