// The CUDA row gather against a host gather, bit for bit (strided rows, repeated indices,
// NaN payloads, infinities and -0 copied as bits, padding left alone); then the bounded cache's
// whole compaction on the device (key norms, eviction choice, gather, RoPE back-shift) against
// cache::KvRows doing the same on the CPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "engine/cache/eviction.h"
#include "engine/cache/kv_rows.h"
#include "kernels/rope.h"
#include "tests/kernels/cuda/cuda_twin_util.h"

namespace cachewire::kernels::cuda_testing {
namespace {

std::vector<uint32_t> Bits(const std::vector<float>& v) {
  std::vector<uint32_t> b(v.size());
  std::memcpy(b.data(), v.data(), v.size() * sizeof(float));
  return b;
}

TEST(CudaGatherRowsTest, MatchesHostGatherBitForBit) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  std::mt19937 rng(505);
  const int64_t n_src = 500, src_stride = 136, row_len = 128, n = 700, dst_stride = 144;
  std::vector<float> src = RandomFloats(static_cast<size_t>(n_src * src_stride), rng, -8.0f, 8.0f);
  src[3] = std::bit_cast<float>(uint32_t{0x7fc01234});  // a NaN with a payload
  src[5] = -std::numeric_limits<float>::infinity();
  src[src_stride + 1] = -0.0f;
  std::uniform_int_distribution<int32_t> any_row(0, static_cast<int32_t>(n_src - 1));
  std::vector<int32_t> idx(static_cast<size_t>(n));
  for (int32_t& i : idx) i = any_row(rng);  // repeats included
  idx[0] = 0;
  idx[1] = 1;
  idx[2] = static_cast<int32_t>(n_src - 1);
  idx[3] = -1;  // no such row: written as 0

  const float kPad = -3.5f;  // dst's gap between rows must stay as it was
  std::vector<float> expected(static_cast<size_t>(n * dst_stride), kPad);
  for (int64_t i = 0; i < n; ++i) {
    float* out = expected.data() + i * dst_stride;
    const int32_t from = idx[static_cast<size_t>(i)];
    if (from < 0) {
      std::fill(out, out + row_len, 0.0f);
    } else {
      std::copy_n(src.data() + from * src_stride, row_len, out);
    }
  }

  Buffer d_src = ToDevice(dev, src);
  Buffer d_idx = ToDevice(dev, idx);
  Buffer d_dst = ToDevice(dev, std::vector<float>(expected.size(), kPad));
  ASSERT_TRUE(dev.Run(CwGatherRowsArgs{.src = d_src.as<float>(),
                                       .src_stride = src_stride,
                                       .idx = d_idx.as<int32_t>(),
                                       .n = n,
                                       .row_len = row_len,
                                       .dst = d_dst.as<float>(),
                                       .dst_stride = dst_stride})
                  .ok());
  const std::vector<float> gpu = ToHost<float>(dev, d_dst, expected.size());
  const std::vector<uint32_t> got = Bits(gpu), want = Bits(expected);
  for (size_t e = 0; e < want.size(); ++e) {
    ASSERT_EQ(got[e], want[e]) << "dst row " << e / dst_stride << " column " << e % dst_stride;
  }
}

// One bounded layer of 2 kv heads compacted on the device the way KvRows::Compact does it: the
// device's norms equal KvRows' (bit for bit), its kept slots equal ChooseKept's, and the kept
// rows, gathered and turned back by their move (position j - kept[j]), equal KvRows' moved and
// re-rotated keys within the RoPE twin bound (rope_twin_test.cc), values bit for bit.
TEST(CudaGatherRowsTest, CompactionMatchesKvRows) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  std::mt19937 rng(506);
  cache::KvCacheShape shape;
  shape.n_layer = 1;
  shape.n_head_kv = 2;
  shape.head_dim_k = 64;
  shape.head_dim_v = 40;
  shape.n_ctx = std::numeric_limits<int64_t>::max();
  const int64_t n = 1500, dk = shape.head_dim_k, dv = shape.head_dim_v;
  const std::vector<float> factors = RandomFloats(24, rng, 1.0f, 4.0f);
  RopeParams rope;
  rope.layout = RopeLayout::kNeox;
  rope.n_rot = 48;  // keys' last 16 dims pass through
  rope.freq_base = 10000.0f;
  rope.freq_scale = 0.5f;
  rope.freq_factors = factors.data();
  cache::KvRows rows(shape, rope, /*window=*/0, /*cap=*/n);
  const std::vector<float> k = RandomFloats(static_cast<size_t>(n * shape.n_head_kv * dk), rng);
  const std::vector<float> v = RandomFloats(static_cast<size_t>(n * shape.n_head_kv * dv), rng);
  rows.Write(n, k.data(), v.data(), /*token0=*/0, /*pos0=*/0);
  rows.n = n;

