// The CUDA attention against its CPU twin (kernels::Attention) on the same host caches, built
// the way a bounded cache holds them: per kv head its own entry count, sinks, pinned entries
// (some sharing a position), a recent window with holes stored as a rotated ring, the block's
// own tokens last, and on odd kv heads every entry shuffled; rows padded past the head dims
// with NaN, so a read past head_dim poisons the result.
//
// Bound: abs 1e-5 + rel 1e-4. Both sides are f32 with the same maths, but they sum the dot
// products in different orders (a warp butterfly against SIMD lanes), use different exps
// (expf against a polynomial of ~1 ulp) and rescale at different moments (per entry against
// per block of 64); each leaves errors of a few ulp in scores and weights, ~1e-6 on outputs of
// magnitude <= 1. A wrongly masked or dropped entry moves an output by about |v| / n_visible,
// still ~1e-4 at the largest entry count here (4000), ten times the bound.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "kernels/attention.h"
#include "tests/kernels/cuda/cuda_twin_util.h"

namespace cachewire::kernels::cuda_testing {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

struct Case {
  const char* name;
  int64_t n_tokens, n_head, n_head_kv, dk, dv;
  int64_t n_entries;  // of kv head 0; head hk holds n_entries + 37 * hk
  int64_t window;
  bool empty_head = false;   // the last kv head holds no entry
  bool blind_query = false;  // token 0 sits before every entry, so it sees nothing
};

// One kv head's entries on the host.
struct HostKv {
  std::vector<float> k;      // (n, k_stride), NaN past head_dim_k
  std::vector<float> v;      // (n, v_stride), NaN past head_dim_v
  std::vector<int32_t> pos;  // (n)
  int64_t n = 0, k_stride = 0, v_stride = 0;
};

// Positions of n entries for queries at [p0, p0 + n_tokens): the block's own tokens (last),
// 4 sinks from base, a few pinned entries in the middle (one in four repeating another's
// position), and a recent window with holes just below p0 in ring order.
std::vector<int32_t> BoundedCachePositions(int64_t n, int64_t n_tokens, int32_t base, int32_t p0,
                                           bool shuffle_all, std::mt19937& rng) {
  std::vector<int32_t> own, sinks, pinned, recent;
  const int64_t n_own = std::min(n, n_tokens);
  for (int64_t i = n_tokens - n_own; i < n_tokens; ++i) own.push_back(p0 + static_cast<int32_t>(i));
  const int64_t n_hist = n - n_own;
  const int64_t n_sinks = std::min<int64_t>(4, n_hist);
  const int64_t n_pinned = (n_hist - n_sinks) / 8;
  const int64_t n_recent = n_hist - n_sinks - n_pinned;
  for (int64_t i = 0; i < n_sinks; ++i) sinks.push_back(base + static_cast<int32_t>(i));
  int32_t p = p0;
  for (int64_t i = 0; i < n_recent; ++i) {
    p -= 1 + static_cast<int32_t>(rng() % 2);
    recent.push_back(p);
  }
  std::reverse(recent.begin(), recent.end());
  if (!recent.empty()) {
    std::rotate(recent.begin(), recent.begin() + rng() % recent.size(), recent.end());
  }
  // Pinned entries lie between the sinks and the oldest recent one.
  const int32_t lo = base + 4, hi = std::max(lo + 1, p);
  for (int64_t i = 0; i < n_pinned; ++i) {
    pinned.push_back(i % 4 == 3 ? pinned[i - 1] : lo + static_cast<int32_t>(rng() % (hi - lo)));
  }
  std::shuffle(pinned.begin(), pinned.end(), rng);
  std::vector<int32_t> pos = sinks;
  pos.insert(pos.end(), pinned.begin(), pinned.end());
  pos.insert(pos.end(), recent.begin(), recent.end());
  pos.insert(pos.end(), own.begin(), own.end());
  if (shuffle_all) std::shuffle(pos.begin(), pos.end(), rng);
  return pos;
}

HostKv MakeKv(int64_t n, int64_t k_stride, int64_t v_stride, int64_t dk, int64_t dv,
              std::vector<int32_t> pos, std::mt19937& rng) {
  HostKv kv;
  kv.n = n;
  kv.k_stride = k_stride;
  kv.v_stride = v_stride;
  kv.pos = std::move(pos);
  kv.k = RandomFloats(static_cast<size_t>(n * k_stride), rng);
  kv.v = RandomFloats(static_cast<size_t>(n * v_stride), rng);
  for (int64_t j = 0; j < n; ++j) {
    std::fill(kv.k.begin() + j * k_stride + dk, kv.k.begin() + (j + 1) * k_stride, kNaN);
    std::fill(kv.v.begin() + j * v_stride + dv, kv.v.begin() + (j + 1) * v_stride, kNaN);
  }
  return kv;
}

void RunCase(const CudaDevice& dev, const Case& c) {
  SCOPED_TRACE(c.name);
  std::mt19937 rng(static_cast<unsigned>(c.n_tokens * 7919 + c.n_entries * 31 + c.dk + c.window));
  const int64_t n_max = c.n_entries + 37 * (c.n_head_kv - 1);
  // Room below p0 for the recent windows (<= 2 positions an entry) and the pinned entries.
  const int32_t base = 100;
  const int32_t p0 = base + 16 + static_cast<int32_t>(3 * n_max);

  std::vector<HostKv> host(static_cast<size_t>(c.n_head_kv));
  for (int64_t hk = 0; hk < c.n_head_kv; ++hk) {
    const bool empty = c.empty_head && hk == c.n_head_kv - 1;
    const int64_t n = empty ? 0 : c.n_entries + 37 * hk;
    host[hk] = MakeKv(n, c.dk + 3 + hk, c.dv + 5, c.dk, c.dv,
                      BoundedCachePositions(n, c.n_tokens, base, p0, hk % 2 == 1, rng), rng);
  }
  std::vector<int32_t> q_pos(static_cast<size_t>(c.n_tokens));
  for (int64_t t = 0; t < c.n_tokens; ++t) q_pos[t] = p0 + static_cast<int32_t>(t);
  if (c.blind_query) q_pos[0] = base - 1;
  const std::vector<float> q =
      RandomFloats(static_cast<size_t>(c.n_tokens * c.n_head * c.dk), rng, -2.0f, 2.0f);
  const size_t n_out = static_cast<size_t>(c.n_tokens * c.n_head * c.dv);
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.dk));

  // CPU twin.
  std::vector<AttentionKv> cpu_kv;
  for (const HostKv& h : host) {
    cpu_kv.push_back({h.k.data(), h.v.data(), h.pos.data(), h.n, h.k_stride, h.v_stride});
  }
  std::vector<float> cpu(n_out, kNaN);
  ASSERT_TRUE(Attention({.q = q.data(),
                         .q_pos = q_pos.data(),
                         .n_tokens = c.n_tokens,
                         .n_head = c.n_head,
                         .n_head_kv = c.n_head_kv,
                         .head_dim_k = c.dk,
                         .head_dim_v = c.dv,
                         .scale = scale,
                         .window = c.window,
                         .kv = cpu_kv,
                         .out = cpu.data()},
                        nullptr)
                  .ok());

  // The same caches on the device; the records themselves go up too (the kernel reads them).
  std::vector<Buffer> bufs;
  std::vector<CwAttentionKv> recs;
  for (const HostKv& h : host) {
    CwAttentionKv r{nullptr, nullptr, nullptr, h.n, h.k_stride, h.v_stride};
    if (h.n > 0) {
      bufs.push_back(ToDevice(dev, h.k));
      r.k = bufs.back().as<float>();
      bufs.push_back(ToDevice(dev, h.v));
      r.v = bufs.back().as<float>();
      bufs.push_back(ToDevice(dev, h.pos));
      r.pos = bufs.back().as<int32_t>();
    }
    recs.push_back(r);
  }
  Buffer d_recs = ToDevice(dev, recs);
  Buffer d_q = ToDevice(dev, q), d_qpos = ToDevice(dev, q_pos);
  Buffer d_out = ToDevice(dev, std::vector<float>(n_out, kNaN));  // unwritten stays NaN
  const absl::Status run = dev.Run(CwAttentionArgs{.q = d_q.as<float>(),
                                                   .q_pos = d_qpos.as<int32_t>(),
                                                   .n_tokens = c.n_tokens,
                                                   .n_head = c.n_head,
                                                   .n_head_kv = c.n_head_kv,
                                                   .head_dim_k = c.dk,
                                                   .head_dim_v = c.dv,
                                                   .scale = scale,
                                                   .window = c.window,
                                                   .kv = d_recs.as<CwAttentionKv>(),
                                                   .out = d_out.as<float>()});
  ASSERT_TRUE(run.ok()) << run;
  const std::vector<float> gpu = ToHost<float>(dev, d_out, n_out);
  EXPECT_TRUE(AllClose(gpu, cpu, 1e-5, 1e-4));

  // Rows that see nothing are exactly 0 on both sides (AllClose alone would allow 1e-5).
  const int64_t group = c.n_head / c.n_head_kv;
  for (int64_t t = 0; t < c.n_tokens; ++t) {
    for (int64_t h = 0; h < c.n_head; ++h) {
      const bool blind = (c.blind_query && t == 0) || host[h / group].n == 0;
      if (!blind) continue;
      for (int64_t i = 0; i < c.dv; ++i) {
        const size_t at = static_cast<size_t>((t * c.n_head + h) * c.dv + i);
        ASSERT_EQ(gpu[at], 0.0f) << "token " << t << " head " << h << " dim " << i;
        ASSERT_EQ(cpu[at], 0.0f) << "token " << t << " head " << h << " dim " << i;
      }
    }
  }
}

