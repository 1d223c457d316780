// The worker's RPC handlers (see worker_service.h).
#include "server/worker/worker_service.h"

#include <chrono>
#include <string>

#include "engine/gguf/gguf_file.h"
#include "engine/gguf/str_cat.h"
#include "engine/tokenizer/vocab.h"
#include "server/common/grpc_status.h"
#include "server/common/logging.h"
#include "server/worker/append_reactor.h"
#include "server/worker/cache_policy.h"
#include "server/worker/export_cache_reactor.h"
#include "server/worker/export_summary_reactor.h"
#include "server/worker/fuse_cache_reactor.h"
#include "server/worker/generate_reactor.h"
#include "server/worker/import_summary_reactor.h"
#include "server/worker/proto_convert.h"
#include "server/worker/utf8.h"

namespace cachewire::server::worker {

using gguf::Cat;

namespace {

void FillSessionStats(const WorkerSession& session, cachewire::v1::SessionStats* out) {
  const scheduler::SequenceSnapshot snapshot = session.sequence->Snapshot();
  out->set_session_id(session.id);
  out->set_n_tokens(snapshot.n_tokens);
  FillCacheStats(snapshot, out->mutable_cache());
  *out->mutable_cache_policy() = session.policy;
  out->set_last_used_unix_s(session.last_used_unix_s.load());
}

void FillAdapterInfo(const ServedAdapter& served, cachewire::v1::WorkerAdapter* out) {
  out->set_name(ValidUtf8(served.name()));
  out->set_kind(served.kind());
  out->set_sharer_model(ValidUtf8(served.sharer_model().name));
  out->set_receiver_model(ValidUtf8(served.receiver_model().name));
  out->set_is_sharer(served.sharer.ok());
  out->set_is_receiver(served.receiver.ok());
  if (served.lcf) {  // a C2C fuser moves entries, not slots: 0 and 0
    out->set_n_slots(served.lcf->n_slots());
    out->set_slot_dim(served.lcf->slot_dim());
    out->set_per_token(served.lcf->per_token());
  }
  out->set_path(ValidUtf8(served.path()));
}

}  // namespace

grpc::ServerUnaryReactor* WorkerService::Answer(grpc::CallbackServerContext* context,
                                                RpcTimer& timer, const absl::Status& status) {
  const grpc::Status st = ToGrpcStatus(status);
  timer.Finish(st.error_code());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(st);
  return reactor;
}

grpc::ServerUnaryReactor* WorkerService::Info(grpc::CallbackServerContext* context,
                                              const cachewire::v1::InfoRequest* /*request*/,
                                              cachewire::v1::InfoResponse* r) {
  RpcTimer timer(&state_.metrics, "Info");
  ScopedCall call(state_.gate);
  if (!call.entered()) return Answer(context, timer, DrainingStatus());
  const model::Model& m = state_.model;
  const model::HParams& hp = m.hparams();
  const gguf::File& file = m.file();
  if (auto name = file.GetString("general.name"); name.ok()) r->set_model_name(ValidUtf8(*name));
  r->set_model_path(ValidUtf8(state_.config.model_path));
  r->set_architecture(model::ArchName(hp.arch));
  if (auto kind = file.GetString("tokenizer.ggml.model"); kind.ok()) {
    r->set_tokenizer_kind(ValidUtf8(*kind));
  }
  if (state_.input_rules.chat_family) {
    r->set_chat_template(generate::ChatFamilyName(*state_.input_rules.chat_family));
  }
  r->set_n_ctx(state_.config.default_n_ctx);
  r->set_n_ctx_train(hp.n_ctx_train);
  r->set_n_vocab(hp.n_vocab);
  r->set_n_layer(hp.n_layer);
  r->set_n_embd(hp.n_embd);
  r->set_n_head_kv(hp.n_head_kv);
  *r->mutable_cache_policy() = state_.config.default_policy;
  r->set_worker_id(state_.config.worker_id);
  r->set_version(state_.config.version);
  r->set_backend(ValidUtf8(m.backend()));
  r->set_max_sessions(state_.sessions.max_sessions());
  r->set_max_queue(state_.scheduler.params().max_queue);
  r->set_max_text_bytes(state_.input_rules.max_text_bytes);
  for (const ServedAdapter& served : state_.adapters.all()) {
    FillAdapterInfo(served, r->add_adapters());
  }
  return Answer(context, timer, absl::OkStatus());
}

grpc::ServerUnaryReactor* WorkerService::OpenSession(
    grpc::CallbackServerContext* context, const cachewire::v1::OpenSessionRequest* request,
    cachewire::v1::OpenSessionResponse* response) {
  RpcTimer timer(&state_.metrics, "OpenSession");
  ScopedCall call(state_.gate);
  if (!call.entered()) return Answer(context, timer, DrainingStatus());
  const auto open = [&]() -> absl::Status {
    const int64_t n_ctx = request->n_ctx() == 0 ? state_.config.default_n_ctx : request->n_ctx();
    const int64_t n_ctx_max = state_.model.hparams().n_ctx_train;
    if (request->n_ctx() < 0 || n_ctx > n_ctx_max) {
      return absl::InvalidArgumentError(Cat("n_ctx: must be in [0, ", n_ctx_max,
                                            "] (0: the worker's default), got ",
                                            request->n_ctx()));
    }
    auto policy = MergeCachePolicy(state_.config.default_policy, request->cache_policy());
    if (!policy.ok()) return policy.status();
    if (absl::Status st = state_.sessions.CheckRoom(); !st.ok()) return st;
    auto sequence = state_.scheduler.OpenSequence(
        {.n_ctx = n_ctx, .cache = FromProto(*policy), .pool = state_.pool});
    if (!sequence.ok()) return sequence.status();
    auto session = state_.sessions.Add(std::move(*sequence), *policy);
    if (!session.ok()) return session.status();
    response->set_session_id((*session)->id);
    response->set_n_ctx(n_ctx);
    *response->mutable_cache_policy() = *policy;
    LogEvent(spdlog::level::debug, "session_open",
             {{"session", (*session)->id}, {"n_ctx", n_ctx}});
    return absl::OkStatus();
  };
  return Answer(context, timer, open());
}

grpc::ServerUnaryReactor* WorkerService::Append(grpc::CallbackServerContext* context,
                                                const cachewire::v1::AppendRequest* request,
                                                cachewire::v1::AppendResponse* response) {
  return new AppendReactor(state_, context, *request, response);
}

grpc::ServerWriteReactor<cachewire::v1::GenerateResponse>* WorkerService::Generate(
    grpc::CallbackServerContext* context, const cachewire::v1::GenerateRequest* request) {
  return new GenerateReactor(state_, context, *request);
}

grpc::ServerWriteReactor<cachewire::v1::SummaryChunk>* WorkerService::ExportSummary(
    grpc::CallbackServerContext* context, const cachewire::v1::ExportSummaryRequest* request) {
  return new ExportSummaryReactor(state_, context, *request);
}

grpc::ServerReadReactor<cachewire::v1::SummaryChunk>* WorkerService::ImportSummary(
    grpc::CallbackServerContext* context, cachewire::v1::ImportSummaryResponse* response) {
  return new ImportSummaryReactor(state_, context, response);
}

grpc::ServerWriteReactor<cachewire::v1::CacheChunk>* WorkerService::ExportCache(
    grpc::CallbackServerContext* context, const cachewire::v1::ExportCacheRequest* request) {
  return new ExportCacheReactor(state_, context, *request);
}

grpc::ServerReadReactor<cachewire::v1::CacheChunk>* WorkerService::FuseCache(
    grpc::CallbackServerContext* context, cachewire::v1::FuseCacheResponse* response) {
  return new FuseCacheReactor(state_, context, response);
}

grpc::ServerUnaryReactor* WorkerService::CloseSession(
    grpc::CallbackServerContext* context, const cachewire::v1::CloseSessionRequest* request,
    cachewire::v1::CloseSessionResponse* response) {
  RpcTimer timer(&state_.metrics, "CloseSession");
  ScopedCall call(state_.gate);
  if (!call.entered()) return Answer(context, timer, DrainingStatus());
  auto session = state_.sessions.Remove(request->session_id());
  if (session.ok()) {
    (*session)->sequence->Close();  // its queued or running jobs end at their next step
    FillCacheStats((*session)->sequence->Snapshot(), response->mutable_cache());
    LogEvent(spdlog::level::debug, "session_close", {{"session", (*session)->id}});
  }
  return Answer(context, timer, session.status());
}

grpc::ServerUnaryReactor* WorkerService::Stats(grpc::CallbackServerContext* context,
                                               const cachewire::v1::StatsRequest* request,
                                               cachewire::v1::StatsResponse* response) {
  RpcTimer timer(&state_.metrics, "Stats");
  ScopedCall call(state_.gate);
  if (!call.entered()) return Answer(context, timer, DrainingStatus());
  const auto stats = [&]() -> absl::Status {
    std::vector<std::shared_ptr<WorkerSession>> sessions;
    if (!request->session_id().empty()) {
      auto one = state_.sessions.Find(request->session_id());
      if (!one.ok()) return one.status();
      sessions.push_back(*one);
    }
    const std::vector<std::shared_ptr<WorkerSession>> all = state_.sessions.All();
    if (request->session_id().empty()) sessions = all;
    cachewire::v1::WorkerStats* w = response->mutable_worker();
    w->set_cache_evictions(state_.sessions.closed_evictions());
    for (const auto& session : all) {
      const scheduler::SequenceSnapshot s = session->sequence->Snapshot();
      w->set_cache_entries(w->cache_entries() + s.entries);
      w->set_cache_bytes(w->cache_bytes() + s.cache_bytes);
      w->set_cache_evictions(w->cache_evictions() + s.evictions);
      w->set_cache_pinned(w->cache_pinned() + s.pinned);
    }
    const scheduler::SchedulerCounters c = state_.scheduler.counters();
    w->set_sessions_open(static_cast<int32_t>(all.size()));
    w->set_max_sessions(state_.sessions.max_sessions());
    w->set_queue_depth(c.queue_depth);
    w->set_max_queue(state_.scheduler.params().max_queue);
    w->set_tokens_prefilled(c.tokens_prefilled);
    w->set_tokens_generated(c.tokens_generated);
    w->set_forward_passes(c.forward_passes);
    w->set_forward_rows(c.forward_rows);
    w->set_uptime_s(std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                                  state_.started).count());
    for (const auto& session : sessions) FillSessionStats(*session, response->add_sessions());
    return absl::OkStatus();
  };
  return Answer(context, timer, stats());
}

