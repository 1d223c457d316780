// An affine layer of an adapter, y = W x + b, held in f32, and how it is read from an adapter
// file. Both adapter kinds (LCF adapters, C2C fusers) are built of them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace cachewire::adapter {

class AdapterTensors;

// y = W x + b for each row x: W (n_out, n_in) row-major; b (n_bias_rows, n_out) or empty.
struct Affine {
  std::vector<float> w;
  std::vector<float> b;
  int64_t n_in = 0;
  int64_t n_out = 0;
};

// y (n_rows, n_out) = x (n_rows, n_in) W^T + b[bias_row].
absl::Status ApplyAffine(const Affine& a, const float* x, int64_t n_rows, float* y,
                         int64_t bias_row = 0);

// The (n_out, n_in) weight "<prefix>weight" and, unless bias_dims is empty, "<prefix>bias" with
// those (ggml) dims; errors name the file and the tensor (AdapterTensors).
absl::StatusOr<Affine> ReadAffine(const AdapterTensors& tensors, const std::string& prefix,
                                  int64_t n_in, int64_t n_out, std::vector<int64_t> bias_dims);

}  // namespace cachewire::adapter