TEST(CudaAttentionTest, MatchesCpuTwin) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  const Case cases[] = {
      {"decode MHA 64", 1, 8, 8, 64, 64, 300, 0},
      {"decode GQA 128", 1, 8, 2, 128, 128, 1000, 0},
      {"decode GQA 256 window", 1, 8, 2, 256, 256, 700, 96},
      {"decode GQA 128 few thousand", 1, 8, 2, 128, 128, 4000, 0},
      {"decode GQA 128 few thousand window", 1, 8, 2, 128, 128, 3000, 1024},
      {"prefill GQA 128", 200, 8, 2, 128, 128, 600, 0},
      {"prefill MHA dk 128 dv 64 window", 64, 4, 4, 128, 64, 300, 48},
      {"prefill GQA dk 64 dv 128", 33, 8, 2, 64, 128, 150, 0},
      {"prefill GQA 256 window", 40, 8, 2, 256, 256, 500, 200},
      {"odd head dims 40/24", 9, 6, 3, 40, 24, 130, 16},
      {"first tokens, cache holds only them", 17, 8, 2, 128, 128, 17, 0},
      {"blind query and an empty kv head", 5, 8, 4, 64, 64, 120, 0, true, true},
      {"blind decode, window", 1, 8, 2, 128, 128, 200, 32, false, true},
  };
  for (const Case& c : cases) RunCase(dev, c);
}

