// Entry point of the `cachewire` command-line tool: dispatches to the subcommands.
#include <CLI/CLI.hpp>

#include "client/cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"cachewire: agents that share latent KV-cache summaries"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "cachewire 0.1.0");
  cachewire::cli::RegisterInspect(app);
  cachewire::cli::RegisterTokenize(app);
  cachewire::cli::RegisterGenerate(app);
  cachewire::cli::RegisterUp(app);
  cachewire::cli::RegisterAgents(app);
  cachewire::cli::RegisterChat(app);
  cachewire::cli::RegisterStats(app);
  cachewire::cli::RegisterHandoff(app);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
