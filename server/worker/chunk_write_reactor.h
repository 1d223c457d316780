// The sharer's side of a handoff stream (callback API) as ExportSummary and ExportCache share it:
// the derived reactor checks the request (Start: the session here, the rest in its `check`) and
// queues a session task (session_task.h) that, on the engine thread between the session's
// forwards, reads the session's cache into chunks_;
// then the chunks are written one at a time, each next one from OnWriteDone, the last together
// with the final status. The chunks are held whole until written, so a slow reader never holds
// the engine thread.
//
// Lifetime: gRPC owns the reactor until OnDone, which deletes it. Until the task is done only
// the engine thread touches it; after that only the write chain does.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/gguf/str_cat.h"
#include "engine/scheduler/sequence.h"
#include "server/common/grpc_status.h"
#include "server/common/metrics.h"
#include "server/worker/deadline.h"
#include "server/worker/session_task.h"
#include "server/worker/worker_state.h"

namespace cachewire::server::worker {

// A request's chunk size: 0 means `fallback`; InvalidArgument naming `field` outside [0, max].
inline absl::StatusOr<int32_t> ChunkSize(int32_t asked, int32_t fallback, int32_t max,
                                         const char* field) {
  if (asked < 0 || asked > max) {
    return absl::InvalidArgumentError(
        gguf::Cat(field, ": must be in [0, ", max, "] (0: ", fallback, "), got ", asked));
  }
  return asked == 0 ? fallback : asked;
}

template <typename Chunk>
class ChunkWriteReactor : public grpc::ServerWriteReactor<Chunk> {
 public:
  void OnWriteDone(bool ok) override {
    if (!ok) {  // the reader is gone (cancelled, deadline, connection lost)
      return Fail(absl::CancelledError(
          gguf::Cat("the ", stream_, " stream was closed before its last chunk")));
    }
    WriteNext();
  }
  void OnCancel() override { cancelled_->store(true); }
  void OnDone() override {
    if (entered_) state_.gate.Leave();
    delete this;
  }

 protected:
  // `method` names the RPC in the metrics, `stream` what it carries in messages ("summary").
  ChunkWriteReactor(WorkerState& state, const char* method, const char* stream)
      : state_(state), entered_(state.gate.TryEnter()), timer_(&state.metrics, method),
        stream_(stream) {}
  ~ChunkWriteReactor() override = default;

  // Once, just before the last chunk is written: the export succeeded (metrics).
  virtual void Exported() = 0;

  // The derived constructor's last statement: finds the session `session_id`, runs `check` (the
  // rest of the request), then queues `run` (engine thread: fills chunks_, at least one) on the
  // session and the writes after it; the task ends with the call (cancellation, deadline). A
  // refusal finishes the call at once.
  void Start(grpc::CallbackServerContext* context, const std::string& session_id,
             const std::function<absl::Status()>& check,
             std::function<absl::Status(scheduler::Sequence&)> run) {
    const absl::Status submitted =
        entered_ ? Submit(context, session_id, check, std::move(run)) : DrainingStatus();
    if (!submitted.ok()) Fail(submitted);  // no task: nothing else can touch the reactor
  }

  WorkerState& state_;
  std::vector<Chunk> chunks_;  // each lives until its write is done

 private:
  absl::Status Submit(grpc::CallbackServerContext* context, const std::string& session_id,
                      const std::function<absl::Status()>& check,
                      std::function<absl::Status(scheduler::Sequence&)> run) {
    auto session = state_.sessions.Find(session_id);
    if (!session.ok()) return session.status();
    (*session)->Touch();
    if (absl::Status st = check(); !st.ok()) return st;
    SessionTask task;
    task.sequence = (*session)->sequence;
    task.cancelled = cancelled_;
    task.deadline = SteadyDeadline(context->deadline());
    task.run = std::move(run);
    task.done = [this](const absl::Status& status, const scheduler::JobResult&) {
      if (!status.ok()) return Fail(status);
      WriteNext();
    };
    return SubmitSessionTask(state_.scheduler, std::move(task));
  }

  // Finishes with an error (no write in flight).
  void Fail(const absl::Status& status) {
    const grpc::Status st = ToGrpcStatus(status);
    timer_.Finish(st.error_code());
    this->Finish(st);
  }

  // Writes chunk next_ (the last one with the final status).
  void WriteNext() {
    const Chunk& chunk = chunks_[next_++];
    if (next_ < chunks_.size()) return this->StartWrite(&chunk);
    Exported();
    timer_.Finish(grpc::StatusCode::OK);
    this->StartWriteAndFinish(&chunk, grpc::WriteOptions(), grpc::Status::OK);
  }

  const bool entered_;  // passed the drain gate (left in OnDone)
  RpcTimer timer_;
  const char* const stream_;
  std::shared_ptr<std::atomic<bool>> cancelled_ = std::make_shared<std::atomic<bool>>(false);
  size_t next_ = 0;
};

}  // namespace cachewire::server::worker
