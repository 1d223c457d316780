// The handoffs' checks, the text handoffs, and the dispatch by mode (see handoff.h).
#include "server/router/handoff.h"

#include <chrono>
#include <filesystem>

#include "server/router/adapter_handoff.h"
#include "server/router/worker_pool.h"
#include "server/router/worker_status.h"

namespace cachewire::router {
namespace {

constexpr int32_t kDefaultSummaryTokens = 128;
constexpr int32_t kMaxSummaryTokens = 4096;
constexpr size_t kMaxSummaryPromptBytes = 4096;
constexpr char kDefaultSummaryPrompt[] = "\nSummary:";

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

bool AdapterCalled(const AdapterConfig& adapter, const std::string& name) {
  return adapter.name == name || std::filesystem::path(adapter.file).filename().string() == name;
}

// The chat template the agent's worker reported ("" when unknown).
std::string ChatTemplateOf(const AgentLink& agent) {
  auto info = agent.info();
  return info ? info->chat_template() : std::string();
}

// The text a TEXT_CONTEXT handoff appends to the receiver.
std::string TranscriptForReceiver(const v1::GetTranscriptResponse& transcript,
                                  const AgentLink& sharer, const AgentLink& receiver) {
  const bool same_template = ChatTemplateOf(sharer) == ChatTemplateOf(receiver);
  if (same_template || transcript.messages_size() == 0) return transcript.text();
  std::string plain;
  for (const v1::ChatMessage& message : transcript.messages()) {
    plain += message.role() + ": " + message.content() + "\n";
  }
  return plain;
}

// Appends `text` to the receiver; fills the import side of the response.
grpc::Status ImportText(const std::string& text, const HandoffEnd& to,
                        const grpc::CallbackServerContext& parent, v1::HandoffResponse* response) {
  const auto start = Clock::now();
  v1::AppendRequest append;
  append.set_session_id(to.session.worker_session_id);
  append.set_text(text);
  response->set_transfer_ms(response->transfer_ms() + MsSince(start));
  const auto import_start = Clock::now();
  v1::AppendResponse appended;
  auto context = ChildContext(parent);
  const grpc::Status status = to.agent->stub().Append(context.get(), append, &appended);
  response->set_import_ms(MsSince(import_start));
  if (!status.ok()) {
    return RelayWorkerStatus(status, {to.agent, &to.session, "to_session_id"});
  }
  response->set_bytes_moved(static_cast<int64_t>(text.size()));
  response->set_receiver_tokens_added(appended.n_tokens_added());
  *response->mutable_receiver_cache() = appended.cache();
  return grpc::Status::OK;
}

grpc::Status HandoffNone(const HandoffEnd& to, const grpc::CallbackServerContext& parent,
                         v1::HandoffResponse* response) {
  v1::StatsRequest request;
  request.set_session_id(to.session.worker_session_id);
  v1::StatsResponse stats;
  auto context = ChildContext(parent);
  const grpc::Status status = to.agent->stub().Stats(context.get(), request, &stats);
  if (!status.ok()) return RelayWorkerStatus(status, {to.agent, &to.session, "to_session_id"});
  if (stats.sessions_size() > 0) *response->mutable_receiver_cache() = stats.sessions(0).cache();
  return grpc::Status::OK;
}

grpc::Status HandoffTextContext(const HandoffEnd& from, const HandoffEnd& to,
                                const grpc::CallbackServerContext& parent,
                                v1::HandoffResponse* response) {
  const auto export_start = Clock::now();
  v1::GetTranscriptRequest request;
  request.set_session_id(from.session.worker_session_id);
  v1::GetTranscriptResponse transcript;
  auto context = ChildContext(parent);
  const grpc::Status status =
      from.agent->stub().GetTranscript(context.get(), request, &transcript);
  response->set_export_ms(MsSince(export_start));
  if (!status.ok()) {
    return RelayWorkerStatus(status, {from.agent, &from.session, "from_session_id"});
  }
  const auto transfer_start = Clock::now();
  const std::string text = TranscriptForReceiver(transcript, *from.agent, *to.agent);
  response->set_transfer_ms(MsSince(transfer_start));
  if (text.empty()) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "from_session_id '" + from.session.id + "': the session holds no text");
  }
  return ImportText(text, to, parent, response);
}

grpc::Status HandoffTextSummary(const v1::HandoffRequest& handoff, const HandoffEnd& from,
                                const HandoffEnd& to, const grpc::CallbackServerContext& parent,
                                v1::HandoffResponse* response) {
  const auto export_start = Clock::now();
  v1::GenerateRequest request;
  request.set_session_id(from.session.worker_session_id);
  request.set_text(handoff.summary_prompt().empty() ? kDefaultSummaryPrompt
                                                    : handoff.summary_prompt());
  request.mutable_sampling()->set_temperature(0.0f);
  request.mutable_sampling()->set_max_tokens(
      handoff.summary_max_tokens() > 0 ? handoff.summary_max_tokens() : kDefaultSummaryTokens);
  auto context = ChildContext(parent);
  auto reader = from.agent->stub().Generate(context.get(), request);
  std::string summary;
  v1::GenerateResponse message;
  while (reader->Read(&message)) {
    if (message.has_tokens()) summary += message.tokens().text();
  }
  const grpc::Status status = reader->Finish();
  response->set_export_ms(MsSince(export_start));
  if (!status.ok()) {
    return RelayWorkerStatus(status, {from.agent, &from.session, "from_session_id"});
  }
  response->set_summary(summary);
  if (summary.empty()) return grpc::Status::OK;  // nothing to import
  return ImportText(summary, to, parent, response);
}

}  // namespace

