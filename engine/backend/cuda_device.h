// A CUDA device seen through the plugin (cuda_loader.h), in C++ terms: device buffers that free
// themselves, copies, and typed op calls whose failures are absl::Status values naming the op
// (never an abort). Built everywhere: on a machine without the plugin or a device, Open says
// why, and callers fall back to the CPU or skip.
//
// One CudaDevice is used from one thread at a time (ops run on the thread's current device and
// the default stream, in order).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/backend/cuda/op_args.h"
#include "engine/backend/cuda/plugin_api.h"
#include "engine/backend/ops.h"

namespace cachewire::backend {

// A plugin call's return code and message as a status: bad arguments are InvalidArgument, an
// exhausted device ResourceExhausted, anything else Internal; the message starts "cuda: ".
absl::Status PluginStatus(int rc, const char* err);

struct CudaDeviceInfo {
  int ordinal = 0;
  std::string name;
  int cc_major = 0;
  int cc_minor = 0;
  size_t total_bytes = 0;
};

class CudaDevice {
 public:
  // The plugin and device `ordinal`, made current for the calling thread. Unavailable with the
  // reason (no plugin, no driver, no such device) otherwise.
  static absl::StatusOr<CudaDevice> Open(int ordinal = 0);

  const CudaDeviceInfo& info() const { return info_; }
  const CwCudaApi* api() const { return api_; }

  absl::StatusOr<Buffer> Alloc(size_t bytes) const;
  absl::Status Zero(const Buffer& buf) const;
  absl::Status CopyToDevice(const Buffer& dst, const void* src, size_t bytes) const;
  absl::Status CopyToHost(void* dst, const Buffer& src, size_t bytes) const;

  // A new buffer holding `host`, and a host copy of a buffer's first n elements.
  template <typename T>
  absl::StatusOr<Buffer> Upload(std::span<const T> host) const {
    absl::StatusOr<Buffer> buf = Alloc(host.size_bytes());
    if (!buf.ok()) return buf.status();
    if (absl::Status s = CopyToDevice(*buf, host.data(), host.size_bytes()); !s.ok()) return s;
    return buf;
  }
  template <typename T>
  absl::StatusOr<std::vector<T>> Download(const Buffer& buf, size_t n) const {
    std::vector<T> host(n);
    if (absl::Status s = CopyToHost(host.data(), buf, n * sizeof(T)); !s.ok()) return s;
    return host;
  }

  // Launches one op; its launch errors (bad arguments name the field) come back here, faults
  // inside it at the next Synchronize or CopyToHost.
  template <typename Args>
  absl::Status Run(const Args& args) const {
    return RunOp(OpOf<Args>::kOp, &args);
  }
  absl::Status Synchronize() const;

 private:
  CudaDevice(const CwCudaApi* api, CudaDeviceInfo info) : api_(api), info_(std::move(info)) {}
  absl::Status RunOp(CwOp op, const void* args) const;

  const CwCudaApi* api_ = nullptr;
  CudaDeviceInfo info_;
};

}  // namespace cachewire::backend
