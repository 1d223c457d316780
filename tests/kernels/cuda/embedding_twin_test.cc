// The CUDA embedding lookup against its CPU twin (kernels::EmbeddingLookup) on the same table and
// ids, every type the kernel reads: bit for bit, as both decode with gguf::DequantizeRow's float
// operations and scale by one rounded multiply. An id out of range, which the twin refuses (the
// caller checks ids before upload), gives a zero row on the device.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "engine/gguf/tensor_type.h"
#include "kernels/embedding.h"
#include "tests/kernels/cuda/cuda_twin_util.h"
#include "tests/kernels/kernel_test_util.h"

namespace cachewire::kernels::cuda_testing {
namespace {

using gguf::TensorType;

constexpr int64_t kVocab = 50;

int64_t EmbdFor(TensorType type) {
  // Float rows of a length no vector width divides; two superblocks, or 16 Q8_0 / Q4_0 blocks.
  return testing::BlockElems(type) == 1 ? 300 : 512;
}

// The device's rows for `ids`, starting from NaN so an unwritten element cannot pass.
std::vector<float> RunDevice(const CudaDevice& dev, TensorType type, const Buffer& table,
                             int64_t n_embd, const std::vector<int32_t>& ids, float scale) {
  const size_t n = ids.size() * static_cast<size_t>(n_embd);
  Buffer d_ids = ToDevice(dev, ids);
  Buffer d_out = ToDevice(dev, std::vector<float>(n, NAN));
  const absl::Status s = dev.Run(CwEmbeddingArgs{.type = static_cast<uint32_t>(type),
                                                 .table = table.data(),
                                                 .n_vocab = kVocab,
                                                 .n_embd = n_embd,
                                                 .ids = d_ids.as<int32_t>(),
                                                 .n_tokens = static_cast<int64_t>(ids.size()),
                                                 .scale = scale,
                                                 .out = d_out.as<float>()});
  EXPECT_TRUE(s.ok()) << s;
  return ToHost<float>(dev, d_out, n);
}

std::vector<float> RunCpu(TensorType type, const std::vector<uint8_t>& table, int64_t n_embd,
                          const std::vector<int32_t>& ids, float scale) {
  std::vector<float> out(ids.size() * static_cast<size_t>(n_embd), NAN);
  const absl::Status s = EmbeddingLookup(EmbeddingArgs{.type = type,
                                                       .table = table.data(),
                                                       .n_vocab = kVocab,
                                                       .n_embd = n_embd,
                                                       .ids = ids,
                                                       .scale = scale,
                                                       .out = out.data()});
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

// Bit patterns compared, so -0 vs 0 or a NaN would show.
void ExpectSameBits(const std::vector<float>& gpu, const std::vector<float>& cpu) {
  ASSERT_EQ(gpu.size(), cpu.size());
  for (size_t i = 0; i < gpu.size(); ++i) {
    ASSERT_EQ(std::bit_cast<uint32_t>(gpu[i]), std::bit_cast<uint32_t>(cpu[i]))
        << "element " << i << ": gpu " << gpu[i] << " cpu " << cpu[i];
  }
}

TEST(CudaEmbeddingTest, MatchesCpuTwinBitForBit) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  std::mt19937 rng(77);
  // First and last rows, repeats, and enough tokens for several thread blocks.
  std::vector<int32_t> ids = {0, kVocab - 1, 17, 3, kVocab - 1, 0, 25};
  for (int i = 0; i < 40; ++i) ids.push_back(static_cast<int32_t>((i * 13) % kVocab));
  for (TensorType type : testing::kAllTypes) {
    if (type == TensorType::kQ5_K) continue;  // no CUDA kernel reads Q5_K
    const int64_t n_embd = EmbdFor(type);
    const std::vector<uint8_t> table = testing::RandomWeights(type, kVocab, n_embd, rng);
    Buffer d_table = ToDevice(dev, table);
    for (float scale : {1.0f, 2.5f, std::sqrt(static_cast<float>(n_embd))}) {
      SCOPED_TRACE(std::string(gguf::TensorTypeName(type)) + " scale " + std::to_string(scale));
      ExpectSameBits(RunDevice(dev, type, d_table, n_embd, ids, scale),
                     RunCpu(type, table, n_embd, ids, scale));
    }
  }
}

TEST(CudaEmbeddingTest, IdOutOfRangeGivesZeroRow) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  std::mt19937 rng(5);
  const TensorType type = TensorType::kQ6_K;
  const int64_t n_embd = 256;
  const std::vector<uint8_t> table = testing::RandomWeights(type, kVocab, n_embd, rng);
  Buffer d_table = ToDevice(dev, table);
  const std::vector<float> gpu =
      RunDevice(dev, type, d_table, n_embd, {-1, 5, kVocab, kVocab - 1}, 3.0f);
  const std::vector<float> cpu = RunCpu(type, table, n_embd, {5, kVocab - 1}, 3.0f);
  const auto row = [&](const std::vector<float>& v, int64_t r) {
    return std::vector<float>(v.begin() + r * n_embd, v.begin() + (r + 1) * n_embd);
  };
  EXPECT_EQ(row(gpu, 0), std::vector<float>(n_embd, 0.0f));
  EXPECT_EQ(row(gpu, 2), std::vector<float>(n_embd, 0.0f));
  ExpectSameBits(row(gpu, 1), row(cpu, 0));
  ExpectSameBits(row(gpu, 3), row(cpu, 1));
}

TEST(CudaEmbeddingTest, RefusesBadArgumentsNamingTheField) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  Buffer table = DeviceZeros<uint8_t>(dev, 4096);
  Buffer ids = DeviceZeros<int32_t>(dev, 4);
  Buffer out = DeviceZeros<float>(dev, 1024);
  const auto good = [&] {
    return CwEmbeddingArgs{.type = static_cast<uint32_t>(TensorType::kQ8_0),
                           .table = table.data(),
                           .n_vocab = 4,
                           .n_embd = 64,
                           .ids = ids.as<int32_t>(),
                           .n_tokens = 4,
                           .scale = 1.0f,
                           .out = out.as<float>()};
  };
  ASSERT_TRUE(dev.Run(good()).ok());
  std::vector<Refusal<CwEmbeddingArgs>> cases;
  CwEmbeddingArgs a = good();
  a.type = static_cast<uint32_t>(TensorType::kQ5_K);
  a.n_embd = 256;
  cases.push_back({a, "embedding: type"});
  a = good();
  a.n_embd = 48;  // 1.5 Q8_0 blocks
  cases.push_back({a, "embedding: n_embd"});
  a = good();
  a.n_embd = 0;  // the CPU twin refuses it too
  cases.push_back({a, "embedding: n_embd"});
  a = good();
  a.n_vocab = 0;
  cases.push_back({a, "embedding: n_vocab"});
  a = good();
  a.n_tokens = -1;
  cases.push_back({a, "embedding: n_tokens"});
  a = good();
  a.table = nullptr;
  cases.push_back({a, "embedding: table is null"});
  a = good();
  a.ids = nullptr;
  cases.push_back({a, "embedding: ids is null"});
  a = good();
  a.out = nullptr;
  cases.push_back({a, "embedding: out is null"});
  ExpectRefused(dev, cases);
}

}  // namespace
}  // namespace cachewire::kernels::cuda_testing
