// A Latent Cache Flow adapter (LCF.md) for one sharer -> receiver model pair, loaded from its
// GGUF (general.architecture = cachewire.lcf), run on the CPU in f32.
//
//   auto lcf = LcfAdapter::Load("models/adapters/cw-llama--cw-gemma3.lcf.gguf");
//   CW_RETURN_IF_ERROR((*lcf)->CheckSharer(sharer_identity));          // on the sharer's worker
//   CW_ASSIGN_OR_RETURN(std::vector<float> slots, (*lcf)->Encode(sharer_model, sharer_session));
//   ... slots (n_slots x slot_dim) travel as f16 ...
//   CW_RETURN_IF_ERROR((*lcf)->CheckReceiver(receiver_identity));      // on the receiver's worker
//   CW_RETURN_IF_ERROR((*lcf)->Import(receiver_model, receiver_session, slots));
//
// Encoder: every entry of every sharer layer that the session's next token would attend to
// (a sliding-window layer: its last window - 1; pinned entries excluded), keys un-rotated, is
// projected to width r per layer, RMS-normed, and pooled into M slots by multi-head attention
// from M learned queries, then one output projection. With positional pooling (enc.pos.weight)
// head h's score of slot m for an entry of token t also loses p_h (t / T - (m + 0.5) / M)^2,
// T being the tokens the session has seen, so that slots follow the text's order (lcf_encoder.h
// computes this without widening the entries to r). Decoder: a residual GELU MLP over the
// slots, then per receiver layer a linear map to M (key, value) pairs per kv-head; Import pins
// them into the receiver session (Session::Pin: after the sinks, or beside a sliding-window
// layer's ring), atomically.
// A per-token adapter (cachewire.lcf.per_token) pools nothing: it sends one slot per sharer
// token, at most M (the first tokens, then those of lowest key norm: token_selection.h), each
// the sum of its entries' projections, and its decoder (the MLP's GELU activations, no residual,
// read by the per-layer maps) turns each into the entries the receiver would hold for that
// token; M is then the most slots, and a summary may have fewer.
// tools/train/lcf_adapter.py is the same network in torch (golden files check the two agree).
//
// Const methods only: one loaded adapter serves concurrent sessions (Encode keeps its scratch
// per thread). Encode and Import must not overlap a forward of the same session.
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
namespace cachewire::model {
class Model;
class Session;
}  // namespace cachewire::model

namespace cachewire::adapter {

class LcfAdapter {
 public:
  // Error naming the file and the key or tensor for anything missing, mistyped or misshapen.
  static absl::StatusOr<std::unique_ptr<LcfAdapter>> Load(const std::string& path);
  // The same from an in-memory image (`name` stands in for the path in errors; fuzzing).
  static absl::StatusOr<std::unique_ptr<LcfAdapter>> FromBuffer(std::string name,
                                                                std::span<const uint8_t> bytes);
  ~LcfAdapter();

  const std::string& name() const;   // general.name: the id requests and the router use
  const std::string& path() const;
  int64_t n_slots() const;           // M (per-token: the most)
  bool per_token() const;            // one slot per sharer token sent
  int64_t slot_dim() const;          // r
  int64_t n_params() const;
  const ModelIdentity& sharer() const;
  const ModelIdentity& receiver() const;

  // FailedPrecondition naming the side and the field when `model` is not the one the adapter
  // was made for (CheckIdentity).
  absl::Status CheckSharer(const ModelIdentity& model) const;
  absl::Status CheckReceiver(const ModelIdentity& model) const;

  // The summary of the session's cache: n_slots * slot_dim floats, slot-major (per-token: 1 to
  // n_slots slots).
  // FailedPrecondition when the session holds no entries; the identity checks are the caller's.
  absl::StatusOr<std::vector<float>> Encode(const model::Model& sharer,
                                            const model::Session& session) const;

  // Decodes `slots` (n_slots * slot_dim; per-token: 1 to n_slots slots) and pins the entries
  // into the session, replacing earlier pins; on any error the session is unchanged.
  // InvalidArgument for a wrong slot count or a non-finite value; FailedPrecondition when the
  // session's cache takes no pins (unbounded policy) or M does not fit its policy.
  absl::Status Import(const model::Model& receiver, model::Session& session,
                      std::span<const float> slots) const;

  // The decoder alone: per receiver layer, M x n_head_kv x head_dim keys (un-rotated) then
  // values (tests and goldens).
  absl::StatusOr<std::vector<std::vector<float>>> Decode(std::span<const float> slots) const;

  // The slots in `n_values` floats, or InvalidArgument naming `slots` when it is not a count the
  // adapter takes (exactly n_slots; per-token: 1 to n_slots).
  absl::StatusOr<int64_t> SlotCount(size_t n_values) const;

 private:
  struct Impl;
  explicit LcfAdapter(std::unique_ptr<Impl> impl);
  // Everything is copied out of the file: the adapter does not keep it open.
  static absl::StatusOr<std::unique_ptr<LcfAdapter>> FromFile(const gguf::File& file);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cachewire::adapter
