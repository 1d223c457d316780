// The public session table (see session_table.h).
#include "server/router/session_table.h"

#include "absl/status/status.h"

namespace cachewire::router {

absl::StatusOr<PublicSession> SessionTable::Add(const std::string& agent,
                                                const std::string& worker_session_id,
                                                CallerId owner) {
  std::lock_guard<std::mutex> lock(mu_);
  if (sessions_.size() >= max_sessions_) {
    return absl::ResourceExhaustedError("sessions: the router's limit of " +
                                        std::to_string(max_sessions_) +
                                        " open sessions is reached");
  }
  PublicSession session{"s-" + NewRandomToken(), agent, worker_session_id, owner};
  sessions_.emplace(session.id, session);
  return session;
}

absl::StatusOr<PublicSession> SessionTable::LookupLocked(const std::string& id, CallerId caller,
                                                         const std::string& field) const {
  if (id.empty()) return absl::InvalidArgumentError(field + ": empty");
  const auto it = sessions_.find(id);
  if (it == sessions_.end()) {
    // Echo at most a prefix of what the caller sent: ids are short, junk may not be.
    return absl::NotFoundError(field + " '" + id.substr(0, 64) + "': no such session");
  }
  if (it->second.owner != caller) {
    return absl::PermissionDeniedError(field + " '" + id +
                                       "': the session belongs to another caller");
  }
  return it->second;
}

absl::StatusOr<PublicSession> SessionTable::Lookup(const std::string& id, CallerId caller,
                                                   const std::string& field) const {
  std::lock_guard<std::mutex> lock(mu_);
  return LookupLocked(id, caller, field);
}

absl::StatusOr<PublicSession> SessionTable::Remove(const std::string& id, CallerId caller,
                                                   const std::string& field) {
  std::lock_guard<std::mutex> lock(mu_);
  auto session = LookupLocked(id, caller, field);
  if (session.ok()) sessions_.erase(id);
  return session;
}

size_t SessionTable::RemoveLostSessions(const std::string& agent,
                                        const std::set<std::string>& alive) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t removed = 0;
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (it->second.agent == agent && !alive.count(it->second.worker_session_id)) {
      it = sessions_.erase(it);
      ++removed;
    } else {
      ++it;
    }
  }
  return removed;
}

size_t SessionTable::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.size();
}

size_t SessionTable::CountForAgent(const std::string& agent,
                                   std::optional<CallerId> owner) const {
  std::lock_guard<std::mutex> lock(mu_);
  size_t n = 0;
  for (const auto& [id, session] : sessions_) {
    n += session.agent == agent && (!owner || session.owner == *owner);
  }
  return n;
}

}  // namespace cachewire::router
