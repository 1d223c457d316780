// `cachewire generate --model FILE --prompt TEXT [options]`: loads a GGUF model, generates a
// continuation of the prompt (or, with --chat, the assistant's reply in the model's chat format)
// and streams the text to stdout as it is produced. A summary line goes to stderr: prompt and
// generated token counts, prefill and decode speed, why generation stopped, and the seed (so a
// sampled run can be repeated). Bad flag values and bad files are reported on stderr, naming the
// field or the file, with exit code 1.
#include <CLI/CLI.hpp>
#include <cinttypes>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "client/cli/commands.h"
#include "engine/generate/chat_template.h"
#include "engine/generate/generator.h"
#include "engine/gguf/gguf_file.h"
#include "engine/model/model.h"
#include "engine/sampler/sampler.h"
#include "engine/tokenizer/tokenizer.h"

namespace cachewire::cli {
namespace {

struct GenerateArgs {
  std::string model;
  std::string prompt;
  int32_t max_tokens = 256;
  sampler::SamplerParams sampling{.temperature = 0.8f, .top_k = 40, .top_p = 0.95f,
                                  .min_p = 0.05f, .repetition_penalty = 1.0f,
                                  .repetition_window = 64, .seed = 0};
  std::optional<uint64_t> seed;
  int threads = 0;
  std::string device = "cpu";
  int64_t ctx = 0;
  std::vector<std::string> stop;
  bool chat = false;
  std::string system;
  std::string chat_template;  // force a family: llama3, gemma3, chatml, llama2
  bool print_ids = false;     // hidden: print the generated ids instead of the text (tests)
};

[[noreturn]] void Fail(const std::string& message) {
  std::cerr << "cachewire generate: " << message << "\n";
  throw CLI::RuntimeError(1);
}

// The prompt text, and whether the vocabulary should add its BOS (not when the chat format
// carries it).
struct Prompt {
  std::string text;
  bool add_bos = true;
};

Prompt BuildPrompt(const GenerateArgs& args, const model::Model& model) {
  if (!args.chat) return {args.prompt, true};
  generate::ChatFamily family;
  if (!args.chat_template.empty()) {
    auto forced = generate::ParseChatFamily(args.chat_template);
    if (!forced.ok()) Fail(std::string(forced.status().message()));
    family = *forced;
  } else {
    auto arch = model.file().GetString("general.architecture");
    auto detected = generate::DetectChatFamily(model.tokenizer().vocab(),
                                               arch.ok() ? *arch : std::string_view());
    if (!detected.ok()) Fail(std::string(detected.status().message()) + " with --chat-template");
    family = *detected;
  }
  std::vector<generate::ChatMessage> messages;
  if (!args.system.empty()) messages.push_back({"system", args.system});
  messages.push_back({"user", args.prompt});
  auto text = generate::FormatChat(family, messages);
  if (!text.ok()) Fail(std::string(text.status().message()));
  return {*text, false};
}

// The escapes \n, \t, \r and \\ in a --stop value become the characters, so that a newline can
// be given on the command line.
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    switch (s[++i]) {
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case '\\': out += '\\'; break;
      default: out += '\\'; out += s[i]; break;
    }
  }
  return out;
}

