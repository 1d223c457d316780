// The CUDA plugin's dequantisation against its CPU twin (gguf::DequantizeRow) on the same bytes.
// Without a device the comparison skips with the loader's reason; the loader itself is tested
// everywhere.
#include <cstring>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "engine/backend/cuda_loader.h"
#include "engine/gguf/dequantize.h"
#include "engine/gguf/tensor_type.h"

namespace cachewire::backend {
namespace {

using gguf::TensorType;

// Random blocks with finite f16 scales in [-1, 1) so every quant decodes to a normal float.
std::vector<uint8_t> RandomRows(TensorType type, int64_t n_rows, int64_t n_per_row, uint32_t seed) {
  const auto traits = *gguf::TraitsOf(static_cast<uint32_t>(type));
  const size_t row_bytes = *gguf::RowBytes(type, n_per_row);
  std::vector<uint8_t> bytes(row_bytes * static_cast<size_t>(n_rows));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> unit(-1.0f, 1.0f);
  for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng());
  if (type == TensorType::kF32) {
    for (size_t i = 0; i < bytes.size(); i += 4) {
      const float f = unit(rng);
      std::memcpy(&bytes[i], &f, 4);
    }
  } else if (type == TensorType::kF16 || type == TensorType::kBF16) {
    for (size_t i = 0; i < bytes.size(); i += 2) {
      const uint16_t h = type == TensorType::kF16 ? gguf::F32ToF16(unit(rng)) : gguf::F32ToBF16(unit(rng));
      std::memcpy(&bytes[i], &h, 2);
    }
  } else {  // Q8_0 / Q4_0: the f16 scale opens each block
    for (size_t off = 0; off < bytes.size(); off += traits.block_bytes) {
      const uint16_t d = gguf::F32ToF16(unit(rng) * 0.1f);
      std::memcpy(&bytes[off], &d, 2);
    }
  }
  return bytes;
}

TEST(CudaLoaderTest, ReportsAReasonOrADevice) {
  absl::StatusOr<CudaPlugin> device = CudaDeviceOrReason();
  if (device.ok()) {
    EXPECT_NE(device->api, nullptr);
    return;
  }
  EXPECT_EQ(device.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(device.status().message().empty());
#ifdef CACHEWIRE_HAVE_CUDA_PLUGIN
  // The plugin was built, so only the device can be missing: the loader must have found it.
  absl::StatusOr<CudaPlugin> plugin = LoadCudaPlugin();
  ASSERT_TRUE(plugin.ok()) << plugin.status();
  EXPECT_NE(std::string(device.status().message()).find("no CUDA device"), std::string::npos)
      << device.status();
#endif
}

TEST(CudaDequantizeTest, MatchesCpuTwinBitForBit) {
  absl::StatusOr<CudaPlugin> device = CudaDeviceOrReason();
  if (!device.ok()) GTEST_SKIP() << "CUDA half skipped: " << device.status().message();
  for (TensorType type : {TensorType::kF32, TensorType::kF16, TensorType::kBF16,
                          TensorType::kQ8_0, TensorType::kQ4_0}) {
    const int64_t n_rows = 37, n_per_row = 4096;
    const std::vector<uint8_t> src = RandomRows(type, n_rows, n_per_row, 1234);
    std::vector<float> gpu(static_cast<size_t>(n_rows * n_per_row), -1.0f);
    char err[256] = {0};
    ASSERT_EQ(device->api->dequantize_rows(0, static_cast<uint32_t>(type), src.data(), src.size(),
                                           n_rows, n_per_row, gpu.data(), err, sizeof(err)),
              0)
        << err;
    std::vector<float> cpu(gpu.size());
    ASSERT_TRUE(gguf::DequantizeRow(type, src.data(), cpu.data(), n_rows * n_per_row).ok());
    for (size_t i = 0; i < cpu.size(); ++i) {
      ASSERT_EQ(gpu[i], cpu[i]) << "type " << static_cast<int>(type) << " element " << i;
    }
  }
}

TEST(CudaDequantizeTest, UnsupportedTypeIsAnErrorNotACrash) {
  absl::StatusOr<CudaPlugin> device = CudaDeviceOrReason();
  if (!device.ok()) GTEST_SKIP() << "CUDA half skipped: " << device.status().message();
  std::vector<uint8_t> src(144);
  std::vector<float> dst(256);
  char err[256] = {0};
  EXPECT_NE(device->api->dequantize_rows(0, 12 /* Q4_K */, src.data(), src.size(), 1, 256,
                                         dst.data(), err, sizeof(err)),
            0);
  EXPECT_NE(std::string(err).find("not supported"), std::string::npos) << err;
}

}  // namespace
}  // namespace cachewire::backend
