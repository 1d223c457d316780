// Shared by the CUDA twin tests (the pattern of ggml's test-backend-ops): open the device or
// skip with the reason, move vectors to and from it, and compare the CUDA result with the CPU
// twin's under a per-op bound, reporting the worst element.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <random>
#include <span>
#include <sstream>
#include <type_traits>
#include <vector>

#include "engine/backend/cuda_device.h"

namespace cachewire::kernels::cuda_testing {

using backend::CudaDevice;
using backend::Buffer;

// Declares `CudaDevice& dev` or skips the test, saying why (no plugin, no driver, no device).
#define CW_CUDA_DEVICE_OR_SKIP(dev)                                       \
  absl::StatusOr<::cachewire::backend::CudaDevice> dev##_or =             \
      ::cachewire::backend::CudaDevice::Open();                           \
  if (!dev##_or.ok()) {                                                   \
    GTEST_SKIP() << "CUDA half skipped: " << dev##_or.status().message(); \
  }                                                                       \
  ::cachewire::backend::CudaDevice& dev = *dev##_or

// A device copy of `host`; fails the test (fatal) when the device refuses.
template <typename T>
Buffer ToDevice(const CudaDevice& dev, const std::vector<T>& host) {
  absl::StatusOr<Buffer> buf = dev.Upload(std::span<const T>(host));
  EXPECT_TRUE(buf.ok()) << buf.status();
  return buf.ok() ? std::move(*buf) : Buffer();
}

// An uninitialised (zeroed) device buffer of n elements.
template <typename T>
Buffer DeviceZeros(const CudaDevice& dev, size_t n) {
  absl::StatusOr<Buffer> buf = dev.Alloc(n * sizeof(T));
  EXPECT_TRUE(buf.ok()) << buf.status();
  if (!buf.ok()) return Buffer();
  const absl::Status zero = dev.Zero(*buf);
  EXPECT_TRUE(zero.ok()) << zero;
  return std::move(*buf);
}

// The first n elements of a device buffer (after every op before it has run). A failed copy
// fails the test and gives NaNs (floats) or -1s (integers), which no comparison accepts.
template <typename T>
std::vector<T> ToHost(const CudaDevice& dev, const Buffer& buf, size_t n) {
  absl::StatusOr<std::vector<T>> host = dev.Download<T>(buf, n);
  EXPECT_TRUE(host.ok()) << host.status();
  if (host.ok()) return std::move(*host);
  if constexpr (std::is_floating_point_v<T>) return std::vector<T>(n, NAN);
  return std::vector<T>(n, static_cast<T>(-1));
}

inline std::vector<float> RandomFloats(size_t n, std::mt19937& rng, float lo = -1.0f,
                                       float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// Every |gpu - cpu| <= abs_tol + rel_tol * |cpu| (NaN and inf must match exactly); the message
// names the worst element and the largest errors seen.
inline ::testing::AssertionResult AllClose(std::span<const float> gpu, std::span<const float> cpu,
                                           double abs_tol, double rel_tol) {
  if (gpu.size() != cpu.size()) {
    return ::testing::AssertionFailure() << "sizes differ: " << gpu.size() << " vs " << cpu.size();
  }
  double max_abs = 0, worst_excess = 0;
  size_t worst = 0, bad = 0;
  for (size_t i = 0; i < cpu.size(); ++i) {
    const double g = gpu[i], c = cpu[i];
    if (!std::isfinite(c) || !std::isfinite(g)) {
      const bool same = (std::isnan(c) && std::isnan(g)) || g == c;
      if (!same) {
        ++bad;
        worst = i;
        worst_excess = INFINITY;
      }
      continue;
    }
    const double err = std::fabs(g - c);
    max_abs = std::max(max_abs, err);
    const double excess = err - (abs_tol + rel_tol * std::fabs(c));
    if (excess > 0) {
      ++bad;
      if (excess > worst_excess) {
        worst_excess = excess;
        worst = i;
      }
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess() << "max abs error " << max_abs;
  return ::testing::AssertionFailure()
         << bad << " of " << cpu.size() << " elements out of bound (abs " << abs_tol << ", rel "
         << rel_tol << "); worst at " << worst << ": gpu " << gpu[worst] << " cpu " << cpu[worst]
         << "; max abs error " << max_abs;
}

inline ::testing::AssertionResult AllClose(const std::vector<float>& gpu,
                                           const std::vector<float>& cpu, double abs_tol,
                                           double rel_tol) {
  return AllClose(std::span<const float>(gpu), std::span<const float>(cpu), abs_tol, rel_tol);
}

// One bad call of an op and the text its refusal must contain ("matmul: n_in").
template <typename Args>
struct Refusal {
  Args args;
  const char* field;
};

// Every call is refused with InvalidArgument naming its field (and nothing crashes).
template <typename Args>
void ExpectRefused(const CudaDevice& dev, const std::vector<Refusal<Args>>& cases) {
  for (const Refusal<Args>& c : cases) {
    const absl::Status s = dev.Run(c.args);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.field << ": " << s;
    EXPECT_NE(s.message().find(c.field), std::string::npos) << s;
  }
}

}  // namespace cachewire::kernels::cuda_testing
