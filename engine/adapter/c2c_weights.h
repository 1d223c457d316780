// The tensors of a C2C fuser file (general.architecture = cachewire.c2c), as f32, checked against
// the two models' identities at load. tools/train/c2c_fuser.py names and shapes them;
// c2c_fuser.h says what they compute. Small (hundreds of thousands of parameters), so f32 keeps
// the fusion bit-comparable with the torch reference at no real cost.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/adapter/affine.h"
#include "engine/adapter/model_identity.h"

namespace cachewire::gguf {
class File;
}

namespace cachewire::adapter {

// One receiver layer's fusion MLP and gates.
struct C2cLayerWeights {
  Affine in;               // (hidden, n_in), bias (head_groups, hidden)
  Affine out;              // (n_out, hidden), bias (n_out)
  std::vector<float> gate; // (2, receiver n_head_kv): row 0 keys, row 1 values; pre-sigmoid
};

struct C2cWeights {
  int64_t hidden = 0;
  int64_t head_groups = 0;  // receiver n_head_kv when it equals the sharer's, else 1
  std::vector<int64_t> layer_map;         // (receiver n_layer): the sharer layer each reads
  std::vector<C2cLayerWeights> layers;    // (receiver n_layer)
};

// The head groups a pair of models is fused in (c2c_fuser.py): one per kv-head when the counts
// match, else a single group of every head.
int64_t C2cHeadGroups(const ModelIdentity& sharer, const ModelIdentity& receiver);

// InvalidArgument naming the file and the key or tensor for anything missing, mistyped, out of
// range or of the wrong shape.
absl::StatusOr<C2cWeights> LoadC2cWeights(const gguf::File& file, const ModelIdentity& sharer,
                                          const ModelIdentity& receiver);

}  // namespace cachewire::adapter
