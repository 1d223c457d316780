// The wire form of a latent summary, without a worker: f32 -> f16 rounding (every f16 value
// survives a round trip, ties go to even, overflow becomes infinity), splitting a summary into
// chunks and reassembling it, and each malformed chunk refused naming its field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "kernels/quant_blocks.h"
#include "server/worker/f16_wire.h"
#include "server/worker/summary_chunks.h"

namespace cachewire::server::worker {
namespace {

using ::testing::HasSubstr;

TEST(F16WireTest, EveryFiniteHalfSurvivesARoundTrip) {
  for (uint32_t h = 0; h < 0x10000u; ++h) {
    if ((h & 0x7c00u) == 0x7c00u) continue;  // infinities and NaN
    const float f = kernels::Fp16ToFp32(static_cast<uint16_t>(h));
    ASSERT_EQ(Fp32ToFp16(f), h) << "f16 0x" << std::hex << h << " = " << f;
  }
}

TEST(F16WireTest, RoundsToNearestEvenAndSaturatesToInfinity) {
  EXPECT_EQ(Fp32ToFp16(1.0f), 0x3c00u);
  EXPECT_EQ(Fp32ToFp16(-2.0f), 0xc000u);
  // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties to the even mantissa (1).
  EXPECT_EQ(Fp32ToFp16(1.0f + std::ldexp(1.0f, -11)), 0x3c00u);
  // 1 + 3 * 2^-11 lies halfway between 1 + 2^-10 (odd) and 1 + 2^-9: up.
  EXPECT_EQ(Fp32ToFp16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02u);
  EXPECT_EQ(Fp32ToFp16(65504.0f), 0x7bffu);   // the largest f16
  EXPECT_EQ(Fp32ToFp16(65519.0f), 0x7bffu);   // still rounds down
  EXPECT_EQ(Fp32ToFp16(65520.0f), 0x7c00u);   // halfway: to even, which is infinity
  EXPECT_EQ(Fp32ToFp16(-1e9f), 0xfc00u);
  EXPECT_EQ(Fp32ToFp16(std::ldexp(1.0f, -24)), 0x0001u);  // the smallest subnormal
  EXPECT_EQ(Fp32ToFp16(std::ldexp(1.0f, -26)), 0x0000u);  // below half of it
  EXPECT_EQ(Fp32ToFp16(-0.0f), 0x8000u);
  const uint16_t nan = Fp32ToFp16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7c00u, 0x7c00u);
  EXPECT_NE(nan & 0x03ffu, 0u);
}

TEST(F16WireTest, AppendAndDecodeReportTheFirstNonFiniteValue) {
  std::string bytes;
  EXPECT_EQ(AppendF16(std::vector<float>{0.5f, -3.0f}, &bytes), -1);
  EXPECT_EQ(AppendF16(std::vector<float>{1.0f, 1e6f, NAN}, &bytes), 1);
  ASSERT_EQ(bytes.size(), 10u);
  EXPECT_EQ(bytes[0], '\x00');  // 0.5 = 0x3800, low byte first
  EXPECT_EQ(bytes[1], '\x38');
  float out[5];
  EXPECT_EQ(DecodeF16(bytes, out), 3);
  EXPECT_EQ(out[0], 0.5f);
  EXPECT_EQ(out[1], -3.0f);
  EXPECT_TRUE(std::isinf(out[3]));
  EXPECT_TRUE(std::isnan(out[4]));
}

const SummaryShape kShape{"a--b", 5, 3};

std::vector<float> Values() {
  std::vector<float> v;
  for (int i = 0; i < 15; ++i) v.push_back(0.25f * static_cast<float>(i) - 1.0f);
  return v;
}

std::vector<cachewire::v1::SummaryChunk> Chunks(int32_t per_chunk) {
  auto chunks = SplitSummary(kShape, Values(), per_chunk);
  EXPECT_TRUE(chunks.ok()) << chunks.status();
  return chunks.ok() ? *chunks : std::vector<cachewire::v1::SummaryChunk>{};
}

TEST(SummaryChunksTest, SplitThenAssembleGivesTheSlotsBack) {
  const auto chunks = Chunks(2);  // slots 0-1, 2-3, 4
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[2].first_slot(), 4);
  EXPECT_EQ(chunks[2].slot_count(), 1);
  EXPECT_TRUE(chunks[2].last());
  EXPECT_FALSE(chunks[1].last());
  SummaryAssembler assembler(kShape, "s_1");
  for (const auto& c : chunks) {
    EXPECT_FALSE(assembler.complete());
    ASSERT_TRUE(assembler.Add(c).ok());
  }
  EXPECT_TRUE(assembler.complete());
  EXPECT_EQ(assembler.bytes(), 5 * 3 * 2);
  EXPECT_EQ(assembler.TakeSlots(), Values());  // quarters are exact in f16
}