grpc::ServerUnaryReactor* WorkerService::GetTranscript(
    grpc::CallbackServerContext* context, const cachewire::v1::GetTranscriptRequest* request,
    cachewire::v1::GetTranscriptResponse* response) {
  RpcTimer timer(&state_.metrics, "GetTranscript");
  ScopedCall call(state_.gate);
  if (!call.entered()) return Answer(context, timer, DrainingStatus());
  const auto transcript = [&]() -> absl::Status {
    auto session = state_.sessions.Find(request->session_id());
    if (!session.ok()) return session.status();
    std::vector<int32_t> ids = (*session)->sequence->CopyTokens();
    const int64_t n_tokens = static_cast<int64_t>(ids.size());
    const int32_t bos = state_.model.tokenizer().bos();
    std::erase(ids, bos);  // a marker of the sequence's start, not text
    auto text = state_.model.tokenizer().Decode(ids);
    if (!text.ok()) return text.status();
    response->set_text(ValidUtf8(*text));
    response->set_n_tokens(n_tokens);
    for (const generate::ChatMessage& m : (*session)->Messages()) {
      cachewire::v1::ChatMessage* out = response->add_messages();
      out->set_role(m.role);
      out->set_content(ValidUtf8(m.content));
    }
    return absl::OkStatus();
  };
  return Answer(context, timer, transcript());
}

}  // namespace cachewire::server::worker
