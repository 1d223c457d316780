// YAML parsing of the router's configuration (see router_config.h for the format). yaml-cpp
// throws on malformed text and on type mismatches; every such throw is caught here and turned
// into an InvalidArgument naming the file and the field.
#include "server/router/router_config.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <type_traits>

#include "absl/status/status.h"
#include "engine/common/status_macros.h"

namespace cachewire::router {
namespace {

namespace fs = std::filesystem;

absl::Status FieldError(const std::string& path, const std::string& field,
                        const std::string& what) {
  return absl::InvalidArgumentError(path + ": " + field + ": " + what);
}

// The scalar at node[key] as a string; empty when absent and not required.
absl::StatusOr<std::string> ScalarField(const YAML::Node& node, const std::string& key,
                                        const std::string& path, const std::string& field,
                                        bool required) {
  const YAML::Node value = node[key];
  if (!value.IsDefined() || value.IsNull()) {
    if (required) return FieldError(path, field, "missing");
    return std::string();
  }
  if (!value.IsScalar()) return FieldError(path, field, "must be a string");
  return value.Scalar();
}

std::string ResolvePath(const std::string& config_path, const std::string& value) {
  if (value.empty() || fs::path(value).is_absolute()) return value;
  std::error_code error;
  const fs::path dir = fs::absolute(fs::path(config_path), error).parent_path();
  return (dir / value).lexically_normal().string();
}

bool ValidAgentName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  }
  return true;
}

// node[key] as T when present (a YAML type mismatch names the field).
template <typename T>
absl::Status OptionalField(const YAML::Node& node, const std::string& key,
                           const std::string& path, const std::string& field,
                           std::optional<T>* out) {
  const YAML::Node value = node[key];
  if (!value.IsDefined() || value.IsNull()) return absl::OkStatus();
  try {
    *out = value.as<T>();
  } catch (const YAML::Exception&) {
    return FieldError(path, field + "." + key,
                      std::is_same_v<T, bool> ? "must be true or false" : "must be an integer");
  }
  if constexpr (!std::is_same_v<T, bool>) {
    if (**out < 0) return FieldError(path, field + "." + key, "must be >= 0");
  }
  return absl::OkStatus();
}

absl::StatusOr<AgentCacheConfig> ParseAgentCache(const YAML::Node& node, const std::string& path,
                                                 const std::string& field) {
  if (!node.IsMap()) return FieldError(path, field, "must be a mapping");
  static const std::set<std::string> kKeys = {"bounded", "budget", "window",
                                              "sinks",   "slack",  "l2"};
  for (const auto& entry : node) {
    const std::string key = entry.first.Scalar();
    if (!kKeys.count(key)) {
      return FieldError(path, field + "." + key,
                        "unknown (bounded, budget, window, sinks, slack, l2)");
    }
  }
  AgentCacheConfig cache;
  CW_RETURN_IF_ERROR(OptionalField(node, "bounded", path, field, &cache.bounded));
  CW_RETURN_IF_ERROR(OptionalField(node, "budget", path, field, &cache.budget));
  CW_RETURN_IF_ERROR(OptionalField(node, "window", path, field, &cache.window));
  CW_RETURN_IF_ERROR(OptionalField(node, "sinks", path, field, &cache.sinks));
  CW_RETURN_IF_ERROR(OptionalField(node, "slack", path, field, &cache.slack));
  CW_RETURN_IF_ERROR(OptionalField(node, "l2", path, field, &cache.l2));
  return cache;
}

absl::StatusOr<AgentConfig> ParseAgent(const YAML::Node& node, const std::string& path,
                                       const std::string& field) {
  if (!node.IsMap()) return FieldError(path, field, "must be a mapping");
  AgentConfig agent;
  CW_ASSIGN_OR_RETURN(agent.name, ScalarField(node, "name", path, field + ".name", true));
  if (!ValidAgentName(agent.name)) {
    return FieldError(path, field + ".name",
                      "'" + agent.name + "' must be 1..64 characters of [A-Za-z0-9_-]");
  }
  CW_ASSIGN_OR_RETURN(agent.worker, ScalarField(node, "worker", path, field + ".worker", true));
  if (auto s = CheckAddress(agent.worker, field + ".worker"); !s.ok()) {
    return absl::InvalidArgumentError(path + ": " + std::string(s.message()));
  }
  CW_ASSIGN_OR_RETURN(std::string model,
                      ScalarField(node, "model", path, field + ".model", false));
  agent.model = ResolvePath(path, model);
  if (node["threads"].IsDefined()) {
    try {
      agent.threads = node["threads"].as<int>();
    } catch (const YAML::Exception&) {
      return FieldError(path, field + ".threads", "must be an integer");
    }
    if (agent.threads < 0) return FieldError(path, field + ".threads", "must be >= 0");
  }
  CW_ASSIGN_OR_RETURN(agent.device, ScalarField(node, "device", path, field + ".device", false));
  if (!agent.device.empty() && agent.device != "cpu" && agent.device != "cuda" &&
      agent.device != "auto" && agent.device != "cpu-twin") {
    return FieldError(path, field + ".device",
                      "'" + agent.device + "' is not cpu, cuda, auto or cpu-twin");
  }
  if (const YAML::Node cache = node["cache"]; cache.IsDefined() && !cache.IsNull()) {
    CW_ASSIGN_OR_RETURN(agent.cache, ParseAgentCache(cache, path, field + ".cache"));
  }
  return agent;
}

