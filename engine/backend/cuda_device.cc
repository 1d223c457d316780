// CudaDevice: the plugin's C table behind absl::Status (cuda_device.h).
#include "engine/backend/cuda_device.h"

#include <string>

#include "engine/backend/cuda_loader.h"

namespace cachewire::backend {
namespace {

constexpr size_t kErrLen = 512;
constexpr int kCudaErrorInvalidValue = 1;      // cudaErrorInvalidValue
constexpr int kCudaErrorMemoryAllocation = 2;  // cudaErrorMemoryAllocation

}  // namespace

absl::Status PluginStatus(int rc, const char* err) {
  if (rc == 0) return absl::OkStatus();
  std::string msg = "cuda: ";
  msg += err[0] != '\0' ? err : "error " + std::to_string(rc);
  if (rc == kCudaErrorInvalidValue) return absl::InvalidArgumentError(msg);
  if (rc == kCudaErrorMemoryAllocation) return absl::ResourceExhaustedError(msg);
  return absl::InternalError(msg);
}

absl::StatusOr<CudaDevice> CudaDevice::Open(int ordinal) {
  absl::StatusOr<CudaPlugin> plugin = CudaDeviceOrReason();
  if (!plugin.ok()) return plugin.status();
  const CwCudaApi* api = plugin->api;
  char err[kErrLen] = {0};
  int count = 0;
  if (absl::Status s = PluginStatus(api->device_count(&count, err, sizeof(err)), err); !s.ok()) {
    return s;
  }
  if (ordinal < 0 || ordinal >= count) {
    return absl::UnavailableError("no CUDA device " + std::to_string(ordinal) + " (" +
                                  std::to_string(count) + " present)");
  }
  CudaDeviceInfo info;
  info.ordinal = ordinal;
  char name[256] = {0};
  absl::Status s = PluginStatus(api->device_info(ordinal, name, sizeof(name), &info.cc_major,
                                               &info.cc_minor, &info.total_bytes, err, sizeof(err)),
                              err);
  if (!s.ok()) return s;
  info.name = name;
  if (s = PluginStatus(api->set_device(ordinal, err, sizeof(err)), err); !s.ok()) return s;
  return CudaDevice(api, std::move(info));
}

absl::StatusOr<Buffer> CudaDevice::Alloc(size_t bytes) const {
  char err[kErrLen] = {0};
  void* ptr = nullptr;
  if (absl::Status s = PluginStatus(api_->malloc(bytes, &ptr, err, sizeof(err)), err); !s.ok()) {
    return s;
  }
  const CwCudaApi* api = api_;
  return Buffer(ptr, bytes, [api](void* p) {
    char ignored[kErrLen];
    api->free(p, ignored, sizeof(ignored));  // a failed free leaks; nothing better to do here
  });
}

absl::Status CudaDevice::Zero(const Buffer& buf) const {
  char err[kErrLen] = {0};
  return PluginStatus(api_->memset(buf.data(), 0, buf.bytes(), err, sizeof(err)), err);
}

absl::Status CudaDevice::CopyToDevice(const Buffer& dst, const void* src,
                                      size_t bytes) const {
  if (bytes > dst.bytes()) {
    return absl::InvalidArgumentError("cuda: copy of " + std::to_string(bytes) +
                                      " bytes into a buffer of " + std::to_string(dst.bytes()));
  }
  char err[kErrLen] = {0};
  return PluginStatus(api_->copy_to_device(dst.data(), src, bytes, err, sizeof(err)), err);
}

absl::Status CudaDevice::CopyToHost(void* dst, const Buffer& src, size_t bytes) const {
  if (bytes > src.bytes()) {
    return absl::InvalidArgumentError("cuda: copy of " + std::to_string(bytes) +
                                      " bytes out of a buffer of " + std::to_string(src.bytes()));
  }
  char err[kErrLen] = {0};
  return PluginStatus(api_->copy_to_host(dst, src.data(), bytes, err, sizeof(err)), err);
}

absl::Status CudaDevice::Synchronize() const {
  char err[kErrLen] = {0};
  return PluginStatus(api_->synchronize(err, sizeof(err)), err);
}

absl::Status CudaDevice::RunOp(CwOp op, const void* args) const {
  char err[kErrLen] = {0};
  return PluginStatus(api_->run_op(op, args, err, sizeof(err)), err);
}

}  // namespace cachewire::backend
