// `cachewire chat [AGENT] [-m TEXT] [--session ID] [options]`: talks to one agent through the
// router. Each user turn goes out as a Generate carrying the turn (chat messages rendered by
// the agent's own template, or plain text with --raw or when its model has no template) and
// the reply streams to stdout as it is generated.
//
// With -m the one turn is sent and the session stays open (its id is printed on stderr as
// `session: ID`, for `cachewire handoff` or a later `chat --session ID`); without -m, turns are
// read from stdin line by line and the session is closed at the end unless --keep.
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "client/cli/commands.h"
#include "client/cli/router_connection.h"

namespace cachewire::cli {
namespace {

struct ChatArgs {
  RouterFlags router;
  std::string agent;
  std::string session;
  std::optional<std::string> message;
  std::string system;
  bool raw = false;
  bool keep = false;
  int32_t max_tokens = 128;
  float temperature = 0.0f;
  std::optional<uint64_t> seed;
};

[[noreturn]] void Fail(const std::string& message) {
  std::cerr << "cachewire chat: " << message << "\n";
  throw CLI::RuntimeError(1);
}

// Whether the agent's model has a chat template (else turns go as plain text).
bool AgentHasChatTemplate(RouterConnection& connection, const std::string& agent) {
  v1::ListAgentsResponse agents;
  auto context = connection.NewContext();
  const grpc::Status status =
      connection.stub().ListAgents(context.get(), v1::ListAgentsRequest(), &agents);
  if (!status.ok()) Fail(DescribeStatus(status));
  for (const v1::AgentInfo& info : agents.agents()) {
    if (info.name() == agent) return !info.worker().chat_template().empty();
  }
  Fail("agent '" + agent + "': no such agent (see `cachewire agents`)");
}

// Sends one user turn and streams the reply to stdout.
void Turn(RouterConnection& connection, const ChatArgs& args, const std::string& session,
          bool chat, bool first, const std::string& text) {
  v1::GenerateRequest request;
  request.set_session_id(session);
  if (chat) {
    v1::ChatMessages* messages = request.mutable_messages();
    if (first && !args.system.empty()) {
      v1::ChatMessage* system = messages->add_messages();
      system->set_role("system");
      system->set_content(args.system);
    }
    v1::ChatMessage* user = messages->add_messages();
    user->set_role("user");
    user->set_content(text);
  } else {
    request.set_text(text);
  }
  v1::SamplingParams* sampling = request.mutable_sampling();
  sampling->set_max_tokens(args.max_tokens);
  sampling->set_temperature(args.temperature);
  if (args.seed) sampling->set_seed(*args.seed);
  auto context = connection.NewContext();
  auto reader = connection.stub().Generate(context.get(), request);
  v1::GenerateResponse message;
  bool ends_with_newline = true;
  while (reader->Read(&message)) {
    if (message.has_tokens() && !message.tokens().text().empty()) {
      const std::string& piece = message.tokens().text();
      std::cout << piece << std::flush;
      ends_with_newline = piece.back() == '\n';
    }
  }
  if (!ends_with_newline) std::cout << "\n";
  const grpc::Status status = reader->Finish();
  if (!status.ok()) Fail(DescribeStatus(status));
}

void RunChat(const ChatArgs& args) {
  if (args.agent.empty() && args.session.empty()) Fail("give an AGENT or --session ID");
  auto connection = RouterConnection::Open(args.router);
  if (!connection.ok()) Fail(std::string(connection.status().message()));
  std::string session = args.session;
  std::string agent = args.agent;
  if (session.empty()) {
    v1::CreateSessionRequest request;
    request.set_agent(agent);
    v1::CreateSessionResponse created;
    auto context = connection->NewContext();
    const grpc::Status status =
        connection->stub().CreateSession(context.get(), request, &created);
    if (!status.ok()) Fail(DescribeStatus(status));
    session = created.session_id();
  } else if (agent.empty()) {
    v1::GetSessionRequest request;
    request.set_session_id(session);
    v1::GetSessionResponse found;
    auto context = connection->NewContext();
    const grpc::Status status = connection->stub().GetSession(context.get(), request, &found);
    if (!status.ok()) Fail(DescribeStatus(status));
    agent = found.agent();
  }
  std::cerr << "session: " << session << std::endl;
  const bool chat = !args.raw && AgentHasChatTemplate(*connection, agent);
  const bool first = args.session.empty();
  if (args.message) {
    Turn(*connection, args, session, chat, first, *args.message);
    return;
  }
  std::string line;
  bool first_turn = first;
  while (std::cerr << "> " << std::flush, std::getline(std::cin, line)) {
    if (line.empty()) continue;
    Turn(*connection, args, session, chat, first_turn, chat ? line : line + "\n");
    first_turn = false;
  }
  if (!args.keep) {
    v1::CloseSessionRequest request;
    request.set_session_id(session);
    v1::CloseSessionResponse closed;
    auto context = connection->NewContext();
    connection->stub().CloseSession(context.get(), request, &closed);
  }
}

}  // namespace

void RegisterChat(CLI::App& app) {
  auto args = std::make_shared<ChatArgs>();
  CLI::App* cmd = app.add_subcommand("chat", "Talk to an agent through the router");
  cmd->add_option("agent", args->agent, "Agent name (see `cachewire agents`)");
  cmd->add_option("--session", args->session, "Continue this session instead of a new one");
  cmd->add_option("-m,--message", args->message, "Send this one turn, keep the session open");
  cmd->add_option("--system", args->system, "System message of a new chat");
  cmd->add_flag("--raw", args->raw, "Send turns as plain text, not chat messages");
  cmd->add_flag("--keep", args->keep, "Leave the session open at the end of stdin");
  cmd->add_option("--max-tokens,-n", args->max_tokens, "Most tokens per reply")
      ->capture_default_str();
  cmd->add_option("--temp", args->temperature, "Temperature; 0 = greedy")->capture_default_str();
  cmd->add_option("--seed", args->seed, "Sampling seed");
  AddRouterFlags(*cmd, args->router);
  cmd->callback([args] { RunChat(*args); });
}

}  // namespace cachewire::cli
