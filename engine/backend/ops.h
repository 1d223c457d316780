// The ops of the forward pass over one backend's memory, so the device model's forward
// (engine/model/device_model.h) is written once: CudaOps runs them on a GPU through the plugin,
// CpuOps runs the CPU kernels on host memory (the CUDA path's twin, testable anywhere).
//
// Buffers hold backend memory (device memory for CUDA): the host never dereferences their
// pointers, it only offsets them and passes them in op records (op_args.h) or to the copies.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/backend/cuda/op_args.h"

namespace cachewire::backend {

// Backend memory owned by one object; move-only, released on destruction.
class Buffer {
 public:
  using Release = std::function<void(void*)>;

  Buffer() = default;
  Buffer(void* data, size_t bytes, Release release)
      : data_(data, std::move(release)), bytes_(bytes) {}

  void* data() const { return data_.get(); }
  template <typename T>
  T* as() const {
    return static_cast<T*>(data_.get());
  }
  size_t bytes() const { return bytes_; }

 private:
  std::unique_ptr<void, Release> data_{nullptr, Release()};
  size_t bytes_ = 0;
};

// The op id of each argument record, for Ops::Run and CudaDevice::Run.
template <typename Args>
struct OpOf;
#define CACHEWIRE_OP_OF(ArgsType, id) \
  template <>                         \
  struct OpOf<ArgsType> {             \
    static constexpr CwOp kOp = id;   \
  }
CACHEWIRE_OP_OF(CwDequantizeArgs, CW_OP_DEQUANTIZE);
CACHEWIRE_OP_OF(CwRmsNormArgs, CW_OP_RMS_NORM);
CACHEWIRE_OP_OF(CwRopeArgs, CW_OP_ROPE);
CACHEWIRE_OP_OF(CwSoftmaxArgs, CW_OP_SOFTMAX);
CACHEWIRE_OP_OF(CwGatedArgs, CW_OP_GATED);
CACHEWIRE_OP_OF(CwEmbeddingArgs, CW_OP_EMBEDDING);
CACHEWIRE_OP_OF(CwMatmulArgs, CW_OP_MATMUL);
CACHEWIRE_OP_OF(CwAttentionArgs, CW_OP_ATTENTION);
CACHEWIRE_OP_OF(CwKeyNormsArgs, CW_OP_KEY_NORMS);
CACHEWIRE_OP_OF(CwEvictSelectArgs, CW_OP_EVICT_SELECT);
CACHEWIRE_OP_OF(CwGatherRowsArgs, CW_OP_GATHER_ROWS);
CACHEWIRE_OP_OF(CwGemmF32Args, CW_OP_GEMM_F32);
CACHEWIRE_OP_OF(CwAddArgs, CW_OP_ADD);
CACHEWIRE_OP_OF(CwScaleArgs, CW_OP_SCALE);
#undef CACHEWIRE_OP_OF

class Ops {
 public:
  virtual ~Ops() = default;

  // "cpu-twin" (CpuOps), or "cuda:0 (NAME)".
  virtual std::string name() const = 0;
  // Zero-filled backend memory; ResourceExhausted when the backend has no room.
  virtual absl::StatusOr<Buffer> Alloc(size_t bytes) = 0;
  // Host <-> backend copies; dst / src are backend pointers (a buffer's data, offset).
  virtual absl::Status CopyIn(void* dst, const void* host, size_t bytes) = 0;
  virtual absl::Status CopyOut(void* host, const void* src, size_t bytes) = 0;
  // Waits for every op so far (CUDA runs them asynchronously); reports a fault of any.
  virtual absl::Status Synchronize() = 0;

  // One op; bad arguments are InvalidArgument naming the op and field.
  template <typename Args>
  absl::Status Run(const Args& args) {
    return RunOp(OpOf<Args>::kOp, &args);
  }
  virtual absl::Status RunOp(CwOp op, const void* args) = 0;
};

}  // namespace cachewire::backend
