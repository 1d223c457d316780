// The CUDA dequantisation against its CPU twin (gguf::DequantizeRow) on the same bytes, every
// type the kernel reads: bit for bit (both decode the same blocks with the same float ops).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "engine/gguf/dequantize.h"
#include "engine/gguf/tensor_type.h"
#include "tests/kernels/cuda/cuda_twin_util.h"
#include "tests/kernels/kernel_test_util.h"

namespace cachewire::kernels::cuda_testing {
namespace {

using gguf::TensorType;

TEST(CudaDequantizeTest, MatchesCpuTwinBitForBit) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  std::mt19937 rng(1234);
  for (TensorType type : testing::kAllTypes) {
    if (type == TensorType::kQ5_K) continue;  // no CUDA kernel reads Q5_K
    SCOPED_TRACE(std::string(gguf::TensorTypeName(type)));
    const int64_t n_rows = 37, n_per_row = 4096;
    const std::vector<uint8_t> src = testing::RandomWeights(type, n_rows, n_per_row, rng);
    const size_t n = static_cast<size_t>(n_rows * n_per_row);
    Buffer d_src = ToDevice(dev, src);
    Buffer d_dst = DeviceZeros<float>(dev, n);
    ASSERT_TRUE(dev.Run(CwDequantizeArgs{.type = static_cast<uint32_t>(type),
                                         .src = d_src.data(),
                                         .n_rows = n_rows,
                                         .n_per_row = n_per_row,
                                         .dst = d_dst.as<float>()})
                    .ok());
    const std::vector<float> gpu = ToHost<float>(dev, d_dst, n);
    std::vector<float> cpu(n);
    ASSERT_TRUE(gguf::DequantizeRow(type, src.data(), cpu.data(), n_rows * n_per_row).ok());
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(gpu[i], cpu[i]) << "element " << i;
  }
}

TEST(CudaDequantizeTest, RefusesWhatItCannotReadNamingIt) {
  CW_CUDA_DEVICE_OR_SKIP(dev);
  Buffer src = DeviceZeros<uint8_t>(dev, 176);
  Buffer dst = DeviceZeros<float>(dev, 256);
  const absl::Status q5k =
      dev.Run(CwDequantizeArgs{.type = static_cast<uint32_t>(TensorType::kQ5_K),
                               .src = src.data(),
                               .n_rows = 1,
                               .n_per_row = 256,
                               .dst = dst.as<float>()});
  EXPECT_EQ(q5k.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(q5k.message().find("dequantize: type"), std::string::npos) << q5k;
  const absl::Status partial =
      dev.Run(CwDequantizeArgs{.type = static_cast<uint32_t>(TensorType::kQ8_0),
                               .src = src.data(),
                               .n_rows = 1,
                               .n_per_row = 40,
                               .dst = dst.as<float>()});
  EXPECT_EQ(partial.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(partial.message().find("n_per_row"), std::string::npos) << partial;
}

}  // namespace
}  // namespace cachewire::kernels::cuda_testing
