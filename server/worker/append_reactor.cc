// AppendReactor (see append_reactor.h).
#include "server/worker/append_reactor.h"

#include <utility>

#include "server/common/grpc_status.h"
#include "server/worker/deadline.h"
#include "server/worker/proto_convert.h"
#include "server/worker/request_checks.h"

namespace cachewire::server::worker {

AppendReactor::AppendReactor(WorkerState& state, grpc::CallbackServerContext* context,
                             const cachewire::v1::AppendRequest& request,
                             cachewire::v1::AppendResponse* response)
    : state_(state), entered_(state.gate.TryEnter()), timer_(&state.metrics, "Append"),
      response_(response) {
  if (!entered_) {
    Done(DrainingStatus());
    return;
  }
  if (absl::Status st = Submit(context, request); !st.ok()) Done(st);
}

absl::Status AppendReactor::Submit(grpc::CallbackServerContext* context,
                                   const cachewire::v1::AppendRequest& request) {
  auto session = state_.sessions.Find(request.session_id());
  if (!session.ok()) return session.status();
  std::shared_ptr<WorkerSession> ws = *session;
  ws->Touch();
  const tokenizer::Tokenizer& tok = state_.model.tokenizer();
  absl::StatusOr<TokenizedInput> in;
  if (request.has_text()) {
    in = TokenizeText(tok, request.text(), state_.input_rules);
  } else if (request.has_messages()) {
    const bool prompt = !request.has_add_generation_prompt() || request.add_generation_prompt();
    in = TokenizeMessages(tok, request.messages(), prompt, state_.input_rules);
  } else {
    return absl::InvalidArgumentError("input: set text or messages");
  }
  if (!in.ok()) return in.status();

  scheduler::Job job;
  job.sequence = ws->sequence;
  job.append = std::move(in->ids);
  job.bos_only_at_start = in->bos_only_at_start;
  job.input_name = in->name;
  job.cancelled = cancelled_;
  job.deadline = SteadyDeadline(context->deadline());
  // The turns join the session's chat record once their tokens are in its transcript.
  job.on_done = [this, ws, turns = std::move(in->messages)](const absl::Status& status,
                                                            const scheduler::JobResult& result) {
    if (result.n_appended > 0 && !turns.empty()) ws->AddMessages(turns);
    if (status.ok()) {
      response_->set_n_tokens_added(result.n_appended);
      FillCacheStats(result.cache, response_->mutable_cache());
      response_->set_queue_ms(result.queue_seconds * 1e3);
      response_->set_prefill_ms(result.prefill_seconds * 1e3);
    }
    Done(status);
  };
  return state_.scheduler.Submit(std::move(job));
}

void AppendReactor::Done(const absl::Status& status) {
  const grpc::Status st = ToGrpcStatus(status);
  timer_.Finish(st.error_code());
  Finish(st);
}

}  // namespace cachewire::server::worker
