// Reading an adapter file's tensors and counts with the checks every adapter kind needs: a
// missing, mistyped or misshapen tensor or key is InvalidArgument naming the file and the tensor
// or key. Adapters are small, so tensors come out as f32 whatever they are stored as (F32, F16).
// Shapes are ggml's: dims[0] is the contiguous one, so a torch (out, in) matrix is {in, out}.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace cachewire::gguf {
class File;
}

namespace cachewire::adapter {

class AdapterTensors {
 public:
  explicit AdapterTensors(const gguf::File& file) : file_(file) {}

  // Tensor `name` as f32; it must have exactly `dims`.
  absl::StatusOr<std::vector<float>> Read(const std::string& name, const std::vector<int64_t>& dims) const;
  // Integer key in [1, most].
  absl::StatusOr<int64_t> Count(const std::string& key, int64_t most) const;
  // Integer array key of exactly n items, each in [0, bound).
  absl::StatusOr<std::vector<int64_t>> Indices(const std::string& key, int64_t n, int64_t bound) const;
  // InvalidArgument "<file>: tensor <name>: <what>".
  absl::Status TensorError(const std::string& name, const std::string& what) const;
  // InvalidArgument "<file>: <key>: <what>".
  absl::Status KeyError(const std::string& key, const std::string& what) const;

 private:
  const gguf::File& file_;
};

}  // namespace cachewire::adapter
