// What an adapter must know of a model to be used with it: the cache shape it reads or writes
// and a fingerprint of the tokenizer and weights (LCF.md: an adapter trained for one model is
// noise for another, even of the same shape).
//
// The fingerprint is FNV-1a 64 over, in order: every token string of tokenizer.ggml.tokens
// followed by a zero byte; then for every tensor in file order its name and a zero byte, its
// type id (u32 LE), its dimension count (u32 LE), each dimension (u64 LE), and its data (all of
// it up to 8 KiB, else the first and last 4 KiB). Cheap for any model size, and a retrained or
// re-quantised file changes it. tools/train/export_adapter.py computes the same.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace cachewire::gguf {
class File;
}

namespace cachewire::adapter {

struct ModelIdentity {
  std::string name;          // general.name (informative only: not compared)
  std::string architecture;  // general.architecture
  int64_t n_layer = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim_k = 0;
  int64_t head_dim_v = 0;
  std::string fingerprint;   // 16 lowercase hex digits
};

// Identity of a model file (its hyper-parameters read as the model loader reads them).
absl::StatusOr<ModelIdentity> IdentityOfModel(const gguf::File& model);

// The fingerprint alone (see the file comment).
std::string Fingerprint(const gguf::File& model);

// Identity recorded in an adapter under `prefix` ("cachewire.sharer" / "cachewire.receiver");
// InvalidArgument naming the adapter file and the key when a field is missing or mistyped.
absl::StatusOr<ModelIdentity> IdentityFromAdapter(const gguf::File& adapter, std::string_view prefix);

// OK when `actual` is the model `expected` describes; else FailedPrecondition
// "<what>: <side> model differs in <field> (adapter has X, worker has Y)".
absl::Status CheckIdentity(const ModelIdentity& expected, const ModelIdentity& actual,
                           std::string_view what, std::string_view side);

}  // namespace cachewire::adapter
