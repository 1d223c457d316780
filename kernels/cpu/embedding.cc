// EmbeddingLookup (kernels/embedding.h) through gguf::DequantizeRow, the reference dequantiser.
#include "kernels/embedding.h"

#include "engine/gguf/dequantize.h"
#include "engine/gguf/str_cat.h"
#include "kernels/elementwise.h"

namespace cachewire::kernels {

absl::Status EmbeddingLookup(const EmbeddingArgs& a) {
  const std::optional<size_t> row_bytes = gguf::RowBytes(a.type, a.n_embd);
  if (!row_bytes.has_value() || a.n_embd <= 0 || a.n_vocab <= 0) {
    return absl::InvalidArgumentError(gguf::Cat("embedding: n_embd=", a.n_embd, " n_vocab=",
                                                a.n_vocab, " invalid for type ",
                                                gguf::TensorTypeName(a.type)));
  }
  const auto* table = static_cast<const uint8_t*>(a.table);
  for (size_t t = 0; t < a.ids.size(); ++t) {
    const int32_t id = a.ids[t];
    if (id < 0 || id >= a.n_vocab) {
      return absl::InvalidArgumentError(gguf::Cat("token id ", id, " at position ", t,
                                                  " is outside [0, ", a.n_vocab, ")"));
    }
    float* row = a.out + static_cast<int64_t>(t) * a.n_embd;
    if (absl::Status s = gguf::DequantizeRow(a.type, table + static_cast<size_t>(id) * *row_bytes,
                                             row, a.n_embd);
        !s.ok()) {
      return s;
    }
    if (a.scale != 1.0f) ScaleInPlace(row, a.scale, a.n_embd);
  }
  return absl::OkStatus();
}

}  // namespace cachewire::kernels
