#include "engine/adapter/c2c_weights.h"

#include <string>

#include "engine/adapter/adapter_tensors.h"
#include "engine/common/status_macros.h"
#include "engine/gguf/gguf_file.h"
#include "engine/gguf/str_cat.h"

namespace cachewire::adapter {

int64_t C2cHeadGroups(const ModelIdentity& sharer, const ModelIdentity& receiver) {
  return sharer.n_head_kv == receiver.n_head_kv ? receiver.n_head_kv : 1;
}

absl::StatusOr<C2cWeights> LoadC2cWeights(const gguf::File& file, const ModelIdentity& sharer,
                                          const ModelIdentity& receiver) {
  const AdapterTensors r(file);
  C2cWeights w;
  CW_ASSIGN_OR_RETURN(w.hidden, r.Count("cachewire.c2c.hidden", 65536));
  CW_ASSIGN_OR_RETURN(w.head_groups, r.Count("cachewire.c2c.head_groups", 1024));
  const int64_t groups = C2cHeadGroups(sharer, receiver);
  if (w.head_groups != groups) {
    return r.KeyError("cachewire.c2c.head_groups",
                      gguf::Cat(w.head_groups, ", expected ", groups, " for kv-heads ", receiver.n_head_kv,
                                " (receiver) and ", sharer.n_head_kv, " (sharer)"));
  }
  CW_ASSIGN_OR_RETURN(w.layer_map, r.Indices("cachewire.c2c.layer_map", receiver.n_layer, sharer.n_layer));
  const int64_t n_in =
      (receiver.n_head_kv * (receiver.head_dim_k + receiver.head_dim_v) +
       sharer.n_head_kv * (sharer.head_dim_k + sharer.head_dim_v)) / groups;
  const int64_t n_out = receiver.n_head_kv * (receiver.head_dim_k + receiver.head_dim_v) / groups;
  for (int64_t il = 0; il < receiver.n_layer; ++il) {
    const std::string p = gguf::Cat("fuse.", il, ".");
    C2cLayerWeights l;
    CW_ASSIGN_OR_RETURN(l.in, ReadAffine(r, p + "in.", n_in, w.hidden, {w.hidden, groups}));
    CW_ASSIGN_OR_RETURN(l.out, ReadAffine(r, p + "out.", w.hidden, n_out, {n_out}));
    CW_ASSIGN_OR_RETURN(l.gate, r.Read(p + "gate", {receiver.n_head_kv, 2}));
    w.layers.push_back(std::move(l));
  }
  return w;
}

}  // namespace cachewire::adapter
