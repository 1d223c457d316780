// Handoff: what one session holds is handed to another session, usually of another agent.
// The router runs it as a few blocking worker calls on its task pool (never on a gRPC thread):
//
//   NONE          nothing moves; the receiver's cache stats are reported.
//   TEXT_CONTEXT  export: Worker.GetTranscript on the sharer; import: Worker.Append of that text
//                 on the receiver. When the two agents use different chat templates, a chat
//                 transcript is re-written as plain "role: content" lines, so that one model's
//                 control markers are not fed to another's vocabulary.
//   TEXT_SUMMARY  export: Worker.Generate on the sharer (the summary prompt appended, greedy,
//                 summary_max_tokens); import: Worker.Append of the summary on the receiver.
//   LCF           export: Worker.ExportSummary on the sharer; each chunk is written into a
//                 Worker.ImportSummary stream on the receiver as it arrives (adapter_handoff.h).
//   C2C           export: Worker.ExportCache on the sharer, piped the same way into
//                 Worker.FuseCache on the receiver, whose session must hold the same text.
//   LCF, C2C      need an adapter for the agent pair: FAILED_PRECONDITION "no adapter
//                 configured for agents a->b" without one.
//
// Every phase is timed (export, transfer: the router's own work between the workers, import).
#pragma once

#include <grpcpp/grpcpp.h>

#include "absl/status/status.h"
#include "cachewire/v1/router.pb.h"
#include "server/router/router_config.h"
#include "server/router/session_table.h"

namespace cachewire::router {

class AgentLink;

// Checks the fields that need no lookup: mode, summary limits, adapter only with LCF/C2C,
// distinct sessions. INVALID_ARGUMENT naming the field.
absl::Status ValidateHandoffRequest(const v1::HandoffRequest& request);

// LCF/C2C only: the adapter for the pair, or FAILED_PRECONDITION / NOT_FOUND as above.
// request.adapter may give the adapter's name or its file's base name.
absl::StatusOr<const AdapterConfig*> ResolveAdapter(const v1::HandoffRequest& request,
                                                    const RouterConfig& config,
                                                    const std::string& sharer_agent,
                                                    const std::string& receiver_agent);

struct HandoffEnd {
  PublicSession session;
  AgentLink* agent = nullptr;
};

// Runs a validated request (`adapter`: the one ResolveAdapter found for LCF/C2C, else null).
// Worker errors are relayed naming from_session_id or to_session_id.
grpc::Status RunHandoff(const v1::HandoffRequest& request, const AdapterConfig* adapter,
                        const HandoffEnd& from, const HandoffEnd& to,
                        const grpc::CallbackServerContext& parent,
                        v1::HandoffResponse* response);

}  // namespace cachewire::router