  const int64_t n_keep = 900, n_head = 4, n_tail = 256;
  Buffer d_factors = ToDevice(dev, factors);
  for (int64_t h = 0; h < shape.n_head_kv; ++h) {
    SCOPED_TRACE("head " + std::to_string(h));
    const cache::KvHeadView view = rows.View(h);
    const std::vector<float> k_h(view.k, view.k + n * dk), v_h(view.v, view.v + n * dv);
    const std::vector<float> norms_twin(rows.Norms(h), rows.Norms(h) + n);

    Buffer d_k = ToDevice(dev, k_h);
    Buffer d_v = ToDevice(dev, v_h);
    Buffer d_norms = DeviceZeros<float>(dev, static_cast<size_t>(n));
    ASSERT_TRUE(dev.Run(CwKeyNormsArgs{.k = d_k.as<float>(),
                                       .n = n,
                                       .k_stride = dk,
                                       .head_dim = dk,
                                       .norms = d_norms.as<float>()})
                    .ok());
    ASSERT_EQ(Bits(ToHost<float>(dev, d_norms, static_cast<size_t>(n))), Bits(norms_twin));

    Buffer d_kept = DeviceZeros<int32_t>(dev, static_cast<size_t>(n));
    Buffer d_n_kept = DeviceZeros<int64_t>(dev, 1);
    ASSERT_TRUE(dev.Run(CwEvictSelectArgs{.key_norm = d_norms.as<float>(),
                                          .n_entries = n,
                                          .n_keep = n_keep,
                                          .n_head = n_head,
                                          .n_tail = n_tail,
                                          .kept = d_kept.as<int32_t>(),
                                          .n_kept = d_n_kept.as<int64_t>()})
                    .ok());
    const int64_t n_kept = ToHost<int64_t>(dev, d_n_kept, 1)[0];
    ASSERT_EQ(n_kept, n_keep);
    const std::vector<int32_t> kept = ToHost<int32_t>(dev, d_kept, static_cast<size_t>(n_kept));
    cache::EvictionArgs ev;
    ev.n_entries = n;
    ev.n_keep = n_keep;
    ev.n_head = n_head;
    ev.n_tail = n_tail;
    ev.key_norm = norms_twin.data();
    std::vector<int32_t> kept_twin, order;
    cache::ChooseKept(ev, &kept_twin, &order);
    ASSERT_EQ(kept, kept_twin);

    Buffer d_k_out = DeviceZeros<float>(dev, static_cast<size_t>(n_kept * dk));
    Buffer d_v_out = DeviceZeros<float>(dev, static_cast<size_t>(n_kept * dv));
    ASSERT_TRUE(dev.Run(CwGatherRowsArgs{.src = d_k.as<float>(),
                                         .src_stride = dk,
                                         .idx = d_kept.as<int32_t>(),
                                         .n = n_kept,
                                         .row_len = dk,
                                         .dst = d_k_out.as<float>(),
                                         .dst_stride = dk})
                    .ok());
    ASSERT_TRUE(dev.Run(CwGatherRowsArgs{.src = d_v.as<float>(),
                                         .src_stride = dv,
                                         .idx = d_kept.as<int32_t>(),
                                         .n = n_kept,
                                         .row_len = dv,
                                         .dst = d_v_out.as<float>(),
                                         .dst_stride = dv})
                    .ok());
    // Slot kept[j] lands at j: its key turns by j - kept[j] positions.
    std::vector<int32_t> shift(static_cast<size_t>(n_kept));
    int64_t max_back = 0;
    for (size_t j = 0; j < shift.size(); ++j) {
      shift[j] = static_cast<int32_t>(j) - kept[j];
      max_back = std::max<int64_t>(max_back, -shift[j]);
    }
    Buffer d_shift = ToDevice(dev, shift);
    ASSERT_TRUE(dev.Run(CwRopeArgs{.x = d_k_out.as<float>(),
                                   .pos = d_shift.as<int32_t>(),
                                   .shift = 0,
                                   .n_tokens = n_kept,
                                   .n_heads = 1,
                                   .head_dim = dk,
                                   .neox = 1,
                                   .n_rot = rope.n_rot,
                                   .freq_base = rope.freq_base,
                                   .freq_scale = rope.freq_scale,
                                   .freq_factors = d_factors.as<float>()})
                    .ok());
    ASSERT_GT(max_back, 0);  // the case moves rows

    RopeTable table;
    ASSERT_TRUE(rows.BuildBackShiftTable(max_back, &table).ok());
    ASSERT_TRUE(rows.Compact(h, kept_twin, table).ok());
    const cache::KvHeadView after = rows.View(h);
    const std::vector<float> k_twin(after.k, after.k + n_kept * dk);
    const std::vector<float> v_twin(after.v, after.v + n_kept * dv);
    EXPECT_TRUE(AllClose(ToHost<float>(dev, d_k_out, k_twin.size()), k_twin, 1e-7, 1e-6));
    EXPECT_EQ(Bits(ToHost<float>(dev, d_v_out, v_twin.size())), Bits(v_twin));
  }
}

TEST(CudaGatherRowsTest, RefusesBadArgumentsNamingTheField) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  Buffer src = DeviceZeros<float>(dev, 4 * 8);
  Buffer idx = DeviceZeros<int32_t>(dev, 4);
  Buffer dst = DeviceZeros<float>(dev, 4 * 8);
  const CwGatherRowsArgs good{.src = src.as<float>(),
                              .src_stride = 8,
                              .idx = idx.as<int32_t>(),
                              .n = 4,
                              .row_len = 8,
                              .dst = dst.as<float>(),
                              .dst_stride = 8};
  ASSERT_TRUE(dev.Run(good).ok());
  auto expect_refused = [&dev](const CwGatherRowsArgs& args, const char* field) {
    const absl::Status s = dev.Run(args);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << field << ": " << s;
    EXPECT_NE(s.message().find(field), std::string::npos) << s;
  };
  CwGatherRowsArgs a = good;
  a.n = -1;
  expect_refused(a, "gather_rows: n");
  a = good;
  a.row_len = -1;
  expect_refused(a, "gather_rows: row_len");
  a = good;
  a.src_stride = 7;
  expect_refused(a, "gather_rows: src_stride");
  a = good;
  a.dst_stride = 7;
  expect_refused(a, "gather_rows: dst_stride");
  a = good;
  a.idx = nullptr;
  expect_refused(a, "gather_rows: src, idx or dst");
  a = good;
  a.dst = nullptr;
  expect_refused(a, "gather_rows: src, idx or dst");
}

}  // namespace
}  // namespace cachewire::kernels::cuda_testing
