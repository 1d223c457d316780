// A Cache-to-Cache fuser (LCF.md, "C2C fuser") for one sharer -> receiver model pair, loaded
// from its GGUF (general.architecture = cachewire.c2c), run on the CPU in f32.
//
//   auto c2c = C2cFuser::Load("models/adapters/cw-llama--cw-gemma3.c2c.gguf");
//   CW_RETURN_IF_ERROR((*c2c)->CheckSharer(sharer_identity));
//   CW_RETURN_IF_ERROR((*c2c)->CheckReceiver(receiver_identity));
//   CW_ASSIGN_OR_RETURN(auto align, AlignTokens(receiver_spans, sharer_spans));   // c2c_align.h
//   for each receiver layer il:
//     sharer rows of layer (*c2c)->layer_map()[il], gathered by `align` (GatherRows)
//     CW_ASSIGN_OR_RETURN(C2cFusedKv kv, (*c2c)->FuseLayer(il, {rk, rv, sk, sv}));
//
// Both agents prefilled the same text. Per receiver layer il and token t, with the aligned sharer
// entry of layer layer_map[il], per head group g (one per kv-head when both models have the same
// number of kv-heads, else one group of every head):
//   x = [k_r; v_r; k_s; v_s]  (the group's heads, head-major; keys un-rotated: after QK-norm,
//                              before RoPE)
//   d = out(gelu_tanh(in(x) + in.bias[g]))  = [dk of the group's heads; dv of them]
//   k_r' = k_r + sigmoid(gate[0][head]) * dk,  v_r' = v_r + sigmoid(gate[1][head]) * dv
// tools/train/c2c_fuser.py is the same network in torch (golden files check the two agree).
// Writing the fused entries back into a live session (re-rotating the keys for the positions they
// hold) is the cache's business and not done here.
//
// Const methods only: one loaded fuser serves concurrent sessions.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/adapter/model_identity.h"

namespace cachewire::gguf {
class File;
}

namespace cachewire::adapter {

// One receiver layer's entries and the aligned sharer entries (row t of the sharer arrays is the
// sharer token receiver token t aligns to), token-major, keys un-rotated.
struct C2cLayerEntries {
  std::span<const float> receiver_k;  // (n, receiver n_head_kv, head_dim_k)
  std::span<const float> receiver_v;  // (n, receiver n_head_kv, head_dim_v)
  std::span<const float> sharer_k;    // (n, sharer n_head_kv, head_dim_k)
  std::span<const float> sharer_v;    // (n, sharer n_head_kv, head_dim_v)
};

struct C2cFusedKv {
  std::vector<float> k;  // (n, receiver n_head_kv, head_dim_k), un-rotated
  std::vector<float> v;  // (n, receiver n_head_kv, head_dim_v)
};

class C2cFuser {
 public:
  // InvalidArgument naming the file and the key or tensor for anything missing, mistyped or
  // misshapen (a missing file: the GGUF reader's error).
  static absl::StatusOr<std::unique_ptr<C2cFuser>> Load(const std::string& path);
  // The same from an in-memory image (`name` stands in for the path in errors).
  static absl::StatusOr<std::unique_ptr<C2cFuser>> FromBuffer(std::string name,
                                                              std::span<const uint8_t> bytes);
  ~C2cFuser();

  const std::string& name() const;  // general.name
  const std::string& path() const;
  int64_t hidden() const;
  int64_t head_groups() const;
  int64_t n_params() const;
  const ModelIdentity& sharer() const;
  const ModelIdentity& receiver() const;
  // Per receiver layer, the sharer layer it reads.
  const std::vector<int64_t>& layer_map() const;

  // FailedPrecondition naming the side and the field when `model` is not the one the fuser was
  // made for (CheckIdentity).
  absl::Status CheckSharer(const ModelIdentity& model) const;
  absl::Status CheckReceiver(const ModelIdentity& model) const;

  // Fuses receiver layer il. InvalidArgument for a layer outside the receiver's or arrays whose
  // sizes are not whole rows of the same token count.
  absl::StatusOr<C2cFusedKv> FuseLayer(int64_t il, const C2cLayerEntries& in) const;

 private:
  struct Impl;
  explicit C2cFuser(std::unique_ptr<Impl> impl);
  static absl::StatusOr<std::unique_ptr<C2cFuser>> FromFile(const gguf::File& file);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cachewire::adapter
