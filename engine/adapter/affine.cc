#include "engine/adapter/affine.h"

#include "engine/adapter/adapter_tensors.h"
#include "engine/common/status_macros.h"
#include "kernels/gemm_f32.h"

namespace cachewire::adapter {

absl::Status ApplyAffine(const Affine& a, const float* x, int64_t n_rows, float* y,
                         int64_t bias_row) {
  CW_RETURN_IF_ERROR(kernels::LinearF32(a.w.data(), a.n_out, a.n_in, x, n_rows, y));
  if (!a.b.empty()) {
    const float* b = a.b.data() + bias_row * a.n_out;
    for (int64_t t = 0; t < n_rows; ++t) {
      float* row = y + t * a.n_out;
      for (int64_t o = 0; o < a.n_out; ++o) row[o] += b[o];
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Affine> ReadAffine(const AdapterTensors& tensors, const std::string& prefix,
                                  int64_t n_in, int64_t n_out, std::vector<int64_t> bias_dims) {
  Affine a;
  a.n_in = n_in;
  a.n_out = n_out;
  CW_ASSIGN_OR_RETURN(a.w, tensors.Read(prefix + "weight", {n_in, n_out}));
  if (!bias_dims.empty()) {
    CW_ASSIGN_OR_RETURN(a.b, tensors.Read(prefix + "bias", bias_dims));
  }
  return a;
}

}  // namespace cachewire::adapter
