// `cachewire tokenize --model FILE TEXT`: the ids (and pieces) a GGUF's tokenizer gives for a
// text. Any GGUF with tokenizer.ggml.* metadata works, a full model or a vocabulary-only file.
//
// Output: one `id<TAB>piece` line per token, the piece escaped so that whitespace and bytes
// that are not text stay visible (space as ␣, \n \t \r \\, other control and invalid bytes as
// \xHH, a literal ␣ as \u2423); with --ids, the ids alone, space-separated on one line.
#include <iostream>
#include <memory>
#include <string>

#include "client/cli/commands.h"
#include "engine/gguf/gguf_file.h"
#include "engine/tokenizer/tokenizer.h"
#include "engine/tokenizer/unicode.h"

namespace cachewire::cli {

namespace {

struct TokenizeArgs {
  std::string model;
  std::string text;
  bool ids_only = false;
  bool no_bos = false;
  bool no_special = false;
};

std::string EscapePiece(std::string_view piece) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t pos = 0; pos < piece.size();) {
    const size_t len = tokenizer::Utf8SeqLen(piece, pos);
    const auto c = static_cast<unsigned char>(piece[pos]);
    if (len > 1) {
      std::string_view ch = piece.substr(pos, len);
      out += ch == "\xE2\x90\xA3" ? "\\u2423" : std::string(ch);
    } else if (c == ' ') {
      out += "\xE2\x90\xA3";  // ␣
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c >= 0x7F) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
    pos += len;
  }
  return out;
}

[[noreturn]] void Fail(const std::string& message) {
  std::cerr << "cachewire tokenize: " << message << "\n";
  throw CLI::RuntimeError(1);
}

void RunTokenize(const TokenizeArgs& args) {
  auto file = gguf::File::Open(args.model);
  if (!file.ok()) Fail(std::string(file.status().message()));
  auto tok = tokenizer::Tokenizer::FromGguf(**file);
  if (!tok.ok()) Fail(std::string(tok.status().message()));
  const std::vector<int32_t> ids = (*tok)->Encode(
      args.text, {.add_bos = !args.no_bos, .parse_special = !args.no_special});
  if (args.ids_only) {
    for (size_t i = 0; i < ids.size(); ++i) std::cout << (i ? " " : "") << ids[i];
    std::cout << "\n";
    return;
  }
  for (int32_t id : ids) {
    auto piece = (*tok)->TokenToPiece(id);
    if (!piece.ok()) Fail(std::string(piece.status().message()));
    std::cout << id << "\t" << EscapePiece(*piece) << "\n";
  }
}

}  // namespace

void RegisterTokenize(CLI::App& app) {
  auto args = std::make_shared<TokenizeArgs>();
  CLI::App* cmd = app.add_subcommand("tokenize", "Print the token ids of a text");
  cmd->add_option("--model,-m", args->model, "GGUF file with tokenizer metadata")->required();
  cmd->add_option("text", args->text, "Text to tokenize")->required();
  cmd->add_flag("--ids", args->ids_only, "Print only the ids, space-separated, on one line");
  cmd->add_flag("--no-bos", args->no_bos, "Do not add BOS/EOS even if the vocabulary asks");
  cmd->add_flag("--no-special", args->no_special,
                "Tokenize control-token strings as plain text");
  cmd->callback([args] { RunTokenize(*args); });
}

}  // namespace cachewire::cli
