// Subcommands of the `cachewire` CLI. Each Register* adds one subcommand to the app; its
// callback prints errors to stderr and throws CLI::RuntimeError with the exit code on failure.
#pragma once

#include <CLI/CLI.hpp>

namespace cachewire::cli {

void RegisterInspect(CLI::App& app);   // cmd_inspect.cc
void RegisterTokenize(CLI::App& app);  // cmd_tokenize.cc
void RegisterGenerate(CLI::App& app);  // cmd_generate.cc
void RegisterUp(CLI::App& app);        // cmd_up.cc
void RegisterAgents(CLI::App& app);    // cmd_agents.cc
void RegisterChat(CLI::App& app);      // cmd_chat.cc
void RegisterStats(CLI::App& app);     // cmd_stats.cc
void RegisterHandoff(CLI::App& app);   // cmd_handoff.cc

}  // namespace cachewire::cli
