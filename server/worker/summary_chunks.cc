// Splitting and checking summary chunks (see summary_chunks.h).
#include "server/worker/summary_chunks.h"

#include <algorithm>
#include <utility>

#include "engine/gguf/str_cat.h"
#include "server/worker/f16_wire.h"

namespace cachewire::server::worker {

using gguf::Cat;

absl::StatusOr<std::vector<cachewire::v1::SummaryChunk>> SplitSummary(
    const SummaryShape& shape, std::span<const float> slots, int32_t slots_per_chunk) {
  if (static_cast<int64_t>(slots.size()) != shape.n_slots * shape.slot_dim) {
    return absl::InternalError(Cat("adapter '", shape.adapter, "': the encoder gave ",
                                   slots.size(), " values, not n_slots x slot_dim = ",
                                   shape.n_slots * shape.slot_dim));
  }
  std::vector<cachewire::v1::SummaryChunk> chunks;
  for (int64_t first = 0; first < shape.n_slots; first += slots_per_chunk) {
    const int64_t count = std::min<int64_t>(slots_per_chunk, shape.n_slots - first);
    cachewire::v1::SummaryChunk& chunk = chunks.emplace_back();
    chunk.set_seq(static_cast<int64_t>(chunks.size()) - 1);
    chunk.set_adapter(shape.adapter);
    chunk.set_n_slots(shape.n_slots);
    chunk.set_slot_dim(shape.slot_dim);
    chunk.set_first_slot(first);
    chunk.set_slot_count(count);
    chunk.set_last(first + count == shape.n_slots);
    const auto values = slots.subspan(static_cast<size_t>(first * shape.slot_dim),
                                      static_cast<size_t>(count * shape.slot_dim));
    if (const int64_t bad = AppendF16(values, chunk.mutable_slots()); bad >= 0) {
      const int64_t at = first * shape.slot_dim + bad;
      return absl::InternalError(Cat("adapter '", shape.adapter, "': slot ",
                                     at / shape.slot_dim, " value ", at % shape.slot_dim, " (",
                                     slots[static_cast<size_t>(at)], ") does not fit f16"));
    }
  }
  return chunks;
}

SummaryAssembler::SummaryAssembler(SummaryShape shape, std::string session_id)
    : shape_(std::move(shape)), session_id_(std::move(session_id)) {
  slots_.resize(static_cast<size_t>(shape_.n_slots * shape_.slot_dim));
}

absl::Status SummaryAssembler::Add(const cachewire::v1::SummaryChunk& c) {
  const auto invalid = [&](std::string_view field, const std::string& what) {
    return absl::InvalidArgumentError(Cat(field, ": ", what, " (chunk ", c.seq(), ")"));
  };
  if (complete_) return invalid("seq", "chunk after the last one");
  if (c.seq() != next_seq_) {
    return invalid("seq", Cat("expected ", next_seq_, ", got ", c.seq(),
                              " (chunks are numbered from 0 without gaps)"));
  }
  if (!c.session_id().empty() && c.session_id() != session_id_) {
    return invalid("session_id", "differs from the first chunk's");
  }
  if (c.adapter() != shape_.adapter) {
    return invalid("adapter", Cat("'", c.adapter(), "' differs from the stream's '",
                                  shape_.adapter, "'"));
  }
  if (shape_.per_token && next_seq_ == 0) {  // the stream declares its count
    if (c.n_slots() < 1 || c.n_slots() > shape_.n_slots) {
      return invalid("n_slots", Cat("adapter '", shape_.adapter, "' takes 1 to ",
                                    shape_.n_slots, " slots, got ", c.n_slots()));
    }
    shape_.n_slots = c.n_slots();
    slots_.resize(static_cast<size_t>(shape_.n_slots * shape_.slot_dim));
  } else if (c.n_slots() != shape_.n_slots) {
    const std::string whose = shape_.per_token ? std::string("the stream declared ")
                                               : Cat("adapter '", shape_.adapter, "' has ");
    return invalid("n_slots", Cat(whose, shape_.n_slots, " slots, got ", c.n_slots()));
  }
  if (c.slot_dim() != shape_.slot_dim) {
    return invalid("slot_dim", Cat("adapter '", shape_.adapter, "' has slots of ",
                                   shape_.slot_dim, " values, got ", c.slot_dim()));
  }
  if (c.first_slot() != next_slot_) {
    return invalid("first_slot", Cat("expected ", next_slot_, " (the slot after the previous "
                                     "chunk's), got ", c.first_slot()));
  }
  if (c.slot_count() < 1 || c.slot_count() > shape_.n_slots - next_slot_) {
    return invalid("slot_count", Cat("must be in [1, ", shape_.n_slots - next_slot_,
                                     "] (slots ", next_slot_, "..", shape_.n_slots - 1,
                                     " remain), got ", c.slot_count()));
  }
  const int64_t n_values = c.slot_count() * shape_.slot_dim;
  if (static_cast<int64_t>(c.slots().size()) != 2 * n_values) {
    return invalid("slots", Cat("must hold slot_count x slot_dim x 2 = ", 2 * n_values,
                                " bytes of f16, got ", c.slots().size()));
  }
  const bool ends = next_slot_ + c.slot_count() == shape_.n_slots;
  if (c.last() && !ends) {
    return invalid("last", Cat("set, but slots ", next_slot_ + c.slot_count(), "..",
                               shape_.n_slots - 1, " were never sent"));
  }
  if (!c.last() && ends) return invalid("last", "not set on the chunk holding the final slot");
  // Decoded into place; a refused chunk leaves values there that nothing will read.
  float* out = slots_.data() + next_slot_ * shape_.slot_dim;
  if (const int64_t bad = DecodeF16(c.slots(), out); bad >= 0) {
    return invalid("slots", Cat("slot ", c.first_slot() + bad / shape_.slot_dim, " value ",
                                bad % shape_.slot_dim, " is ", out[bad],
                                " (NaN and infinities are refused)"));
  }
  ++next_seq_;
  next_slot_ += c.slot_count();
  bytes_ += static_cast<int64_t>(c.slots().size());
  complete_ = c.last();
  return absl::OkStatus();
}

}  // namespace cachewire::server::worker
