// `cachewire handoff FROM_SESSION TO_SESSION [--mode M] [--adapter NAME]` (or
// `--from FROM_SESSION --to TO_SESSION`): hands what one session holds to another through the
// router and prints what moved and how long each phase took (export from the sharer, the
// router's transfer, import into the receiver). Every mode prints the same fields; LCF also
// names the adapter.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "client/cli/commands.h"
#include "client/cli/router_connection.h"

namespace cachewire::cli {
namespace {

struct HandoffArgs {
  RouterFlags router;
  std::string from;
  std::string to;
  std::string mode = "text_context";
  std::string adapter;
  int32_t summary_max_tokens = 0;
};

[[noreturn]] void Fail(const std::string& message) {
  std::cerr << "cachewire handoff: " << message << "\n";
  throw CLI::RuntimeError(1);
}

v1::HandoffMode ParseMode(std::string name) {
  std::transform(name.begin(), name.end(), name.begin(), ::toupper);
  v1::HandoffMode mode;
  if (!v1::HandoffMode_Parse("HANDOFF_MODE_" + name, &mode) ||
      mode == v1::HANDOFF_MODE_UNSPECIFIED) {
    Fail("--mode " + name + ": not one of none, text_context, text_summary, c2c, lcf");
  }
  return mode;
}

void RunHandoff(const HandoffArgs& args) {
  v1::HandoffRequest request;
  request.set_from_session_id(args.from);
  request.set_to_session_id(args.to);
  request.set_mode(ParseMode(args.mode));
  request.set_adapter(args.adapter);
  request.set_summary_max_tokens(args.summary_max_tokens);
  auto connection = RouterConnection::Open(args.router);
  if (!connection.ok()) Fail(std::string(connection.status().message()));
  v1::HandoffResponse response;
  auto context = connection->NewContext();
  const grpc::Status status = connection->stub().Handoff(context.get(), request, &response);
  if (!status.ok()) Fail(DescribeStatus(status));
  std::printf("mode: %s\nbytes moved: %lld\nslots: %lld\nreceiver tokens added: %lld\n",
              v1::HandoffMode_Name(response.mode()).c_str(),
              static_cast<long long>(response.bytes_moved()),
              static_cast<long long>(response.slots()),
              static_cast<long long>(response.receiver_tokens_added()));
  std::printf("latency ms: export %.2f | transfer %.2f | import %.2f | total %.2f\n",
              response.export_ms(), response.transfer_ms(), response.import_ms(),
              response.total_ms());
  if (response.mode() == v1::HANDOFF_MODE_C2C) {
    std::printf("entries fused: %lld (unmatched: %lld)\n",
                static_cast<long long>(response.entries_fused()),
                static_cast<long long>(response.entries_unmatched()));
  }
  if (!response.adapter().empty()) std::printf("adapter: %s\n", response.adapter().c_str());
  if (!response.summary().empty()) std::printf("summary: %s\n", response.summary().c_str());
}

}  // namespace

void RegisterHandoff(CLI::App& app) {
  auto args = std::make_shared<HandoffArgs>();
  CLI::App* cmd = app.add_subcommand("handoff", "Hand one session's context to another");
  cmd->add_option("from,--from", args->from, "Sharer's session id")->required();
  cmd->add_option("to,--to", args->to, "Receiver's session id")->required();
  cmd->add_option("--mode", args->mode, "none, text_context, text_summary, c2c or lcf")
      ->capture_default_str();
  cmd->add_option("--adapter", args->adapter, "Adapter name (lcf, c2c)");
  cmd->add_option("--summary-tokens", args->summary_max_tokens,
                  "Most tokens of a text_summary (0: the router's default)");
  AddRouterFlags(*cmd, args->router);
  cmd->callback([args] { RunHandoff(*args); });
}

}  // namespace cachewire::cli
