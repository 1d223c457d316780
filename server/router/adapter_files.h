// What the router needs from the adapter files of its config: each adapter's name, the id the
// workers know it by (general.name of the GGUF, as cachewire-worker --adapter loads it). The
// router reads it once at start, unless the config gives `name:` (a router that cannot see the
// files, as in a deployment where only the workers mount them).
#pragma once

#include "absl/status/status.h"
#include "server/router/router_config.h"

namespace cachewire::router {

// Fills AdapterConfig::name from each file that has none, checking that the file is an adapter
// of its kind (general.architecture cachewire.lcf / cachewire.c2c). InvalidArgument naming the
// config file, the field and the adapter file; also when two adapters of one kind share a name.
absl::Status ReadAdapterNames(RouterConfig& config);

}  // namespace cachewire::router