void RunGenerate(GenerateArgs args) {
  // Flag values first, before a possibly large model is mapped.
  if (args.max_tokens < 0) Fail("--max-tokens must be >= 0");
  if (args.threads < 0) Fail("--threads must be >= 0 (0: one per hardware thread)");
  if (args.ctx < 0) Fail("--ctx must be >= 0 (0: the model's training context)");
  if (!args.system.empty() && !args.chat) Fail("--system needs --chat");
  if (!args.chat_template.empty() && !args.chat) Fail("--chat-template needs --chat");
  for (std::string& stop : args.stop) stop = Unescape(stop);
  args.sampling.seed = args.seed ? *args.seed : std::random_device{}();
  if (auto s = sampler::Sampler::Create(args.sampling); !s.ok()) {
    Fail(std::string(s.status().message()));
  }

  auto device = model::ParseDevice(args.device);
  if (!device.ok()) Fail("--device: " + std::string(device.status().message()));
  auto model = model::Model::Load(args.model, {.n_threads = args.threads, .device = *device});
  if (!model.ok()) Fail(std::string(model.status().message()));
  auto session = (*model)->NewSession({.n_ctx = args.ctx});
  if (!session.ok()) Fail(std::string(session.status().message()));

  const Prompt prompt = BuildPrompt(args, **model);
  generate::GenerateParams params{.max_tokens = args.max_tokens,
                                  .stop = args.stop,
                                  .sampling = args.sampling,
                                  .add_bos = prompt.add_bos,
                                  .parse_special = true};
  bool ends_with_newline = true;
  auto stats = generate::Generate(
      **model, **session, prompt.text, params, [&](std::string_view piece) {
        if (!args.print_ids) {
          std::cout << piece << std::flush;
          ends_with_newline = piece.back() == '\n';
        }
        return true;
      });
  if (!stats.ok()) {
    if (!ends_with_newline) std::cout << std::endl;
    Fail(std::string(stats.status().message()));
  }
  if (args.print_ids) {
    for (size_t i = 0; i < stats->tokens.size(); ++i) {
      std::cout << (i ? " " : "") << stats->tokens[i];
    }
    std::cout << "\n";
  } else if (!ends_with_newline) {
    std::cout << "\n";
  }
  std::cout.flush();
  char line[256];
  std::snprintf(line, sizeof(line),
                "prompt: %" PRId64 " tokens, %.1f tok/s | generated: %" PRId64
                " tokens, %.1f tok/s | stop: %s | seed: %" PRIu64,
                stats->n_prompt_tokens, stats->PrefillTokensPerSecond(),
                stats->n_generated_tokens, stats->DecodeTokensPerSecond(),
                generate::StopReasonName(stats->stop_reason), args.sampling.seed);
  std::cerr << line << "\n";
}

}  // namespace

void RegisterGenerate(CLI::App& app) {
  auto args = std::make_shared<GenerateArgs>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate text with a GGUF model");
  cmd->add_option("--model,-m", args->model, "GGUF model file")->required();
  cmd->add_option("--prompt,-p", args->prompt, "Prompt text (the user message with --chat)")
      ->required();
  cmd->add_option("--max-tokens,-n", args->max_tokens, "Most tokens to generate")
      ->capture_default_str();
  cmd->add_option("--temp", args->sampling.temperature, "Temperature; 0 = greedy")
      ->capture_default_str();
  cmd->add_option("--top-k", args->sampling.top_k, "Keep the k most likely tokens; 0 = off")
      ->capture_default_str();
  cmd->add_option("--top-p", args->sampling.top_p, "Nucleus mass in (0, 1]")
      ->capture_default_str();
  cmd->add_option("--min-p", args->sampling.min_p, "Drop tokens below min_p * p_max")
      ->capture_default_str();
  cmd->add_option("--repeat-penalty", args->sampling.repetition_penalty,
                  "Penalty on recently seen tokens; 1 = off")
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "Sampling seed (default: random, printed at the end)");
  cmd->add_option("--threads,-t", args->threads, "CPU threads; 0 = one per hardware thread")
      ->capture_default_str();
  cmd->add_option("--device", args->device, "cpu, cuda (the GPU) or auto (cuda when found)")
      ->capture_default_str();
  cmd->add_option("--ctx,-c", args->ctx, "Context size in tokens; 0 = the model's")
      ->capture_default_str();
  cmd->add_option("--stop", args->stop,
                  "Stop string, not printed (repeatable; \\n \\t understood)")
      ->take_all()
      ->allow_extra_args(false);
  cmd->add_flag("--chat", args->chat, "Wrap the prompt in the model's chat template");
  cmd->add_option("--system", args->system, "System message (with --chat)");
  cmd->add_option("--chat-template", args->chat_template,
                  "Force a chat format: llama3, gemma3, chatml, llama2 (with --chat)");
  cmd->add_flag("--print-ids", args->print_ids, "Print the generated ids instead of the text")
      ->group("");
  cmd->callback([args] { RunGenerate(*args); });
}

}  // namespace cachewire::cli
