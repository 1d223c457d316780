// Dequantisation against the golden files of tools/reference/make_dequant_golden.py (numpy
// reference): bit-exact for F32/F16/BF16, within 1e-6 relative for the quantised types (both
// sides compute in f32; only FMA contraction could differ). Also exhaustive f16 conversion
// checks and the argument errors.
#include "engine/gguf/dequantize.h"

#include <bit>
#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cachewire::gguf {
namespace {

using ::testing::HasSubstr;

const std::string kGoldenDir = std::string(CACHEWIRE_SOURCE_DIR) + "/tests/engine/gguf/golden/";

std::vector<uint8_t> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::optional<TensorType> TypeByName(const std::string& name) {
  for (uint32_t id = 0; id < 64; ++id) {
    std::optional<TensorTypeTraits> t = TraitsOf(id);
    if (t && t->name == name) return static_cast<TensorType>(id);
  }
  return std::nullopt;
}

TEST(Dequantize, MatchesNumpyGolden) {
  std::ifstream manifest(kGoldenDir + "manifest.txt");
  ASSERT_TRUE(manifest.good());
  std::string line;
  int n_types = 0;
  while (std::getline(manifest, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string name;
    int64_t n = 0;
    fields >> name >> n;
    SCOPED_TRACE(name);
    const std::optional<TensorType> type = TypeByName(name);
    ASSERT_TRUE(type.has_value());
    std::string stem = name;
    for (char& c : stem) c = static_cast<char>(std::tolower(c));
    const std::vector<uint8_t> raw = ReadAll(kGoldenDir + stem + ".bin");
    const std::vector<uint8_t> want_bytes = ReadAll(kGoldenDir + stem + ".f32");
    ASSERT_EQ(raw.size(), *RowBytes(*type, n));
    ASSERT_EQ(want_bytes.size(), static_cast<size_t>(n) * 4);
    std::vector<float> want(static_cast<size_t>(n));
    std::memcpy(want.data(), want_bytes.data(), want_bytes.size());

    // Whole buffer as one row, and block by block (rows of one block each).
    std::vector<float> got(static_cast<size_t>(n), -12345.0f);
    ASSERT_TRUE(Dequantize(*type, raw, got).ok());
    const int64_t block = TraitsOf(static_cast<uint32_t>(*type))->block_elems;
    const size_t block_bytes = TraitsOf(static_cast<uint32_t>(*type))->block_bytes;
    std::vector<float> by_block(static_cast<size_t>(n));
    for (int64_t b = 0; b < n / block; ++b) {
      ASSERT_TRUE(
          DequantizeRow(*type, raw.data() + b * block_bytes, by_block.data() + b * block, block)
              .ok());
    }
    const bool is_float = block == 1;
    int mismatches = 0;
    for (int64_t i = 0; i < n; ++i) {
      const float w = want[static_cast<size_t>(i)];
      const float g = got[static_cast<size_t>(i)];
      EXPECT_EQ(std::bit_cast<uint32_t>(g),
                std::bit_cast<uint32_t>(by_block[static_cast<size_t>(i)]));
      const bool ok = is_float ? std::bit_cast<uint32_t>(g) == std::bit_cast<uint32_t>(w)
                               : std::fabs(g - w) <= 1e-6f * std::max(1.0f, std::fabs(w));
      if (!ok && ++mismatches <= 5)
        ADD_FAILURE() << name << "[" << i << "]: got " << g << " want " << w;
    }
    EXPECT_EQ(mismatches, 0);
    ++n_types;
  }
  EXPECT_EQ(n_types, 8);
}

// Reference f16 decoding from the definition: (-1)^s * 2^(e-15) * (1 + m/1024), subnormals
// 2^-14 * m/1024.
float F16Definition(uint16_t h) {
  const int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
  float v = 0;
  if (e == 31) {
    v = m == 0 ? INFINITY : NAN;
  } else if (e == 0) {
    v = std::ldexp(static_cast<float>(m), -24);
  } else {
    v = std::ldexp(1.0f + static_cast<float>(m) / 1024.0f, e - 15);
  }
  return s ? -v : v;
}

TEST(Dequantize, F16ConversionIsExactForAllPatterns) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const uint16_t bits = static_cast<uint16_t>(h);
    const float f = F16ToF32(bits);
    const float want = F16Definition(bits);
    if (std::isnan(want)) {
      ASSERT_TRUE(std::isnan(f)) << h;
      ASSERT_TRUE(std::isnan(F16ToF32(F32ToF16(f)))) << h;
      continue;
    }
    ASSERT_EQ(std::bit_cast<uint32_t>(f), std::bit_cast<uint32_t>(want)) << h;
    ASSERT_EQ(F32ToF16(f), bits) << h;  // every half round-trips
  }
}

