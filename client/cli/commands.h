// Subcommands of the `cachewire` CLI. Each Register* adds one subcommand to the app; its
// callback prints errors to stderr and throws CLI::RuntimeError with the exit code on failure.
#pragma once

#include <CLI/CLI.hpp>

namespace cachewire::cli {

void RegisterInspect(CLI::App& app);   // cmd_inspect.cc
void RegisterTokenize(CLI::App& app);  // cmd_tokenize.cc
void RegisterGenerate(CLI::App& app);  // cmd_generate.cc

}  // namespace cachewire::cli
