// The cache policy a session asks for (cachewire.v1.CachePolicy) and the engine's
// cache::CachePolicy: the worker's default with the request's overrides merged in, checked
// field by field (CACHE.md), errors naming cache_policy.<field>.
#pragma once

#include "absl/status/statusor.h"
#include "cachewire/v1/common.pb.h"
#include "engine/cache/cache_policy.h"

namespace cachewire::server::worker {

// Every field set.
cachewire::v1::CachePolicy ToProto(const cache::CachePolicy& policy);
// Fields not set keep cache::CachePolicy's defaults.
cache::CachePolicy FromProto(const cachewire::v1::CachePolicy& policy);

// `defaults` with the fields set in `overrides` replacing theirs (every field set).
// InvalidArgument naming cache_policy.<field> for a value out of range.
absl::StatusOr<cachewire::v1::CachePolicy> MergeCachePolicy(
    const cachewire::v1::CachePolicy& defaults, const cachewire::v1::CachePolicy& overrides);

}  // namespace cachewire::server::worker