// A small valid call whose fields the refusal test breaks one at a time.
struct Small {
  Buffer q, q_pos, k, v, pos, recs, out;
  CwAttentionArgs args{};
};

Small MakeSmall(const CudaDevice& dev) {
  std::mt19937 rng(7);
  Small s;
  s.q = ToDevice(dev, RandomFloats(2 * 64, rng));
  s.q_pos = ToDevice(dev, std::vector<int32_t>{3});
  s.k = ToDevice(dev, RandomFloats(4 * 64, rng));
  s.v = ToDevice(dev, RandomFloats(4 * 64, rng));
  s.pos = ToDevice(dev, std::vector<int32_t>{0, 1, 2, 3});
  s.recs = ToDevice(dev, std::vector<CwAttentionKv>{
                             {s.k.as<float>(), s.v.as<float>(), s.pos.as<int32_t>(), 4, 64, 64}});
  s.out = DeviceZeros<float>(dev, 2 * 64);
  s.args = CwAttentionArgs{.q = s.q.as<float>(),
                           .q_pos = s.q_pos.as<int32_t>(),
                           .n_tokens = 1,
                           .n_head = 2,
                           .n_head_kv = 1,
                           .head_dim_k = 64,
                           .head_dim_v = 64,
                           .scale = 0.125f,
                           .window = 0,
                           .kv = s.recs.as<CwAttentionKv>(),
                           .out = s.out.as<float>()};
  return s;
}

