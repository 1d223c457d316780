// Loading and looking up the worker's adapters (see adapter_set.h).
#include "server/worker/adapter_set.h"

#include <utility>

#include "engine/gguf/str_cat.h"

namespace cachewire::server::worker {

using gguf::Cat;

absl::StatusOr<AdapterSet> AdapterSet::Load(const std::vector<std::string>& paths,
                                            const model::Model& model) {
  AdapterSet set;
  if (paths.empty()) return set;
  auto identity = adapter::IdentityOfModel(model.file());
  if (!identity.ok()) return identity.status();
  for (const std::string& path : paths) {
    auto lcf = adapter::LcfAdapter::Load(path);
    if (!lcf.ok()) {
      return absl::InvalidArgumentError(Cat("--adapter ", path, ": ", lcf.status().message()));
    }
    ServedAdapter served;
    served.lcf = *std::move(lcf);
    served.sharer = served.lcf->CheckSharer(*identity);
    served.receiver = served.lcf->CheckReceiver(*identity);
    if (!served.sharer.ok() && !served.receiver.ok()) {
      return absl::InvalidArgumentError(
          Cat("--adapter ", path, ": made for neither side of this worker's model ",
              model.file().path(), " (", served.sharer.message(), "; ",
              served.receiver.message(), ")"));
    }
    for (const ServedAdapter& other : set.adapters_) {
      if (other.lcf->name() == served.lcf->name()) {
        return absl::InvalidArgumentError(Cat("--adapter ", path, ": general.name '",
                                              served.lcf->name(), "' is also the name of ",
                                              other.lcf->path()));
      }
    }
    set.adapters_.push_back(std::move(served));
  }
  return set;
}

absl::StatusOr<const ServedAdapter*> AdapterSet::Find(std::string_view name) const {
  if (name.empty()) return absl::InvalidArgumentError("adapter: empty");
  for (const ServedAdapter& served : adapters_) {
    if (served.lcf->name() == name) return &served;
  }
  std::string loaded;
  for (const ServedAdapter& served : adapters_) {
    loaded += (loaded.empty() ? "" : ", ") + served.lcf->name();
  }
  return absl::NotFoundError(Cat("adapter '", name, "': not loaded by this worker (loaded: ",
                                 loaded.empty() ? "none" : loaded, ")"));
}

absl::StatusOr<const adapter::LcfAdapter*> AdapterSet::ForExport(std::string_view name) const {
  auto served = Find(name);
  if (!served.ok()) return served.status();
  if (!(*served)->sharer.ok()) return (*served)->sharer;
  return (*served)->lcf.get();
}

absl::StatusOr<const adapter::LcfAdapter*> AdapterSet::ForImport(std::string_view name) const {
  auto served = Find(name);
  if (!served.ok()) return served.status();
  if (!(*served)->receiver.ok()) return (*served)->receiver;
  return (*served)->lcf.get();
}

}  // namespace cachewire::server::worker
