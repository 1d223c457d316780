// GenerateReactor (see generate_reactor.h).
#include "server/worker/generate_reactor.h"

#include <chrono>
#include <utility>

#include "server/common/grpc_status.h"
#include "server/common/logging.h"
#include "server/worker/deadline.h"
#include "server/worker/proto_convert.h"
#include "server/worker/request_checks.h"

namespace cachewire::server::worker {

GenerateReactor::GenerateReactor(WorkerState& state, grpc::CallbackServerContext* context,
                                 const cachewire::v1::GenerateRequest& request)
    : state_(state), entered_(state.gate.TryEnter()), timer_(&state.metrics, "Generate") {
  const absl::Status submitted = entered_ ? Submit(context, request) : DrainingStatus();
  if (!submitted.ok()) {  // no job: nothing else can touch the reactor
    job_done_ = true;
    finished_ = true;
    final_status_ = ToGrpcStatus(submitted);
    timer_.Finish(final_status_.error_code());
    Finish(final_status_);
  }
}

absl::Status GenerateReactor::Submit(grpc::CallbackServerContext* context,
                                     const cachewire::v1::GenerateRequest& request) {
  auto session = state_.sessions.Find(request.session_id());
  if (!session.ok()) return session.status();
  session_ = *session;
  session_->Touch();
  auto spec = MakeGenerateSpec(request.sampling(), request.logprobs(), request.top_logprobs());
  if (!spec.ok()) return spec.status();
  seed_ = spec->sampler.params().seed;

  scheduler::Job job;
  job.sequence = session_->sequence;
  const tokenizer::Tokenizer& tok = state_.model.tokenizer();
  if (request.has_text()) {
    auto in = TokenizeText(tok, request.text(), state_.input_rules);
    if (!in.ok()) return in.status();
    job.append = std::move(in->ids);
    job.bos_only_at_start = in->bos_only_at_start;
  } else if (request.has_messages()) {
    const bool prompt = !request.has_add_generation_prompt() || request.add_generation_prompt();
    auto in = TokenizeMessages(tok, request.messages(), prompt, state_.input_rules);
    if (!in.ok()) return in.status();
    job.append = std::move(in->ids);
    job.bos_only_at_start = in->bos_only_at_start;
    job.input_name = "messages";
    turns_ = std::move(in->messages);
  }
  job.generate = std::move(*spec);
  job.cancelled = cancelled_;
  job.deadline = SteadyDeadline(context->deadline());
  job.on_token = [this](const scheduler::TokenEvent& event) { OnToken(event); };
  job.on_done = [this](const absl::Status& status, const scheduler::JobResult& result) {
    OnJobDone(status, result);
  };
  return state_.scheduler.Submit(std::move(job));
}

void GenerateReactor::OnToken(const scheduler::TokenEvent& event) {
  reply_ += event.text;
  {
    std::lock_guard<std::mutex> lock(mu_);
    AppendEvent(state_.model.tokenizer(), event, pending_.mutable_tokens());
    has_pending_ = true;
  }
  Pump();
}

void GenerateReactor::OnJobDone(const absl::Status& status, const scheduler::JobResult& result) {
  // The turns join the session's chat record once their tokens are in its transcript.
  if (result.n_appended > 0 && !turns_.empty()) session_->AddMessages(turns_);
  if (status.ok()) {
    session_->AddReply(reply_);
    state_.worker_metrics.ObserveGeneration(result);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_done_ = true;
    final_status_ = ToGrpcStatus(status);
    if (status.ok()) FillSummary(result, seed_, &summary_);
  }
  Pump();  // the last use of `this` on the engine thread
}

void GenerateReactor::Pump() {
  enum class Action { kNone, kWrite, kWriteLastAndFinish, kFinish } action = Action::kNone;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (writing_ || finished_) return;
    if (has_pending_ && !write_failed_) {
      in_flight_.Swap(&pending_);
      pending_.Clear();
      has_pending_ = false;
      writing_ = true;
      action = Action::kWrite;
    } else if (job_done_) {
      finished_ = true;
      if (final_status_.ok() && !write_failed_) {
        in_flight_.Clear();
        in_flight_.mutable_summary()->Swap(&summary_);
        action = Action::kWriteLastAndFinish;
      } else {
        action = Action::kFinish;
      }
      timer_.Finish(write_failed_ ? grpc::StatusCode::CANCELLED : final_status_.error_code());
    }
  }
  switch (action) {
    case Action::kNone: return;
    case Action::kWrite: StartWrite(&in_flight_); return;
    case Action::kWriteLastAndFinish:
      StartWriteAndFinish(&in_flight_, grpc::WriteOptions(), grpc::Status::OK);
      return;
    case Action::kFinish: Finish(final_status_); return;
  }
}

void GenerateReactor::OnWriteDone(bool ok) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    writing_ = false;
    if (!ok) {
      write_failed_ = true;  // the client is gone: stop the job, then finish
      cancelled_->store(true);
    }
  }
  Pump();
}

void GenerateReactor::OnCancel() { cancelled_->store(true); }

void GenerateReactor::OnDone() {
  if (entered_) state_.gate.Leave();
  delete this;
}

}  // namespace cachewire::server::worker
