// The CUDA plugin loader and CudaDevice. Everywhere: Open says why there is no device (and, in
// a build with the plugin, that it was the device that was missing). With a device: buffers
// round-trip, copies past a buffer's end and bad op arguments are InvalidArgument naming the
// op and field, an unknown op id is refused, and nothing of it aborts the process.
#include "engine/backend/cuda_device.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/backend/cuda_loader.h"

namespace cachewire::backend {
namespace {

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
  EXPECT_EQ(plugin->api->abi_version, CACHEWIRE_CUDA_ABI_VERSION);
  EXPECT_NE(std::string(device.status().message()).find("no CUDA device"), std::string::npos)
      << device.status();
#endif
}

TEST(CudaDeviceTest, OpenWithoutADeviceSaysWhy) {
  absl::StatusOr<CudaDevice> dev = CudaDevice::Open();
  if (dev.ok()) GTEST_SKIP() << "a device is present: " << dev->info().name;
  EXPECT_EQ(dev.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE(dev.status().message().empty());
}

TEST(CudaDeviceTest, BuffersRoundTripAndCopiesAreBounded) {
  absl::StatusOr<CudaDevice> dev = CudaDevice::Open();
  if (!dev.ok()) GTEST_SKIP() << "CUDA half skipped: " << dev.status().message();
  EXPECT_GT(dev->info().total_bytes, 0u);
  EXPECT_GE(dev->info().cc_major, 7);
  std::vector<int32_t> host(1000);
  for (size_t i = 0; i < host.size(); ++i) host[i] = static_cast<int32_t>(i * 7 - 300);
  absl::StatusOr<Buffer> buf = dev->Upload(std::span<const int32_t>(host));
  ASSERT_TRUE(buf.ok()) << buf.status();
  absl::StatusOr<std::vector<int32_t>> back = dev->Download<int32_t>(*buf, host.size());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, host);
  ASSERT_TRUE(dev->Zero(*buf).ok());
  back = dev->Download<int32_t>(*buf, host.size());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, std::vector<int32_t>(host.size(), 0));
  // One element past the end, either way.
  EXPECT_EQ(dev->Download<int32_t>(*buf, host.size() + 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::vector<int32_t> big(host.size() + 1);
  EXPECT_EQ(dev->CopyToDevice(*buf, big.data(), big.size() * sizeof(int32_t)).code(),
            absl::StatusCode::kInvalidArgument);
  // Moving hands the memory over; the moved-from buffer frees nothing.
  Buffer moved = std::move(*buf);
  EXPECT_EQ(buf->data(), nullptr);
  EXPECT_NE(moved.data(), nullptr);
}

TEST(CudaDeviceTest, BadArgumentsAreErrorsNamingOpAndField) {
  absl::StatusOr<CudaDevice> dev = CudaDevice::Open();
  if (!dev.ok()) GTEST_SKIP() << "CUDA half skipped: " << dev.status().message();
  absl::StatusOr<Buffer> x = dev->Alloc(64 * sizeof(float));
  ASSERT_TRUE(x.ok());
  const absl::Status negative = dev->Run(CwRmsNormArgs{
      .x = x->as<float>(), .w = nullptr, .y = x->as<float>(), .n_rows = -1, .n = 64, .eps = 1e-6f});
  EXPECT_EQ(negative.code(), absl::StatusCode::kInvalidArgument) << negative;
  EXPECT_NE(negative.message().find("rms_norm"), std::string::npos) << negative;
  EXPECT_NE(negative.message().find("n_rows"), std::string::npos) << negative;
  const absl::Status null_x = dev->Run(CwSoftmaxArgs{.x = nullptr, .n_rows = 2, .n = 4});
  EXPECT_EQ(null_x.code(), absl::StatusCode::kInvalidArgument) << null_x;
  EXPECT_NE(null_x.message().find("softmax"), std::string::npos) << null_x;
  // The device still works after refusals.
  EXPECT_TRUE(dev->Synchronize().ok());
}

TEST(CudaDeviceTest, UnknownOpIsRefused) {
  absl::StatusOr<CudaPlugin> plugin = CudaDeviceOrReason();
  if (!plugin.ok()) GTEST_SKIP() << "CUDA half skipped: " << plugin.status().message();
  char err[256] = {0};
  const int dummy = 0;
  EXPECT_NE(plugin->api->run_op(static_cast<CwOp>(9999), &dummy, err, sizeof(err)), 0);
  EXPECT_NE(std::string(err).find("unknown op"), std::string::npos) << err;
  EXPECT_NE(plugin->api->run_op(CW_OP_RMS_NORM, nullptr, err, sizeof(err)), 0);
  EXPECT_NE(std::string(err).find("null args"), std::string::npos) << err;
}

}  // namespace
}  // namespace cachewire::backend
