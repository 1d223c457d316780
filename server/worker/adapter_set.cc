// Loading and looking up the worker's adapters (see adapter_set.h).
#include "server/worker/adapter_set.h"

#include <utility>

#include "engine/gguf/gguf_file.h"
#include "engine/gguf/str_cat.h"

namespace cachewire::server::worker {
namespace {

using gguf::Cat;

// Loads `path` as the kind its general.architecture names (read before either loader runs, so
// that a file of the other kind is not reported as a broken one of this kind).
absl::StatusOr<ServedAdapter> LoadOne(const std::string& path) {
  auto file = gguf::File::Open(path);
  if (!file.ok()) return file.status();
  auto arch = (*file)->GetString("general.architecture");
  ServedAdapter served;
  if (arch.ok() && *arch == "cachewire.lcf") {
    auto lcf = adapter::LcfAdapter::Load(path);
    if (!lcf.ok()) return lcf.status();
    served.lcf = *std::move(lcf);
  } else if (arch.ok() && *arch == "cachewire.c2c") {
    auto c2c = adapter::C2cFuser::Load(path);
    if (!c2c.ok()) return c2c.status();
    served.c2c = *std::move(c2c);
  } else {
    return absl::InvalidArgumentError(
        Cat("general.architecture: ", arch.ok() ? Cat("'", *arch, "'") : "missing",
            ", expected 'cachewire.lcf' (an LCF adapter) or 'cachewire.c2c' (a C2C fuser)"));
  }
  return served;
}

}  // namespace

absl::StatusOr<AdapterSet> AdapterSet::Load(const std::vector<std::string>& paths,
                                            const model::Model& model) {
  AdapterSet set;
  if (paths.empty()) return set;
  auto identity = adapter::IdentityOfModel(model.file());
  if (!identity.ok()) return identity.status();
  for (const std::string& path : paths) {
    auto loaded = LoadOne(path);
    if (!loaded.ok()) {
      return absl::InvalidArgumentError(Cat("--adapter ", path, ": ", loaded.status().message()));
    }
    ServedAdapter served = *std::move(loaded);
    served.sharer = served.lcf ? served.lcf->CheckSharer(*identity)
                               : served.c2c->CheckSharer(*identity);
    served.receiver = served.lcf ? served.lcf->CheckReceiver(*identity)
                                 : served.c2c->CheckReceiver(*identity);
    if (!served.sharer.ok() && !served.receiver.ok()) {
      return absl::InvalidArgumentError(
          Cat("--adapter ", path, ": made for neither side of this worker's model ",
              model.file().path(), " (", served.sharer.message(), "; ",
              served.receiver.message(), ")"));
    }
    for (const ServedAdapter& other : set.adapters_) {
      if (other.name() == served.name() && std::string_view(other.kind()) == served.kind()) {
        return absl::InvalidArgumentError(Cat("--adapter ", path, ": general.name '",
                                              served.name(), "' is also the name of ",
                                              other.path(), " (both ", served.kind(), ")"));
      }
    }
    set.adapters_.push_back(std::move(served));
  }
  return set;
}

absl::StatusOr<const ServedAdapter*> AdapterSet::Find(std::string_view name,
                                                      std::string_view kind, Side side) const {
  if (name.empty()) return absl::InvalidArgumentError("adapter: empty");
  const ServedAdapter* found = nullptr;
  std::string loaded;
  for (const ServedAdapter& served : adapters_) {
    // The kind asked for first: an LCF adapter and a C2C fuser may share a name.
    if (served.name() == name && (found == nullptr || served.kind() == kind)) found = &served;
    loaded += Cat(loaded.empty() ? "" : ", ", served.name(), " (", served.kind(), ")");
  }
  if (found == nullptr) {
    return absl::NotFoundError(Cat("adapter '", name, "': not loaded by this worker (loaded: ",
                                   loaded.empty() ? "none" : loaded, ")"));
  }
  if (found->kind() != kind) {
    const bool lcf = found->lcf != nullptr;
    return absl::FailedPreconditionError(
        Cat("adapter '", name, "': ", lcf ? "an lcf adapter, not a c2c fuser" :
            "a c2c fuser, not an lcf adapter", " (", lcf ? "ExportSummary / ImportSummary" :
            "ExportCache / FuseCache", " serve it)"));
  }
  const absl::Status& fits = side == Side::kSharer ? found->sharer : found->receiver;
  if (!fits.ok()) return fits;
  return found;
}

absl::StatusOr<const adapter::LcfAdapter*> AdapterSet::ForExport(std::string_view name) const {
  auto served = Find(name, "lcf", Side::kSharer);
  if (!served.ok()) return served.status();
  return (*served)->lcf.get();
}

absl::StatusOr<const adapter::LcfAdapter*> AdapterSet::ForImport(std::string_view name) const {
  auto served = Find(name, "lcf", Side::kReceiver);
  if (!served.ok()) return served.status();
  return (*served)->lcf.get();
}

absl::StatusOr<const adapter::C2cFuser*> AdapterSet::ForCacheExport(std::string_view name) const {
  auto served = Find(name, "c2c", Side::kSharer);
  if (!served.ok()) return served.status();
  return (*served)->c2c.get();
}

absl::StatusOr<const adapter::C2cFuser*> AdapterSet::ForFuse(std::string_view name) const {
  auto served = Find(name, "c2c", Side::kReceiver);
  if (!served.ok()) return served.status();
  return (*served)->c2c.get();
}

}  // namespace cachewire::server::worker
