#include "engine/adapter/c2c_align.h"

#include <algorithm>

#include "engine/gguf/str_cat.h"

namespace cachewire::adapter {
namespace {

absl::Status CheckSpan(const TokenSpan& s, const char* side, size_t i) {
  if (s.begin < 0 || s.end < s.begin) {
    return absl::InvalidArgumentError(
        gguf::Cat(side, " token ", i, ": span [", s.begin, ", ", s.end, ") is not a byte range"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<int64_t>> AlignTokens(std::span<const TokenSpan> receiver,
                                                 std::span<const TokenSpan> sharer) {
  if (sharer.empty()) return absl::InvalidArgumentError("sharer: no tokens to align to");
  // The sharer tokens that stand for text, in order: their spans tile part of the text.
  std::vector<int64_t> starts, ends, index;
  for (size_t j = 0; j < sharer.size(); ++j) {
    const TokenSpan& s = sharer[j];
    if (absl::Status st = CheckSpan(s, "sharer", j); !st.ok()) return st;
    if (s.end == s.begin) continue;
    if (!ends.empty() && s.begin < ends.back()) {
      return absl::InvalidArgumentError(
          gguf::Cat("sharer token ", j, ": span [", s.begin, ", ", s.end, ") overlaps the one before it"));
    }
    starts.push_back(s.begin);
    ends.push_back(s.end);
    index.push_back(static_cast<int64_t>(j));
  }
  std::vector<int64_t> out;
  out.reserve(receiver.size());
  for (size_t i = 0; i < receiver.size(); ++i) {
    const TokenSpan& r = receiver[i];
    if (absl::Status st = CheckSpan(r, "receiver", i); !st.ok()) return st;
    const int64_t last = r.end > r.begin ? r.end - 1 : r.begin - 1;
    if (last < 0) {  // nothing read yet: the sharer's first token (its BOS)
      out.push_back(0);
      continue;
    }
    // The last sharer token starting at or before `last`; it must also reach past it.
    const auto it = std::upper_bound(starts.begin(), starts.end(), last);
    const size_t k = static_cast<size_t>(it - starts.begin());
    if (k == 0 || last >= ends[k - 1]) {
      return absl::InvalidArgumentError(
          gguf::Cat("receiver token ", i, ": byte ", last, " is in no sharer token"));
    }
    out.push_back(index[k - 1]);
  }
  return out;
}

std::vector<int64_t> DepthLayerMap(int64_t n_receiver_layers, int64_t n_sharer_layers) {
  std::vector<int64_t> map(static_cast<size_t>(std::max<int64_t>(n_receiver_layers, 0)), 0);
  if (n_receiver_layers <= 1) return map;
  // round(il * (Ls - 1) / (Lr - 1)) with halves up, in integers (the torch side does the same).
  const int64_t den = n_receiver_layers - 1;
  for (int64_t il = 0; il < n_receiver_layers; ++il) {
    map[static_cast<size_t>(il)] = (2 * il * (n_sharer_layers - 1) + den) / (2 * den);
  }
  return map;
}

absl::StatusOr<std::vector<float>> GatherRows(std::span<const float> rows, int64_t row_len,
                                              std::span<const int64_t> index) {
  if (row_len <= 0 || rows.size() % static_cast<size_t>(row_len) != 0) {
    return absl::InvalidArgumentError(
        gguf::Cat("rows: ", rows.size(), " values are not a whole number of rows of ", row_len));
  }
  const int64_t n_rows = static_cast<int64_t>(rows.size()) / row_len;
  std::vector<float> out(index.size() * static_cast<size_t>(row_len));
  for (size_t i = 0; i < index.size(); ++i) {
    if (index[i] < 0 || index[i] >= n_rows) {
      return absl::InvalidArgumentError(
          gguf::Cat("index ", i, ": row ", index[i], " outside [0, ", n_rows, ")"));
    }
    std::copy_n(rows.data() + index[i] * row_len, row_len, out.data() + i * static_cast<size_t>(row_len));
  }
  return out;
}

}  // namespace cachewire::adapter