TEST(SummaryChunksTest, ValueBeyondHalfRangeIsRefusedByTheExporter) {
  std::vector<float> values = Values();
  values[7] = 1e5f;
  const auto chunks = SplitSummary(kShape, values, 2);
  EXPECT_EQ(chunks.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(chunks.status().message(), HasSubstr("slot 2 value 1"));
}

TEST(SummaryChunksTest, EachMalformedChunkNamesItsField) {
  using Chunk = cachewire::v1::SummaryChunk;
  struct Case {
    std::function<void(std::vector<Chunk>&)> mutate;
    const char* field;
  };
  const Case cases[] = {
      {[](auto& c) { c[1].set_seq(2); }, "seq: expected 1, got 2"},
      {[](auto& c) { c[1].set_session_id("s_2"); }, "session_id"},
      {[](auto& c) { c[1].set_adapter("x"); }, "adapter"},
      {[](auto& c) { c[0].set_n_slots(4); }, "n_slots"},
      {[](auto& c) { c[2].set_slot_dim(2); }, "slot_dim"},
      {[](auto& c) { c[1].set_first_slot(3); }, "first_slot: expected 2"},
      {[](auto& c) { c[1].set_slot_count(0); }, "slot_count"},
      {[](auto& c) { c[2].set_slot_count(2); }, "slot_count"},
      {[](auto& c) { c[0].mutable_slots()->append("xx"); }, "slots: must hold"},
      {[](auto& c) { (*c[0].mutable_slots())[1] = '\x7c'; }, "slots: slot 0 value 0 is inf"},
      {[](auto& c) { c[0].set_last(true); }, "last"},
      {[](auto& c) { c[2].set_last(false); }, "last"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.field);
    std::vector<Chunk> chunks = Chunks(2);
    c.mutate(chunks);
    SummaryAssembler assembler(kShape, "s_1");
    absl::Status status;
    for (const Chunk& chunk : chunks) {
      status = assembler.Add(chunk);
      if (!status.ok()) break;
    }
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_THAT(status.message(), HasSubstr(c.field));
    EXPECT_FALSE(assembler.complete() && status.ok());
  }
}

TEST(SummaryChunksTest, NothingIsAcceptedAfterTheLastChunk) {
  const auto chunks = Chunks(5);
  ASSERT_EQ(chunks.size(), 1u);
  SummaryAssembler assembler(kShape, "s_1");
  ASSERT_TRUE(assembler.Add(chunks[0]).ok());
  cachewire::v1::SummaryChunk extra = chunks[0];
  extra.set_seq(1);
  const absl::Status status = assembler.Add(extra);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("seq: chunk after the last one"));
}

// A per-token adapter's stream declares its own slot count (1 to the adapter's most) in its first
// chunk and must keep it.
TEST(SummaryChunksTest, PerTokenStreamsDeclareTheirCountWithinTheMost) {
  const SummaryShape most{"a--b", 8, 3, /*per_token=*/true};
  SummaryAssembler assembler(most, "s_1");
  for (const auto& c : Chunks(2)) ASSERT_TRUE(assembler.Add(c).ok());  // 5 of at most 8
  ASSERT_TRUE(assembler.complete());
  EXPECT_EQ(assembler.TakeSlots(), Values());

  const SummaryShape fewer{"a--b", 4, 3, /*per_token=*/true};
  SummaryAssembler too_many(fewer, "s_1");
  absl::Status status = too_many.Add(Chunks(2)[0]);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("n_slots: adapter 'a--b' takes 1 to 4 slots, got 5"));

  std::vector<cachewire::v1::SummaryChunk> chunks = Chunks(2);
  chunks[1].set_n_slots(6);
  SummaryAssembler changed(most, "s_1");
  ASSERT_TRUE(changed.Add(chunks[0]).ok());
  status = changed.Add(chunks[1]);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("n_slots: the stream declared 5 slots, got 6"));

  // A pooling adapter's count is its own, never the stream's.
  SummaryAssembler pooled(SummaryShape{"a--b", 8, 3}, "s_1");
  status = pooled.Add(Chunks(2)[0]);
  EXPECT_THAT(status.message(), HasSubstr("n_slots: adapter 'a--b' has 8 slots, got 5"));
}

}  // namespace
}  // namespace cachewire::server::worker
