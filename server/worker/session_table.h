// The worker's open sessions by id. An id is 128 random bits from the kernel's CSPRNG in hex
// ("s_" + 32 hex digits): opaque and unguessable, so holding an id is the capability to use the
// session. The table bounds how many sessions are open at once (--max-sessions).
//
// A WorkerSession joins the scheduler's Sequence (cache and transcript) with what only the
// worker knows: the id, the cache policy asked for, the chat turns and when it was last used.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "cachewire/v1/common.pb.h"
#include "engine/generate/chat_template.h"
#include "engine/scheduler/sequence.h"

namespace cachewire::server::worker {

struct WorkerSession {
  std::string id;
  std::shared_ptr<scheduler::Sequence> sequence;
  cachewire::v1::CachePolicy policy;  // every field set
  std::atomic<int64_t> last_used_unix_s{0};

  // Chat turns appended as messages, with the replies generated after them as assistant turns.
  void AddMessages(const std::vector<generate::ChatMessage>& messages);
  // After a generation: the reply becomes an assistant turn when the session is a chat whose
  // last turn is not the assistant's.
  void AddReply(const std::string& text);
  std::vector<generate::ChatMessage> Messages() const;
  void Touch();

 private:
  mutable std::mutex mu_;
  std::vector<generate::ChatMessage> messages_;  // guarded by mu_
};

class SessionTable {
 public:
  explicit SessionTable(int32_t max_sessions) : max_sessions_(max_sessions) {}

  // ResourceExhausted naming max_sessions when the table is full.
  absl::Status CheckRoom() const;
  // Adds a session under a fresh id (ResourceExhausted when full).
  absl::StatusOr<std::shared_ptr<WorkerSession>> Add(
      std::shared_ptr<scheduler::Sequence> sequence, const cachewire::v1::CachePolicy& policy);
  // InvalidArgument for an empty id; NotFound naming the session_id when unknown.
  absl::StatusOr<std::shared_ptr<WorkerSession>> Find(const std::string& id) const;
  absl::StatusOr<std::shared_ptr<WorkerSession>> Remove(const std::string& id);
  std::vector<std::shared_ptr<WorkerSession>> All() const;
  int32_t size() const;
  int32_t max_sessions() const { return max_sessions_; }
  // Entries evicted by the caches of sessions already closed (so that a total over closed and
  // open sessions only grows).
  int64_t closed_evictions() const;

 private:
  const int32_t max_sessions_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<WorkerSession>> sessions_;  // guarded by mu_
  int64_t closed_evictions_ = 0;                                             // guarded by mu_
};

// 128 random bits as "s_" + 32 hex digits.
std::string NewSessionId();

}  // namespace cachewire::server::worker
