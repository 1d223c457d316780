// The handoff adapters a worker serves (--adapter FILE, repeatable), each loaded once at start
// and bound to the worker's model. A file is an LCF adapter or a C2C fuser, as its
// general.architecture says ("cachewire.lcf", "cachewire.c2c"); names are unique within a
// kind (the LCF adapter and the C2C fuser of one model pair may share one). Each is served on
// its sharer side (ExportSummary / ExportCache: this model's cache is read), its receiver side
// (ImportSummary / FuseCache: it is written) or both, as the identity it records for each side
// matches the model (model_identity.h). One loaded adapter serves every session at once
// (LcfAdapter's and C2cFuser's methods are const).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/adapter/c2c_fuser.h"
#include "engine/adapter/lcf_adapter.h"
#include "engine/model/model.h"

namespace cachewire::server::worker {

struct ServedAdapter {
  // Exactly one is set.
  std::unique_ptr<adapter::LcfAdapter> lcf;
  std::unique_ptr<adapter::C2cFuser> c2c;
  absl::Status sharer;    // OK when this worker's model is the adapter's sharer, else why not
  absl::Status receiver;  // the same for its receiver side

  const char* kind() const { return lcf ? "lcf" : "c2c"; }
  const std::string& name() const { return lcf ? lcf->name() : c2c->name(); }
  const std::string& path() const { return lcf ? lcf->path() : c2c->path(); }
  const adapter::ModelIdentity& sharer_model() const {
    return lcf ? lcf->sharer() : c2c->sharer();
  }
  const adapter::ModelIdentity& receiver_model() const {
    return lcf ? lcf->receiver() : c2c->receiver();
  }
};

class AdapterSet {
 public:
  AdapterSet() = default;
  // Loads every file and checks it against `model`. InvalidArgument naming the file when it
  // does not load (an architecture of neither kind included), when the model is neither of its
  // sides, or when two files of one kind share a name.
  static absl::StatusOr<AdapterSet> Load(const std::vector<std::string>& paths,
                                         const model::Model& model);

  // The adapter `name` of the kind and on the side a request needs: NotFound naming `adapter`
  // when this worker loaded none of that name; FailedPrecondition naming `adapter` when it is
  // of the other kind, or naming the side (CheckSharer / CheckReceiver's message) when its
  // model is not that side.
  // LCF: ExportSummary and ImportSummary.
  absl::StatusOr<const adapter::LcfAdapter*> ForExport(std::string_view name) const;
  absl::StatusOr<const adapter::LcfAdapter*> ForImport(std::string_view name) const;
  // C2C: ExportCache and FuseCache.
  absl::StatusOr<const adapter::C2cFuser*> ForCacheExport(std::string_view name) const;
  absl::StatusOr<const adapter::C2cFuser*> ForFuse(std::string_view name) const;

  const std::vector<ServedAdapter>& all() const { return adapters_; }

 private:
  enum class Side { kSharer, kReceiver };
  // The served adapter `name`, of `kind` ("lcf" or "c2c") and made for this model on `side`.
  absl::StatusOr<const ServedAdapter*> Find(std::string_view name, std::string_view kind,
                                            Side side) const;

  std::vector<ServedAdapter> adapters_;
};

}  // namespace cachewire::server::worker
