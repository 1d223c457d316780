#include "engine/adapter/model_identity.h"

#include <cstdio>
#include <cstring>

#include "engine/common/status_macros.h"
#include "engine/gguf/gguf_file.h"
#include "engine/gguf/str_cat.h"
#include "engine/model/hparams.h"

namespace cachewire::adapter {
namespace {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull;
constexpr uint64_t kFnvPrime = 0x100000001b3ull;
constexpr size_t kWholeTensorBytes = 8192;  // larger tensors: first and last half of this
constexpr size_t kEdgeBytes = kWholeTensorBytes / 2;

class Fnv1a {
 public:
  void Bytes(const void* data, size_t n) {
    const auto* p = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i < n; ++i) h_ = (h_ ^ p[i]) * kFnvPrime;
  }
  void Text(std::string_view s) {
    Bytes(s.data(), s.size());
    Bytes("", 1);
  }
  void U32(uint32_t v) {
    const uint8_t le[4] = {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)};
    Bytes(le, 4);
  }
  void U64(uint64_t v) {
    U32(static_cast<uint32_t>(v));
    U32(static_cast<uint32_t>(v >> 32));
  }
  std::string Hex() const {
    char buf[17];
    std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h_));
    return buf;
  }

 private:
  uint64_t h_ = kFnvOffset;
};

}  // namespace

std::string Fingerprint(const gguf::File& model) {
  Fnv1a h;
  if (auto tokens = model.GetStringArray("tokenizer.ggml.tokens"); tokens.ok()) {
    for (std::string_view t : *tokens) h.Text(t);
  }
  for (const gguf::TensorInfo& t : model.tensors()) {
    h.Text(t.name);
    h.U32(static_cast<uint32_t>(t.type));
    h.U32(static_cast<uint32_t>(t.shape.size()));
    for (int64_t d : t.shape) h.U64(static_cast<uint64_t>(d));
    if (t.n_bytes <= kWholeTensorBytes) {
      h.Bytes(t.data, t.n_bytes);
    } else {
      h.Bytes(t.data, kEdgeBytes);
      h.Bytes(t.data + t.n_bytes - kEdgeBytes, kEdgeBytes);
    }
  }
  return h.Hex();
}

absl::StatusOr<ModelIdentity> IdentityOfModel(const gguf::File& model) {
  CW_ASSIGN_OR_RETURN(model::HParams hp, model::LoadHParams(model));
  ModelIdentity id;
  if (auto name = model.GetString("general.name"); name.ok()) id.name = std::string(*name);
  id.architecture = model::ArchName(hp.arch);
  id.n_layer = hp.n_layer;
  id.n_head_kv = hp.n_head_kv;
  id.head_dim_k = hp.head_dim_k;
  id.head_dim_v = hp.head_dim_v;
  id.fingerprint = Fingerprint(model);
  return id;
}

absl::StatusOr<ModelIdentity> IdentityFromAdapter(const gguf::File& adapter, std::string_view prefix) {
  auto key = [&](std::string_view field) { return gguf::Cat(prefix, ".", field); };
  auto text = [&](std::string_view field) -> absl::StatusOr<std::string> {
    auto v = adapter.GetString(key(field));
    if (!v.ok()) {
      return absl::InvalidArgumentError(
          gguf::Cat(adapter.path(), ": ", key(field), ": missing or not a string"));
    }
    return std::string(*v);
  };
  // Bounds far above any model's, so a damaged file cannot ask for absurd loops or buffers.
  auto count = [&](std::string_view field, int64_t most) -> absl::StatusOr<int64_t> {
    auto v = adapter.GetInt(key(field));
    if (!v.ok() || *v <= 0 || *v > most) {
      return absl::InvalidArgumentError(gguf::Cat(adapter.path(), ": ", key(field),
                                                  ": missing or not an integer in [1, ", most, "]"));
    }
    return *v;
  };
  ModelIdentity id;
  if (auto name = adapter.GetString(key("name")); name.ok()) id.name = std::string(*name);
  CW_ASSIGN_OR_RETURN(id.architecture, text("architecture"));
  CW_ASSIGN_OR_RETURN(id.n_layer, count("n_layer", 1024));
  CW_ASSIGN_OR_RETURN(id.n_head_kv, count("n_head_kv", 1024));
  CW_ASSIGN_OR_RETURN(id.head_dim_k, count("head_dim_k", 4096));
  CW_ASSIGN_OR_RETURN(id.head_dim_v, count("head_dim_v", 4096));
  CW_ASSIGN_OR_RETURN(id.fingerprint, text("fingerprint"));
  return id;
}

absl::Status CheckIdentity(const ModelIdentity& expected, const ModelIdentity& actual,
                           std::string_view what, std::string_view side) {
  auto differs = [&](std::string_view field, const auto& want, const auto& have) {
    return absl::FailedPreconditionError(
        gguf::Cat(what, ": ", side, " model differs in ", field, " (adapter made for ", want,
                  ", this model has ", have, ")"));
  };
  if (expected.architecture != actual.architecture)
    return differs("architecture", expected.architecture, actual.architecture);
  if (expected.n_layer != actual.n_layer) return differs("n_layer", expected.n_layer, actual.n_layer);
  if (expected.n_head_kv != actual.n_head_kv)
    return differs("n_head_kv", expected.n_head_kv, actual.n_head_kv);
  if (expected.head_dim_k != actual.head_dim_k)
    return differs("head_dim_k", expected.head_dim_k, actual.head_dim_k);
  if (expected.head_dim_v != actual.head_dim_v)
    return differs("head_dim_v", expected.head_dim_v, actual.head_dim_v);
  if (expected.fingerprint != actual.fingerprint) {
    return differs("fingerprint (tokenizer and weights)",
                   gguf::Cat(expected.name, " ", expected.fingerprint),
                   gguf::Cat(actual.name, " ", actual.fingerprint));
  }
  return absl::OkStatus();
}

}  // namespace cachewire::adapter
