#include "engine/adapter/adapter_tensors.h"

#include "engine/common/status_macros.h"
#include "engine/gguf/dequantize.h"
#include "engine/gguf/gguf_file.h"
#include "engine/gguf/str_cat.h"

namespace cachewire::adapter {
namespace {

std::string Dims(const std::vector<int64_t>& dims) {
  std::string s;
  for (int64_t d : dims) s += gguf::Cat(s.empty() ? "" : ", ", d);
  return gguf::Cat("[", s, "]");
}

}  // namespace

absl::Status AdapterTensors::TensorError(const std::string& name, const std::string& what) const {
  return absl::InvalidArgumentError(gguf::Cat(file_.path(), ": tensor ", name, ": ", what));
}

absl::Status AdapterTensors::KeyError(const std::string& key, const std::string& what) const {
  return absl::InvalidArgumentError(gguf::Cat(file_.path(), ": ", key, ": ", what));
}

absl::StatusOr<std::vector<float>> AdapterTensors::Read(const std::string& name,
                                                        const std::vector<int64_t>& dims) const {
  const gguf::TensorInfo* t = file_.FindTensor(name);
  if (t == nullptr) return TensorError(name, "missing");
  if (t->shape != dims) return TensorError(name, gguf::Cat("shape ", Dims(t->shape), ", expected ", Dims(dims)));
  if (t->type != gguf::TensorType::kF32 && t->type != gguf::TensorType::kF16) {
    return TensorError(name, gguf::Cat("type ", gguf::TensorTypeName(t->type), ", expected F32 or F16"));
  }
  std::vector<float> out(static_cast<size_t>(t->n_elements()));
  CW_RETURN_IF_ERROR(gguf::Dequantize(t->type, {t->data, t->n_bytes}, out));
  return out;
}

absl::StatusOr<int64_t> AdapterTensors::Count(const std::string& key, int64_t most) const {
  auto v = file_.GetInt(key);
  if (!v.ok() || *v <= 0 || *v > most) {
    return KeyError(key, gguf::Cat("missing or not an integer in [1, ", most, "]"));
  }
  return *v;
}

absl::StatusOr<std::vector<int64_t>> AdapterTensors::Indices(const std::string& key, int64_t n,
                                                             int64_t bound) const {
  auto v = file_.GetIntArray(key);
  if (!v.ok()) return KeyError(key, "missing or not an array of integers");
  if (static_cast<int64_t>(v->size()) != n) {
    return KeyError(key, gguf::Cat(v->size(), " items, expected ", n));
  }
  for (size_t i = 0; i < v->size(); ++i) {
    if ((*v)[i] < 0 || (*v)[i] >= bound) {
      return KeyError(key, gguf::Cat("item ", i, " is ", (*v)[i], ", outside [0, ", bound, ")"));
    }
  }
  return *std::move(v);
}

}  // namespace cachewire::adapter