absl::Status ValidateHandoffRequest(const v1::HandoffRequest& request) {
  if (request.from_session_id().empty()) {
    return absl::InvalidArgumentError("from_session_id: empty");
  }
  if (request.to_session_id().empty()) return absl::InvalidArgumentError("to_session_id: empty");
  if (request.from_session_id() == request.to_session_id()) {
    return absl::InvalidArgumentError("to_session_id: must differ from from_session_id");
  }
  const v1::HandoffMode mode = request.mode();
  if (mode == v1::HANDOFF_MODE_UNSPECIFIED || !v1::HandoffMode_IsValid(mode)) {
    return absl::InvalidArgumentError(
        "mode: must be one of NONE, TEXT_CONTEXT, TEXT_SUMMARY, C2C, LCF, got " +
        std::to_string(static_cast<int>(mode)));
  }
  const bool adapter_mode = mode == v1::HANDOFF_MODE_LCF || mode == v1::HANDOFF_MODE_C2C;
  if (!adapter_mode && !request.adapter().empty()) {
    return absl::InvalidArgumentError("adapter: only LCF and C2C handoffs take an adapter");
  }
  if (request.summary_max_tokens() < 0 || request.summary_max_tokens() > kMaxSummaryTokens) {
    return absl::InvalidArgumentError("summary_max_tokens: must be in [0, " +
                                      std::to_string(kMaxSummaryTokens) + "], got " +
                                      std::to_string(request.summary_max_tokens()));
  }
  if (request.summary_prompt().size() > kMaxSummaryPromptBytes) {
    return absl::InvalidArgumentError("summary_prompt: longer than " +
                                      std::to_string(kMaxSummaryPromptBytes) + " bytes");
  }
  return absl::OkStatus();
}

absl::StatusOr<const AdapterConfig*> ResolveAdapter(const v1::HandoffRequest& request,
                                                    const RouterConfig& config,
                                                    const std::string& sharer_agent,
                                                    const std::string& receiver_agent) {
  const AdapterKind kind =
      request.mode() == v1::HANDOFF_MODE_LCF ? AdapterKind::kLcf : AdapterKind::kC2c;
  const std::string pair = sharer_agent + "->" + receiver_agent;
  if (!request.adapter().empty()) {
    // An LCF adapter and a C2C fuser may share a name: the mode's kind is looked for first.
    const AdapterConfig* named = nullptr;
    for (const AdapterConfig& adapter : config.adapters) {
      if (!AdapterCalled(adapter, request.adapter())) continue;
      if (named == nullptr || (named->kind != kind && adapter.kind == kind)) named = &adapter;
    }
    if (named == nullptr) {
      return absl::NotFoundError("adapter '" + request.adapter() + "': no such adapter");
    }
    if (named->sharer != sharer_agent || named->receiver != receiver_agent ||
        named->kind != kind) {
      return absl::FailedPreconditionError(
          "adapter '" + request.adapter() + "' serves agents " + named->sharer + "->" +
          named->receiver + " (" + AdapterKindName(named->kind) + "), not " + pair + " (" +
          AdapterKindName(kind) + ")");
    }
    return named;
  }
  const AdapterConfig* adapter = config.FindAdapter(sharer_agent, receiver_agent, kind);
  if (adapter == nullptr) {
    return absl::FailedPreconditionError(std::string("no adapter configured for agents ") +
                                         pair + " (mode " + AdapterKindName(kind) + ")");
  }
  return adapter;
}

grpc::Status RunHandoff(const v1::HandoffRequest& request, const AdapterConfig* adapter,
                        const HandoffEnd& from, const HandoffEnd& to,
                        const grpc::CallbackServerContext& parent,
                        v1::HandoffResponse* response) {
  const auto start = Clock::now();
  response->set_mode(request.mode());
  grpc::Status status;
  switch (request.mode()) {
    case v1::HANDOFF_MODE_NONE:
      status = HandoffNone(to, parent, response);
      break;
    case v1::HANDOFF_MODE_TEXT_CONTEXT:
      status = HandoffTextContext(from, to, parent, response);
      break;
    case v1::HANDOFF_MODE_TEXT_SUMMARY:
      status = HandoffTextSummary(request, from, to, parent, response);
      break;
    case v1::HANDOFF_MODE_LCF:
    case v1::HANDOFF_MODE_C2C:
      if (adapter == nullptr) {
        status = grpc::Status(grpc::StatusCode::INTERNAL, "adapter: not resolved");
        break;
      }
      status = request.mode() == v1::HANDOFF_MODE_LCF
                   ? HandoffLcf(adapter->name, from, to, parent, response)
                   : HandoffC2c(adapter->name, from, to, parent, response);
      break;
    default:
      status = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "mode: " + v1::HandoffMode_Name(request.mode()) + " is not served");
      break;
  }
  response->set_total_ms(MsSince(start));
  return status;
}

}  // namespace cachewire::router
