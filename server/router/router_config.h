// The router's configuration file (YAML): which agents exist, where each agent's worker
// listens, which model it serves, and which adapter file serves which sharer->receiver pair.
//
//   router:                        # optional defaults for the router's own flags
//     listen: 127.0.0.1:7070
//     metrics: 127.0.0.1:9090
//   agents:
//     - name: planner              # [A-Za-z0-9_-], 1..64 characters, unique
//       worker: 127.0.0.1:7101     # host:port of its cachewire-worker (port 0: picked by `up`)
//       model: ../models/a.gguf    # relative paths are resolved against the file's directory
//       threads: 2                 # optional, for `cachewire up` (worker --threads)
//       device: cuda               # optional, for `cachewire up` (worker --device: cpu, cuda,
//                                  #   auto, cpu-twin)
//       cache:                     # optional, for `cachewire up`: the worker's default cache
//         bounded: true            #   policy (--cache-bounded, --cache-budget, --cache-window,
//         budget: 448              #   --cache-sinks, --cache-slack, --cache-l2); the worker
//         window: 256              #   checks the values
//   adapters:
//     - sharer: planner
//       receiver: coder
//       kind: lcf                  # lcf | c2c
//       file: ../models/planner-coder.lcf.gguf
//       name: planner-coder        # optional: the adapter's general.name, which the workers
//                                  # know it by; read from the file when absent
//
// Loading never throws: every problem is an InvalidArgument naming the file and the field
// (e.g. "deploy/local.yaml: agents[1].worker: missing").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace cachewire::router {

// An agent's `cache:` entry: each value set is passed to its worker as the matching flag.
struct AgentCacheConfig {
  std::optional<bool> bounded;
  std::optional<int64_t> budget;
  std::optional<int64_t> window;
  std::optional<int64_t> sinks;
  std::optional<int64_t> slack;
  std::optional<bool> l2;
};

struct AgentConfig {
  std::string name;
  std::string worker;  // host:port
  std::string model;   // absolute (or as written when the file had no directory)
  int threads = 0;     // 0: the worker's default
  std::string device{};  // empty: the worker's default (cpu)
  AgentCacheConfig cache{};
};

enum class AdapterKind { kLcf, kC2c };
const char* AdapterKindName(AdapterKind kind);  // "lcf", "c2c"

struct AdapterConfig {
  std::string sharer;    // agent name
  std::string receiver;  // agent name
  AdapterKind kind = AdapterKind::kLcf;
  std::string file;      // resolved like AgentConfig::model
  // general.name of the file: the id the workers know the adapter by. Empty until configured
  // (`name:`) or read from the file (ReadAdapterNames, adapter_files.h).
  std::string name{};
};

struct RouterConfig {
  std::string path;     // the file it was read from
  std::string listen;   // router.listen, empty when absent
  std::string metrics;  // router.metrics, empty when absent
  std::vector<AgentConfig> agents;
  std::vector<AdapterConfig> adapters;

  const AgentConfig* FindAgent(const std::string& name) const;
  const AdapterConfig* FindAdapter(const std::string& sharer, const std::string& receiver,
                                   AdapterKind kind) const;
};

// Parses YAML text; `path` names the file in messages and its directory resolves relative
// model/adapter paths.
absl::StatusOr<RouterConfig> ParseRouterConfig(const std::string& yaml_text,
                                               const std::string& path);
// Reads and parses a file (NotFound naming it when it cannot be read).
absl::StatusOr<RouterConfig> LoadRouterConfig(const std::string& path);

// Replaces the worker address of agent `name` (the `--worker NAME=ADDR` override and
// `cachewire up`, which learns the ports only after starting the workers). NotFound naming
// the agent when there is none.
absl::Status OverrideWorkerAddress(RouterConfig& config, const std::string& name,
                                   const std::string& address);

// "host:port" with a non-empty host and a port in [0, 65535]; `field` names it in the error.
absl::Status CheckAddress(const std::string& address, const std::string& field);

}  // namespace cachewire::router
