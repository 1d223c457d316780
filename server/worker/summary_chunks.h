// The latent summary of an LCF handoff in its wire form (cachewire.v1.SummaryChunk): the
// exporter splits n_slots x slot_dim floats into chunks of a few slots, the importer checks
// every chunk as it arrives and reassembles the floats. Chunks carry consecutive slot ranges
// in order, numbered from 0 without gaps, the last one marked; any deviation is an
// InvalidArgument naming the chunk's field, so that a bad stream is refused before anything
// reaches the session.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cachewire/v1/worker.pb.h"

namespace cachewire::server::worker {

struct SummaryShape {
  std::string adapter;  // the adapter's name
  int64_t n_slots = 0;  // per_token: the most a stream may declare
  int64_t slot_dim = 0;
  // A per-token adapter's summary has one slot per sharer token sent: its first chunk declares
  // the count (1 to n_slots) and every later chunk repeats it.
  bool per_token = false;
};

// Default and largest ExportSummaryRequest.slots_per_chunk.
inline constexpr int32_t kDefaultSlotsPerChunk = 4;
inline constexpr int32_t kMaxSlotsPerChunk = 64;

// slots: (n_slots, slot_dim). Internal naming the slot and value when one does not fit f16
// (an adapter that produces that is broken, not the request).
absl::StatusOr<std::vector<cachewire::v1::SummaryChunk>> SplitSummary(
    const SummaryShape& shape, std::span<const float> slots, int32_t slots_per_chunk);

class SummaryAssembler {
 public:
  // `session_id` is the one the first chunk named (later chunks may repeat it).
  SummaryAssembler(SummaryShape shape, std::string session_id);

  // Checks the next chunk and keeps its slots. After an error the assembler is spent.
  absl::Status Add(const cachewire::v1::SummaryChunk& chunk);
  // The last chunk arrived (every slot is then in).
  bool complete() const { return complete_; }
  int64_t chunks() const { return next_seq_; }
  int64_t bytes() const { return bytes_; }
  // (n_slots, slot_dim), complete() only.
  std::vector<float> TakeSlots() { return std::move(slots_); }

 private:
  SummaryShape shape_;  // per_token: n_slots becomes the count the first chunk declares
  const std::string session_id_;
  std::vector<float> slots_;  // (n_slots, slot_dim)
  int64_t next_seq_ = 0;
  int64_t next_slot_ = 0;
  int64_t bytes_ = 0;
  bool complete_ = false;
};

}  // namespace cachewire::server::worker
