// CudaOps: backend::Ops over the plugin's C table (cuda_ops.h).
#include "engine/backend/cuda_ops.h"

#include <string>

#include "engine/backend/cuda_device.h"

namespace cachewire::backend {
namespace {

constexpr size_t kErrLen = 512;

class CudaOps final : public Ops {
 public:
  explicit CudaOps(CudaDevice device) : device_(std::move(device)), api_(device_.api()) {}

  std::string name() const override {
    return "cuda:" + std::to_string(device_.info().ordinal) + " (" + device_.info().name + ")";
  }

  absl::StatusOr<Buffer> Alloc(size_t bytes) override {
    absl::StatusOr<Buffer> buf = device_.Alloc(bytes);
    if (buf.ok()) {
      if (absl::Status s = device_.Zero(*buf); !s.ok()) return s;
    }
    return buf;
  }

  absl::Status CopyIn(void* dst, const void* host, size_t bytes) override {
    char err[kErrLen] = {0};
    return PluginStatus(api_->copy_to_device(dst, host, bytes, err, sizeof(err)), err);
  }

  absl::Status CopyOut(void* host, const void* src, size_t bytes) override {
    char err[kErrLen] = {0};
    return PluginStatus(api_->copy_to_host(host, src, bytes, err, sizeof(err)), err);
  }

  absl::Status Synchronize() override { return device_.Synchronize(); }

  absl::Status RunOp(CwOp op, const void* args) override {
    char err[kErrLen] = {0};
    return PluginStatus(api_->run_op(op, args, err, sizeof(err)), err);
  }

 private:
  CudaDevice device_;
  const CwCudaApi* api_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Ops>> OpenCudaOps(int ordinal) {
  absl::StatusOr<CudaDevice> device = CudaDevice::Open(ordinal);
  if (!device.ok()) return device.status();
  return std::unique_ptr<Ops>(new CudaOps(std::move(*device)));
}

}  // namespace cachewire::backend
