// Adapter names from the adapter files (see adapter_files.h).
#include "server/router/adapter_files.h"

#include <string>

#include "engine/gguf/gguf_file.h"

namespace cachewire::router {
namespace {

absl::Status ReadName(const std::string& config_path, const std::string& field,
                      AdapterConfig& adapter) {
  const auto problem = [&](const std::string& what) {
    return absl::InvalidArgumentError(config_path + ": " + field + ".file: " + adapter.file +
                                      ": " + what + " (or give " + field + ".name)");
  };
  auto file = gguf::File::Open(adapter.file);
  if (!file.ok()) return problem(std::string(file.status().message()));
  const std::string want = std::string("cachewire.") + AdapterKindName(adapter.kind);
  auto arch = (*file)->GetString("general.architecture");
  if (!arch.ok() || *arch != want) {
    return problem("general.architecture is '" + std::string(arch.ok() ? *arch : "") +
                   "', not " + want);
  }
  auto name = (*file)->GetString("general.name");
  if (!name.ok() || name->empty()) return problem("no general.name");
  adapter.name = std::string(*name);
  return absl::OkStatus();
}

}  // namespace

absl::Status ReadAdapterNames(RouterConfig& config) {
  for (size_t i = 0; i < config.adapters.size(); ++i) {
    const std::string field = "adapters[" + std::to_string(i) + "]";
    AdapterConfig& adapter = config.adapters[i];
    if (adapter.name.empty()) {
      if (absl::Status st = ReadName(config.path, field, adapter); !st.ok()) return st;
    }
    for (size_t j = 0; j < i; ++j) {
      if (config.adapters[j].name == adapter.name && config.adapters[j].kind == adapter.kind) {
        return absl::InvalidArgumentError(config.path + ": " + field + ".name: '" +
                                          adapter.name + "' is also the name of adapters[" +
                                          std::to_string(j) + "]");
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace cachewire::router