absl::StatusOr<AdapterConfig> ParseAdapter(const YAML::Node& node, const std::string& path,
                                           const std::string& field) {
  if (!node.IsMap()) return FieldError(path, field, "must be a mapping");
  AdapterConfig adapter;
  CW_ASSIGN_OR_RETURN(adapter.sharer, ScalarField(node, "sharer", path, field + ".sharer", true));
  CW_ASSIGN_OR_RETURN(adapter.receiver,
                      ScalarField(node, "receiver", path, field + ".receiver", true));
  CW_ASSIGN_OR_RETURN(std::string kind, ScalarField(node, "kind", path, field + ".kind", false));
  if (kind.empty() || kind == "lcf") {
    adapter.kind = AdapterKind::kLcf;
  } else if (kind == "c2c") {
    adapter.kind = AdapterKind::kC2c;
  } else {
    return FieldError(path, field + ".kind", "'" + kind + "' is not lcf or c2c");
  }
  CW_ASSIGN_OR_RETURN(std::string file, ScalarField(node, "file", path, field + ".file", true));
  adapter.file = ResolvePath(path, file);
  CW_ASSIGN_OR_RETURN(adapter.name, ScalarField(node, "name", path, field + ".name", false));
  return adapter;
}

absl::StatusOr<RouterConfig> ParseTree(const YAML::Node& root, const std::string& path) {
  RouterConfig config;
  config.path = path;
  if (!root.IsMap()) return FieldError(path, "(top level)", "must be a mapping");
  if (const YAML::Node router = root["router"]; router.IsDefined() && !router.IsNull()) {
    if (!router.IsMap()) return FieldError(path, "router", "must be a mapping");
    CW_ASSIGN_OR_RETURN(config.listen,
                        ScalarField(router, "listen", path, "router.listen", false));
    CW_ASSIGN_OR_RETURN(config.metrics,
                        ScalarField(router, "metrics", path, "router.metrics", false));
  }
  const YAML::Node agents = root["agents"];
  if (!agents.IsDefined() || !agents.IsSequence() || agents.size() == 0) {
    return FieldError(path, "agents", "must be a non-empty list");
  }
  std::set<std::string> names;
  for (size_t i = 0; i < agents.size(); ++i) {
    const std::string field = "agents[" + std::to_string(i) + "]";
    CW_ASSIGN_OR_RETURN(AgentConfig agent, ParseAgent(agents[i], path, field));
    if (!names.insert(agent.name).second) {
      return FieldError(path, field + ".name", "'" + agent.name + "' appears twice");
    }
    config.agents.push_back(std::move(agent));
  }
  if (const YAML::Node adapters = root["adapters"];
      adapters.IsDefined() && !adapters.IsNull()) {
    if (!adapters.IsSequence()) return FieldError(path, "adapters", "must be a list");
    for (size_t i = 0; i < adapters.size(); ++i) {
      const std::string field = "adapters[" + std::to_string(i) + "]";
      CW_ASSIGN_OR_RETURN(AdapterConfig adapter, ParseAdapter(adapters[i], path, field));
      if (!names.count(adapter.sharer)) {
        return FieldError(path, field + ".sharer", "no agent named '" + adapter.sharer + "'");
      }
      if (!names.count(adapter.receiver)) {
        return FieldError(path, field + ".receiver",
                          "no agent named '" + adapter.receiver + "'");
      }
      config.adapters.push_back(std::move(adapter));
    }
  }
  return config;
}

}  // namespace

const char* AdapterKindName(AdapterKind kind) {
  return kind == AdapterKind::kLcf ? "lcf" : "c2c";
}

const AgentConfig* RouterConfig::FindAgent(const std::string& name) const {
  for (const AgentConfig& agent : agents) {
    if (agent.name == name) return &agent;
  }
  return nullptr;
}

const AdapterConfig* RouterConfig::FindAdapter(const std::string& sharer,
                                               const std::string& receiver,
                                               AdapterKind kind) const {
  for (const AdapterConfig& adapter : adapters) {
    if (adapter.sharer == sharer && adapter.receiver == receiver && adapter.kind == kind) {
      return &adapter;
    }
  }
  return nullptr;
}

absl::Status CheckAddress(const std::string& address, const std::string& field) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return absl::InvalidArgumentError(field + ": '" + address + "' is not host:port");
  }
  const std::string port = address.substr(colon + 1);
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) > 65535) {
    return absl::InvalidArgumentError(field + ": port '" + port + "' is not in [0, 65535]");
  }
  return absl::OkStatus();
}

absl::StatusOr<RouterConfig> ParseRouterConfig(const std::string& yaml_text,
                                               const std::string& path) {
  try {
    return ParseTree(YAML::Load(yaml_text), path);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(path + ": line " + std::to_string(e.mark.line + 1) +
                                      ": " + e.msg);
  }
}

absl::StatusOr<RouterConfig> LoadRouterConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("config file " + path + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return ParseRouterConfig(text.str(), path);
}

absl::Status OverrideWorkerAddress(RouterConfig& config, const std::string& name,
                                   const std::string& address) {
  CW_RETURN_IF_ERROR(CheckAddress(address, "--worker " + name));
  for (AgentConfig& agent : config.agents) {
    if (agent.name == name) {
      agent.worker = address;
      return absl::OkStatus();
    }
  }
  return absl::NotFoundError("--worker: no agent named '" + name + "' in " + config.path);
}

}  // namespace cachewire::router
