// SessionTable and WorkerSession (see session_table.h).
#include "server/worker/session_table.h"

#include <sys/random.h>

#include <chrono>
#include <cstdio>
#include <random>

#include "absl/status/status.h"

namespace cachewire::server::worker {
namespace {

// A quoted, shortened id for messages (ids from clients may be anything).
std::string QuoteId(const std::string& id) {
  std::string shown = id.size() > 64 ? id.substr(0, 64) + "..." : id;
  for (char& c : shown) {
    if (static_cast<unsigned char>(c) < 0x20 || c == '"') c = '?';
  }
  return "\"" + shown + "\"";
}

}  // namespace

std::string NewSessionId() {
  unsigned char bytes[16];
  size_t got = 0;
  while (got < sizeof(bytes)) {
    const ssize_t n = getrandom(bytes + got, sizeof(bytes) - got, 0);
    if (n > 0) got += static_cast<size_t>(n);
    if (n < 0) {  // no getrandom: the library's random_device reads the same source
      std::random_device rd;
      for (; got < sizeof(bytes); ++got) bytes[got] = static_cast<unsigned char>(rd());
    }
  }
  std::string id = "s_";
  char hex[3];
  for (unsigned char b : bytes) {
    std::snprintf(hex, sizeof(hex), "%02x", b);
    id += hex;
  }
  return id;
}

void WorkerSession::AddMessages(const std::vector<generate::ChatMessage>& messages) {
  std::lock_guard<std::mutex> lock(mu_);
  messages_.insert(messages_.end(), messages.begin(), messages.end());
}

void WorkerSession::AddReply(const std::string& text) {
  std::lock_guard<std::mutex> lock(mu_);
  if (messages_.empty() || messages_.back().role == "assistant") return;
  messages_.push_back({"assistant", text});
}

std::vector<generate::ChatMessage> WorkerSession::Messages() const {
  std::lock_guard<std::mutex> lock(mu_);
  return messages_;
}

void WorkerSession::Touch() {
  last_used_unix_s = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
}

absl::Status SessionTable::CheckRoom() const {
  const int32_t n = size();
  if (n >= max_sessions_) {
    return absl::ResourceExhaustedError("max_sessions: " + std::to_string(n) +
                                        " sessions are open (the worker's limit); close one");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<WorkerSession>> SessionTable::Add(
    std::shared_ptr<scheduler::Sequence> sequence, const cachewire::v1::CachePolicy& policy) {
  auto session = std::make_shared<WorkerSession>();
  session->sequence = std::move(sequence);
  session->policy = policy;
  session->Touch();
  std::lock_guard<std::mutex> lock(mu_);
  if (static_cast<int32_t>(sessions_.size()) >= max_sessions_) {
    return absl::ResourceExhaustedError("max_sessions: " + std::to_string(sessions_.size()) +
                                        " sessions are open (the worker's limit); close one");
  }
  do {
    session->id = NewSessionId();
  } while (sessions_.count(session->id) != 0);
  sessions_[session->id] = session;
  return session;
}

absl::StatusOr<std::shared_ptr<WorkerSession>> SessionTable::Find(const std::string& id) const {
  if (id.empty()) return absl::InvalidArgumentError("session_id: empty");
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) {
    return absl::NotFoundError("session_id " + QuoteId(id) + ": no such session on this worker");
  }
  return it->second;
}

absl::StatusOr<std::shared_ptr<WorkerSession>> SessionTable::Remove(const std::string& id) {
  if (id.empty()) return absl::InvalidArgumentError("session_id: empty");
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) {
    return absl::NotFoundError("session_id " + QuoteId(id) + ": no such session on this worker");
  }
  std::shared_ptr<WorkerSession> session = std::move(it->second);
  sessions_.erase(it);
  closed_evictions_ += session->sequence->Snapshot().evictions;
  return session;
}

std::vector<std::shared_ptr<WorkerSession>> SessionTable::All() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<WorkerSession>> out;
  out.reserve(sessions_.size());
  for (const auto& [id, session] : sessions_) out.push_back(session);
  return out;
}

int64_t SessionTable::closed_evictions() const {
  std::lock_guard<std::mutex> lock(mu_);
  return closed_evictions_;
}

int32_t SessionTable::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int32_t>(sessions_.size());
}

}  // namespace cachewire::server::worker