TEST(Dequantize, F32ToF16RoundsToNearestEven) {
  // Halfway between 1 and the next half (1 + 2^-10): ties to even (1); just above goes up.
  EXPECT_EQ(F32ToF16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);
  EXPECT_EQ(F32ToF16(std::nextafter(1.0f + std::ldexp(1.0f, -11), 2.0f)), 0x3C01);
  EXPECT_EQ(F32ToF16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);  // tie, odd below: up
  EXPECT_EQ(F32ToF16(65504.0f), 0x7BFF);
  EXPECT_EQ(F32ToF16(65519.0f), 0x7BFF);
  EXPECT_EQ(F32ToF16(65520.0f), 0x7C00);  // rounds to inf
  EXPECT_EQ(F32ToF16(-1e9f), 0xFC00);
  EXPECT_EQ(F32ToF16(std::ldexp(1.0f, -25)), 0x0000);  // tie between 0 and min subnormal
  EXPECT_EQ(F32ToF16(std::ldexp(1.5f, -25)), 0x0001);
  EXPECT_EQ(F32ToF16(-0.0f), 0x8000);
  EXPECT_EQ(F32ToF16(NAN) & 0x7C00, 0x7C00);
  EXPECT_NE(F32ToF16(NAN) & 0x03FF, 0);
}

TEST(Dequantize, Bf16Conversion) {
  EXPECT_EQ(BF16ToF32(0x3F80), 1.0f);
  EXPECT_EQ(BF16ToF32(0xC000), -2.0f);
  EXPECT_EQ(F32ToBF16(1.0f), 0x3F80);
  EXPECT_EQ(F32ToBF16(std::bit_cast<float>(0x3F808000u)), 0x3F80);  // tie -> even
  EXPECT_EQ(F32ToBF16(std::bit_cast<float>(0x3F818000u)), 0x3F82);  // tie -> even (up)
  EXPECT_EQ(F32ToBF16(std::bit_cast<float>(0x3F808001u)), 0x3F81);
  EXPECT_TRUE(std::isnan(BF16ToF32(F32ToBF16(NAN))));
  for (uint32_t b = 0; b < 65536; ++b) {
    const float f = BF16ToF32(static_cast<uint16_t>(b));
    if (!std::isnan(f)) {
      ASSERT_EQ(F32ToBF16(f), b);
    }
  }
}

TEST(Dequantize, RejectsBadArguments) {
  std::vector<uint8_t> src(144);
  std::vector<float> dst(256, 7.0f);
  absl::Status s = DequantizeRow(TensorType::kQ4_K, src.data(), dst.data(), 100);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("100 elements is not a whole number of Q4_K blocks"));
  EXPECT_FALSE(DequantizeRow(TensorType::kQ8_0, src.data(), dst.data(), -32).ok());
  EXPECT_THAT(DequantizeRow(static_cast<TensorType>(3), src.data(), dst.data(), 32).message(),
              HasSubstr("unsupported tensor type id 3"));
  EXPECT_THAT(
      Dequantize(TensorType::kQ4_K, std::span<const uint8_t>(src.data(), 143), dst).message(),
      HasSubstr("need 144 bytes, got 143"));
  EXPECT_EQ(dst[0], 7.0f);  // untouched on error
  EXPECT_TRUE(DequantizeRow(TensorType::kQ4_K, src.data(), dst.data(), 0).ok());
}

TEST(Dequantize, HandComputedBlocks) {
  // Q4_0 with d = 2: byte 0x9F -> low nibble 15 -> (15-8)*2 = 14 at [0], high 9 -> 2 at [16].
  std::vector<uint8_t> q4(18, 0x88);
  q4[0] = 0x00;
  q4[1] = 0x40;  // f16 2.0
  q4[2] = 0x9F;
  std::vector<float> out(32);
  ASSERT_TRUE(DequantizeRow(TensorType::kQ4_0, q4.data(), out.data(), 32).ok());
  EXPECT_EQ(out[0], 14.0f);
  EXPECT_EQ(out[16], 2.0f);
  EXPECT_EQ(out[1], 0.0f);
  // Q8_0 with d = 0.5: int8 -128 -> -64.
  std::vector<uint8_t> q8(34, 0);
  q8[0] = 0x00;
  q8[1] = 0x38;  // f16 0.5
  q8[2 + 31] = 0x80;
  ASSERT_TRUE(DequantizeRow(TensorType::kQ8_0, q8.data(), out.data(), 32).ok());
  EXPECT_EQ(out[31], -64.0f);
  EXPECT_EQ(out[0], 0.0f);
}

}  // namespace
}  // namespace cachewire::gguf
