// How two models line up for a C2C fuser (LCF.md, "C2C fuser"): their tokens over the same text
// and their layers by depth. tools/train/c2c_align.py and c2c_fuser.py are the same rules in torch.
//
// Tokens. Both agents prefilled the same text with their own tokenizers. Each token is given by
// the bytes of the text it stands for, [begin, end). A receiver token takes the sharer token
// whose span contains the receiver token's last byte (the sharer token that has read at least as
// far). A token with an empty span stands for no text (BOS; SentencePiece's lone dummy-prefix
// piece): at offset p it takes the sharer token holding byte p - 1, the last text both have read,
// and at offset 0 sharer token 0 (the sharer's BOS: BOS aligns to BOS).
//
// Layers. Receiver layer il reads sharer layer round(il * (Ls - 1) / (Lr - 1)), halves rounded
// up; a one-layer receiver reads sharer layer 0.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"

namespace cachewire::adapter {

// [begin, end) byte offsets of one token in the shared text; begin == end for BOS.
struct TokenSpan {
  int64_t begin = 0;
  int64_t end = 0;
};

// Per receiver token, the index of its sharer token. InvalidArgument naming the side and token
// for a negative or reversed span, sharer spans that overlap or run backwards, an empty sharer
// list, or a byte the receiver needs that no sharer token covers.
absl::StatusOr<std::vector<int64_t>> AlignTokens(std::span<const TokenSpan> receiver,
                                                 std::span<const TokenSpan> sharer);

// Per receiver layer, the sharer layer it reads (see the file comment). n_* >= 1.
std::vector<int64_t> DepthLayerMap(int64_t n_receiver_layers, int64_t n_sharer_layers);

// The rows of `rows` (n_rows x row_len, row-major) picked by `index`: (index.size(), row_len).
// InvalidArgument for an index outside [0, n_rows) or a size that is not n_rows * row_len.
absl::StatusOr<std::vector<float>> GatherRows(std::span<const float> rows, int64_t row_len,
                                              std::span<const int64_t> index);

}  // namespace cachewire::adapter