TEST(CudaAttentionTest, RefusesBadArgumentsNamingTheField) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  const Small s = MakeSmall(dev);
  ASSERT_TRUE(dev.Run(s.args).ok());
  struct Bad {
    const char* field;
    void (*breaks)(CwAttentionArgs&);
  };
  const Bad bad[] = {
      {"attention: n_tokens", [](CwAttentionArgs& a) { a.n_tokens = -1; }},
      {"attention: n_head",
       [](CwAttentionArgs& a) {
         a.n_head = 3;
         a.n_head_kv = 2;
       }},
      {"attention: n_head", [](CwAttentionArgs& a) { a.n_head = 0; }},
      {"attention: n_head_kv", [](CwAttentionArgs& a) { a.n_head_kv = 0; }},
      {"attention: head_dim_k", [](CwAttentionArgs& a) { a.head_dim_k = 0; }},
      {"attention: head_dim_k", [](CwAttentionArgs& a) { a.head_dim_k = 257; }},
      {"attention: head_dim_v", [](CwAttentionArgs& a) { a.head_dim_v = -4; }},
      {"attention: head_dim_v", [](CwAttentionArgs& a) { a.head_dim_v = 512; }},
      {"attention: window", [](CwAttentionArgs& a) { a.window = -1; }},
      {"attention: q is null", [](CwAttentionArgs& a) { a.q = nullptr; }},
      {"attention: q_pos", [](CwAttentionArgs& a) { a.q_pos = nullptr; }},
      {"attention: kv", [](CwAttentionArgs& a) { a.kv = nullptr; }},
      {"attention: out", [](CwAttentionArgs& a) { a.out = nullptr; }},
  };
  for (const Bad& b : bad) {
    CwAttentionArgs a = s.args;
    b.breaks(a);
    const absl::Status st = dev.Run(a);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << b.field << ": " << st;
    EXPECT_NE(st.message().find(b.field), std::string::npos) << st;
  }
  // No tokens: nothing to do, even without buffers.
  CwAttentionArgs none = s.args;
  none.n_tokens = 0;
  none.q = nullptr;
  none.out = nullptr;
  EXPECT_TRUE(dev.Run(none).ok());
}

// The host cannot read the records (device memory); a record the kernel finds inconsistent
// turns its heads' rows into NaN instead of reading out of bounds.
TEST(CudaAttentionTest, BadKvRecordGivesNaNRows) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  Small s = MakeSmall(dev);
  const std::vector<CwAttentionKv> short_stride = {
      {s.k.as<float>(), s.v.as<float>(), s.pos.as<int32_t>(), 4, 32, 64}};
  s.recs = ToDevice(dev, short_stride);
  s.args.kv = s.recs.as<CwAttentionKv>();
  ASSERT_TRUE(dev.Run(s.args).ok());
  for (float x : ToHost<float>(dev, s.out, 2 * 64)) ASSERT_TRUE(std::isnan(x));
}

// A NaN in a query row stays in that row's output (a fault upstream must not read as 0).
TEST(CudaAttentionTest, NaNQueryGivesNaNRow) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  Small s = MakeSmall(dev);
  std::mt19937 rng(11);
  std::vector<float> q = RandomFloats(2 * 64, rng);
  q[5] = kNaN;  // head 0
  s.q = ToDevice(dev, q);
  s.args.q = s.q.as<float>();
  ASSERT_TRUE(dev.Run(s.args).ok());
  const std::vector<float> out = ToHost<float>(dev, s.out, 2 * 64);
  for (int i = 0; i < 64; ++i) EXPECT_TRUE(std::isnan(out[i])) << i;
  for (int i = 64; i < 128; ++i) EXPECT_TRUE(std::isfinite(out[i])) << i;
}

}  // namespace
}  // namespace cachewire::kernels::cuda_testing
