// The receiver's side of a handoff stream (callback API) as ImportSummary and FuseCache share
// it: one chunk is read at a time. The first names the session (found here) and the adapter
// (the derived reactor's Begin finds it and starts the assembler); the assembler checks every
// chunk as it arrives and keeps what it carries. Only when it has the last chunk does the
// derived reactor queue its session task (Submit, through SubmitApply), which changes the
// session on the engine thread. A stream that fails, is cancelled or ends early finishes before
// that task exists, so the session is never touched.
//
// Lifetime: gRPC owns the reactor until OnDone, which deletes it. Reads are chained (one in
// flight, the next started from OnReadDone); the task, queued after the last read, finishes.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/gguf/str_cat.h"
#include "engine/scheduler/sequence.h"
#include "server/common/grpc_status.h"
#include "server/common/metrics.h"
#include "server/worker/deadline.h"
#include "server/worker/session_table.h"
#include "server/worker/session_task.h"
#include "server/worker/worker_state.h"

namespace cachewire::server::worker {

// Assembler: Add(chunk) checks and keeps a chunk; complete() once the last is in; chunks().
template <typename Chunk, typename Assembler>
class ChunkReadReactor : public grpc::ServerReadReactor<Chunk> {
 public:
  void OnReadDone(bool ok) override {
    if (!ok) return Done(EndedEarly());  // the client closed its side (or went away)
    absl::Status status = assembler_ ? absl::OkStatus() : BeginStream();
    if (status.ok()) status = assembler_->Add(chunk_);
    if (status.ok() && !assembler_->complete()) return this->StartRead(&chunk_);
    if (status.ok()) status = Submit();
    if (!status.ok()) Done(status);
  }
  void OnCancel() override { cancelled_->store(true); }
  void OnDone() override {
    if (entered_) state_.gate.Leave();
    delete this;
  }

 protected:
  // `method` names the RPC in the metrics; `stream` ("summary") and `applied` ("imported") word
  // the messages of a stream that ends early.
  ChunkReadReactor(WorkerState& state, grpc::CallbackServerContext* context, const char* method,
                   const char* stream, const char* applied)
      : state_(state), context_(context), entered_(state.gate.TryEnter()),
        timer_(&state.metrics, method), stream_(stream), applied_(applied) {}
  ~ChunkReadReactor() override = default;

  // The last statement of the derived constructor: the first read (or the drain refusal).
  void Start() {
    if (entered_) return this->StartRead(&chunk_);
    Done(DrainingStatus());
  }

  // The first chunk, session_ found: finds the adapter it names and emplaces assembler_.
  virtual absl::Status Begin(const Chunk& first) = 0;
  // Once the last chunk is in: queues the session task (SubmitApply).
  virtual absl::Status Submit() = 0;

  // Queues `run` on the session (engine thread, the session quiescent); when it succeeds,
  // `succeeded` fills the response from the job's result, and the call finishes with run's
  // status. The task ends with the call (cancellation, deadline).
  absl::Status SubmitApply(std::function<absl::Status(scheduler::Sequence&)> run,
                           std::function<void(const scheduler::JobResult&)> succeeded) {
    SessionTask task;
    task.sequence = session_->sequence;
    task.cancelled = cancelled_;
    task.deadline = SteadyDeadline(context_->deadline());
    task.run = std::move(run);
    task.done = [this, succeeded = std::move(succeeded)](const absl::Status& status,
                                                         const scheduler::JobResult& result) {
      if (status.ok()) succeeded(result);
      Done(status);
    };
    return SubmitSessionTask(state_.scheduler, std::move(task));
  }

  WorkerState& state_;
  std::shared_ptr<WorkerSession> session_;  // the one the first chunk names
  std::optional<Assembler> assembler_;

 private:
  absl::Status BeginStream() {
    auto session = state_.sessions.Find(chunk_.session_id());
    if (!session.ok()) return session.status();
    session_ = *session;
    session_->Touch();
    return Begin(chunk_);
  }
  absl::Status EndedEarly() const {
    if (cancelled_->load() || context_->IsCancelled()) {
      return absl::CancelledError(gguf::Cat("the ", stream_, " stream was cancelled before its "
                                            "last chunk; nothing was ", applied_));
    }
    if (!assembler_) return absl::InvalidArgumentError("seq: the stream carried no chunk");
    return absl::InvalidArgumentError(gguf::Cat("last: the stream ended after ",
                                                assembler_->chunks(),
                                                " chunks without its last one; nothing was ",
                                                applied_));
  }
  // Finishes the call (exactly once).
  void Done(const absl::Status& status) {
    const grpc::Status st = ToGrpcStatus(status);
    timer_.Finish(st.error_code());
    this->Finish(st);
  }

  grpc::CallbackServerContext* const context_;
  const bool entered_;  // passed the drain gate (left in OnDone)
  RpcTimer timer_;
  const char* const stream_;
  const char* const applied_;
  Chunk chunk_;  // the read in flight
  std::shared_ptr<std::atomic<bool>> cancelled_ = std::make_shared<std::atomic<bool>>(false);
};

}  // namespace cachewire::server::worker
