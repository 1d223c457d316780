// kernels/attention.h against a naive double-precision softmax attention written here: GQA head
// mapping, causal and sliding-window masks from explicit (also non-contiguous) positions,
// entries in several 64-blocks, rows that see nothing, head_dim_v != head_dim_k, the thread pool.
#include "kernels/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace cachewire::kernels {
namespace {

struct Case {
  int64_t n_tokens, n_head, n_head_kv, dk, dv, n_entries, window;
  bool gaps;  // entry positions with holes (as after eviction)
};

void RunCase(const Case& c, backend::cpu::ThreadPool* pool) {
  std::mt19937 rng(static_cast<unsigned>(c.n_tokens * 131 + c.n_entries));
  std::normal_distribution<float> nd(0.0f, 1.0f);
  auto rnd = [&](int64_t n) {
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = nd(rng);
    return v;
  };
  // Entries: positions increasing (with gaps when asked); queries are the last n_tokens entries.
  std::vector<int32_t> pos(static_cast<size_t>(c.n_entries));
  int32_t p = 0;
  for (auto& e : pos) {
    e = p;
    p += c.gaps ? 1 + static_cast<int32_t>(rng() % 3) : 1;
  }
  std::vector<int32_t> q_pos(pos.end() - c.n_tokens, pos.end());
  const int64_t ks = c.dk + 4, vs = c.dv;  // a padded key stride
  std::vector<std::vector<float>> k, v;
  std::vector<AttentionKv> kv;
  for (int64_t h = 0; h < c.n_head_kv; ++h) {
    k.push_back(rnd(c.n_entries * ks));
    v.push_back(rnd(c.n_entries * vs));
  }
  for (int64_t h = 0; h < c.n_head_kv; ++h) {
    kv.push_back({k[h].data(), v[h].data(), pos.data(), c.n_entries, ks, vs});
  }
  const std::vector<float> q = rnd(c.n_tokens * c.n_head * c.dk);
  std::vector<float> out(static_cast<size_t>(c.n_tokens * c.n_head * c.dv), -7.0f);
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.dk));
  AttentionArgs a{.q = q.data(), .q_pos = q_pos.data(), .n_tokens = c.n_tokens,
                  .n_head = c.n_head, .n_head_kv = c.n_head_kv, .head_dim_k = c.dk,
                  .head_dim_v = c.dv, .scale = scale, .window = c.window, .kv = kv,
                  .out = out.data(), .n_threads_hint = pool ? pool->n_threads() : 1};
  ASSERT_TRUE(Attention(a, pool).ok());
  const int64_t group = c.n_head / c.n_head_kv;
  for (int64_t t = 0; t < c.n_tokens; ++t) {
    for (int64_t h = 0; h < c.n_head; ++h) {
      const int64_t hk = h / group;
      std::vector<double> s(static_cast<size_t>(c.n_entries), -INFINITY);
      double m = -INFINITY;
      for (int64_t j = 0; j < c.n_entries; ++j) {
        const int64_t d = int64_t{q_pos[t]} - pos[j];
        if (d < 0 || (c.window > 0 && d >= c.window)) continue;
        double dot = 0;
        for (int64_t i = 0; i < c.dk; ++i) dot += double{q[(t * c.n_head + h) * c.dk + i]} * k[hk][j * ks + i];
        s[j] = dot * scale;
        m = std::max(m, s[j]);
      }
      double z = 0;
      std::vector<double> o(static_cast<size_t>(c.dv), 0.0);
      for (int64_t j = 0; j < c.n_entries; ++j) {
        if (s[j] == -INFINITY) continue;
        const double e = std::exp(s[j] - m);
        z += e;
        for (int64_t i = 0; i < c.dv; ++i) o[i] += e * v[hk][j * vs + i];
      }
      for (int64_t i = 0; i < c.dv; ++i) {
        const double want = z > 0 ? o[i] / z : 0.0;
        ASSERT_NEAR(out[(t * c.n_head + h) * c.dv + i], want, 2e-5)
            << "token " << t << " head " << h << " dim " << i;
      }
    }
  }
}

TEST(AttentionTest, MatchesNaiveSoftmax) {
  backend::cpu::ThreadPool pool(2);
  const Case cases[] = {
      {1, 4, 4, 16, 16, 1, 0, false},     // first token, MHA
      {1, 8, 2, 64, 64, 200, 0, false},   // decode, GQA 4:1, several blocks
      {33, 4, 1, 32, 32, 33, 8, false},   // prefill, window 8
      {7, 4, 2, 32, 32, 150, 0, true},    // prefill after history, gapped positions
      {5, 6, 3, 40, 24, 70, 16, true},    // dv != dk, window over gaps
      {20, 64, 1, 16, 16, 90, 0, false},  // group of 64 heads (> a task's rows)
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "tokens " << c.n_tokens << " heads " << c.n_head << "/"
                                    << c.n_head_kv << " entries " << c.n_entries);
    RunCase(c, nullptr);
    RunCase(c, &pool);
  }
}

TEST(AttentionTest, RowThatSeesNothingIsZero) {
  // The only entry lies in the query's future.
  const std::vector<float> q(16, 1.0f), k(16, 1.0f), v(16, 3.0f);
  const std::vector<int32_t> pos = {5}, q_pos = {4};
  const AttentionKv kv{k.data(), v.data(), pos.data(), 1, 16, 16};
  std::vector<float> out(16, -1.0f);
  ASSERT_TRUE(Attention({.q = q.data(), .q_pos = q_pos.data(), .n_tokens = 1, .n_head = 1,
                         .n_head_kv = 1, .head_dim_k = 16, .head_dim_v = 16,
                         .kv = {&kv, 1}, .out = out.data()}, nullptr).ok());
  for (float x : out) EXPECT_EQ(x, 0.0f);
}

TEST(AttentionTest, BadArgsAreRejected) {
  std::vector<float> buf(64);
  const std::vector<int32_t> pos = {0};
  const AttentionKv kv{buf.data(), buf.data(), pos.data(), 1, 16, 16};
  AttentionArgs a{.q = buf.data(), .q_pos = pos.data(), .n_tokens = 1, .n_head = 3,
                  .n_head_kv = 2, .head_dim_k = 16, .head_dim_v = 16, .kv = {&kv, 1},
                  .out = buf.data()};
  EXPECT_FALSE(Attention(a, nullptr).ok());  // 2 does not divide 3
  a.n_head = 2;
  a.n_head_kv = 1;
  a.head_dim_k = 32;                         // stride 16 < head_dim
  EXPECT_FALSE(Attention(a, nullptr).ok());
}

}  // namespace
}  // namespace cachewire::kernels
