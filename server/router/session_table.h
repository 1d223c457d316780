// The router's public sessions: each maps an opaque, unguessable public id to the agent and
// the worker's own session id, and records which caller made it. Only that caller may use it:
// another caller gets PERMISSION_DENIED, an id that was never issued (or was closed) gets
// NOT_FOUND. Thread-safe; every method takes the table's one mutex briefly.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "server/router/auth.h"

namespace cachewire::router {

struct PublicSession {
  std::string id;                 // public id, "s-" + 32 hex characters (128 random bits)
  std::string agent;              // agent name from the config
  std::string worker_session_id;  // the id the agent's worker gave
  CallerId owner = kAnonymous;
};

class SessionTable {
 public:
  explicit SessionTable(size_t max_sessions) : max_sessions_(max_sessions) {}

  // A new public id for the worker session. RESOURCE_EXHAUSTED when max_sessions are open.
  absl::StatusOr<PublicSession> Add(const std::string& agent,
                                    const std::string& worker_session_id, CallerId owner);
  // `field` names the request field in messages ("session_id", "from_session_id", ...).
  // INVALID_ARGUMENT for an empty id, NOT_FOUND, or PERMISSION_DENIED (see above).
  absl::StatusOr<PublicSession> Lookup(const std::string& id, CallerId caller,
                                       const std::string& field) const;
  // Lookup, then forget the session.
  absl::StatusOr<PublicSession> Remove(const std::string& id, CallerId caller,
                                       const std::string& field);
  // Forgets the sessions of an agent whose worker session ids are not in `alive` (its worker
  // restarted, so their caches are gone); returns how many.
  size_t RemoveLostSessions(const std::string& agent, const std::set<std::string>& alive);

  size_t size() const;
  // Sessions open on an agent: everybody's, or one caller's.
  size_t CountForAgent(const std::string& agent, std::optional<CallerId> owner = {}) const;

 private:
  absl::StatusOr<PublicSession> LookupLocked(const std::string& id, CallerId caller,
                                             const std::string& field) const;

  const size_t max_sessions_;
  mutable std::mutex mu_;
  std::map<std::string, PublicSession> sessions_;  // by public id
};

}  // namespace cachewire::router
