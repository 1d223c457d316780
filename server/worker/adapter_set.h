// The handoff adapters a worker serves (--adapter FILE, repeatable), each loaded once at start
// and bound to the worker's model: an LCF adapter is served on its sharer side (ExportSummary:
// the encoder reads this model's cache), its receiver side (ImportSummary: the decoder writes
// it) or both, as the identity it records for each side matches the model (model_identity.h).
// One loaded adapter serves every session at once (LcfAdapter's methods are const).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/adapter/lcf_adapter.h"
#include "engine/model/model.h"

namespace cachewire::server::worker {

struct ServedAdapter {
  std::unique_ptr<adapter::LcfAdapter> lcf;
  absl::Status sharer;    // OK when this worker's model is the adapter's sharer, else why not
  absl::Status receiver;  // the same for its receiver side
};

class AdapterSet {
 public:
  AdapterSet() = default;
  // Loads every file and checks it against `model`. InvalidArgument naming the file when it
  // does not load, when the model is neither of its sides, or when two files share a name.
  static absl::StatusOr<AdapterSet> Load(const std::vector<std::string>& paths,
                                         const model::Model& model);

  // The adapter `name` on the side a request needs: NotFound naming `adapter` when this worker
  // loaded none of that name; FailedPrecondition naming the side (LcfAdapter::CheckSharer /
  // CheckReceiver's message) when its model is not that side.
  absl::StatusOr<const adapter::LcfAdapter*> ForExport(std::string_view name) const;
  absl::StatusOr<const adapter::LcfAdapter*> ForImport(std::string_view name) const;

  const std::vector<ServedAdapter>& all() const { return adapters_; }

 private:
  absl::StatusOr<const ServedAdapter*> Find(std::string_view name) const;

  std::vector<ServedAdapter> adapters_;
};

}  // namespace cachewire::server::worker
