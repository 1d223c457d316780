// `cachewire inspect FILE`: a human-readable summary of a GGUF file: header, architecture and
// hyperparameters, tokenizer summary, remaining metadata (long arrays summarised), the tensor
// table and byte totals. Errors name the file and field on stderr and exit with code 1.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <iostream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "client/cli/commands.h"
#include "engine/gguf/gguf_file.h"
#include "engine/gguf/tensor_type.h"

namespace cachewire::cli {
namespace {

using gguf::Array;
using gguf::File;
using gguf::Value;
using gguf::ValueType;

constexpr size_t kMaxInlineItems = 8;    // longer arrays print as "[N x type]"
constexpr size_t kMaxInlineString = 80;  // longer strings are cut with their size noted

// Quotes a string with C escapes for control and non-ASCII-safe bytes kept as is (UTF-8 prints).
std::string Quote(std::string_view s) {
  std::string out = "\"";
  const std::string_view head = s.substr(0, kMaxInlineString);
  for (char c : head) {
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += "\"";
  if (s.size() > kMaxInlineString) out += "... (" + std::to_string(s.size()) + " bytes)";
  return out;
}

std::string FormatValue(const Value& v) {
  char buf[64];
  switch (v.type) {
    case ValueType::kFloat32:
      std::snprintf(buf, sizeof(buf), "%.9g", std::get<double>(v.data));
      return buf;
    case ValueType::kFloat64:
      std::snprintf(buf, sizeof(buf), "%.17g", std::get<double>(v.data));
      return buf;
    case ValueType::kBool: return std::get<bool>(v.data) ? "true" : "false";
    case ValueType::kString: return Quote(std::get<std::string_view>(v.data));
    case ValueType::kArray: {
      const Array& a = std::get<Array>(v.data);
      if (a.size() > kMaxInlineItems) {
        return "[" + std::to_string(a.size()) + " x " +
               std::string(gguf::ValueTypeName(a.elem_type)) + "]";
      }
      std::string out = "[";
      for (size_t i = 0; i < a.size(); ++i) {
        if (i > 0) out += ", ";
        out += FormatValue(a.Item(i));
      }
      if (a.empty()) out += "0 x " + std::string(gguf::ValueTypeName(a.elem_type));
      return out + "]";
    }
    default:
      if (const uint64_t* u = std::get_if<uint64_t>(&v.data)) return std::to_string(*u);
      return std::to_string(std::get<int64_t>(v.data));
  }
}

std::string HumanBytes(uint64_t n) {
  char buf[64];
  if (n >= (1ull << 30)) {
    std::snprintf(buf, sizeof(buf), "%" PRIu64 " bytes (%.2f GiB)", n, n / 1073741824.0);
  } else if (n >= (1ull << 20)) {
    std::snprintf(buf, sizeof(buf), "%" PRIu64 " bytes (%.2f MiB)", n, n / 1048576.0);
  } else {
    std::snprintf(buf, sizeof(buf), "%" PRIu64 " bytes", n);
  }
  return buf;
}

[[noreturn]] void Fail(const std::string& message) {
  std::cerr << "cachewire inspect: " << message << "\n";
  throw CLI::RuntimeError(1);
}

// The tokenizer summary; `shown` collects the keys printed here.
void PrintTokenizer(const File& f, std::set<std::string, std::less<>>& shown, std::ostream& out) {
  out << "\ntokenizer:\n";
  std::vector<std::string_view> tokens;
  if (f.Find("tokenizer.ggml.tokens") != nullptr) {
    absl::StatusOr<std::vector<std::string_view>> t = f.GetStringArray("tokenizer.ggml.tokens");
    if (!t.ok()) Fail(std::string(t.status().message()));
    tokens = *std::move(t);
    shown.insert("tokenizer.ggml.tokens");
  }
  const auto line = [&](std::string_view label, std::string_view key) {
    const Value* v = f.Find(key);
    if (v == nullptr) return;
    shown.insert(std::string(key));
    out << "  " << label << std::string(12 - label.size(), ' ') << FormatValue(*v) << "\n";
  };
  if (f.Find("tokenizer.ggml.model") == nullptr) out << "  (no tokenizer.ggml.model)\n";
  line("model:", "tokenizer.ggml.model");
  line("pre:", "tokenizer.ggml.pre");
  if (f.Find("tokenizer.ggml.tokens") != nullptr) {
    out << "  vocab size: " << tokens.size() << "\n";
  }
  if (const Value* merges = f.Find("tokenizer.ggml.merges")) {
    shown.insert("tokenizer.ggml.merges");
    const Array* a = std::get_if<Array>(&merges->data);
    out << "  merges:     " << (a ? std::to_string(a->size()) : FormatValue(*merges)) << "\n";
  }
  for (std::string_view which : {"bos", "eos", "eot"}) {
    const std::string key = "tokenizer.ggml." + std::string(which) + "_token_id";
    if (f.Find(key) == nullptr) continue;
    shown.insert(key);
    absl::StatusOr<uint64_t> id = f.GetUint(key);
    if (!id.ok()) Fail(std::string(id.status().message()));
    out << "  " << which << ":        " << *id;
    if (*id < tokens.size()) {
      out << " " << Quote(tokens[*id]);
    } else if (!tokens.empty()) {
      out << " (out of range: vocab has " << tokens.size() << " tokens)";
    }
    out << "\n";
  }
  line("add_bos:", "tokenizer.ggml.add_bos_token");
  line("add_eos:", "tokenizer.ggml.add_eos_token");
}

void Inspect(const std::string& path, std::ostream& out) {
  absl::StatusOr<std::unique_ptr<File>> opened = File::Open(path);
  if (!opened.ok()) Fail(std::string(opened.status().message()));
  const File& f = **opened;
  std::set<std::string, std::less<>> shown;

  std::string arch;
  if (f.Find("general.architecture") != nullptr) {
    absl::StatusOr<std::string_view> a = f.GetString("general.architecture");
    if (!a.ok()) Fail(std::string(a.status().message()));
    arch = std::string(*a);
    shown.insert("general.architecture");
  }
  std::string name = "(none)";
  if (const Value* n = f.Find("general.name")) {
    name = FormatValue(*n);
    shown.insert("general.name");
  }
  out << "file:          " << f.path() << "\n"
      << "gguf version:  " << f.version() << "\n"
      << "alignment:     " << f.alignment() << "\n"
      << "architecture:  " << (arch.empty() ? "(none)" : arch) << "\n"
      << "name:          " << name << "\n";

  out << "\nhyperparameters (" << (arch.empty() ? "?" : arch) << ".*):\n";
  size_t n_hparams = 0;
  for (const gguf::MetadataEntry& e : f.metadata()) {
    const bool in_arch = !arch.empty() && e.key.size() > arch.size() + 1 &&
                         e.key.substr(0, arch.size()) == arch && e.key[arch.size()] == '.';
    if (!in_arch) continue;
    out << "  " << e.key << " = " << FormatValue(e.value) << "\n";
    shown.insert(std::string(e.key));
    ++n_hparams;
  }
  if (n_hparams == 0) out << "  (none)\n";

  PrintTokenizer(f, shown, out);

  out << "\nother metadata:\n";
  size_t n_other = 0;
  for (const gguf::MetadataEntry& e : f.metadata()) {
    if (shown.find(e.key) != shown.end()) continue;
    out << "  " << e.key << " = " << FormatValue(e.value) << "\n";
    ++n_other;
  }
  if (n_other == 0) out << "  (none)\n";

  size_t name_w = 4;
  for (const gguf::TensorInfo& t : f.tensors()) name_w = std::max(name_w, t.name.size());
  out << "\ntensors (" << f.tensors().size() << "):\n";
  char buf[256];
  std::snprintf(buf, sizeof(buf), "  %-*s  %-5s  %-22s  %14s\n", static_cast<int>(name_w), "name",
                "type", "shape", "bytes");
  out << buf;
  uint64_t total = 0;
  for (const gguf::TensorInfo& t : f.tensors()) {
    std::string shape = "[";
    for (size_t i = 0; i < t.shape.size(); ++i) {
      shape += (i ? ", " : "") + std::to_string(t.shape[i]);
    }
    shape += "]";
    const std::string tname(t.name);
    std::snprintf(buf, sizeof(buf), "  %-*s  %-5s  %-22s  %14zu\n", static_cast<int>(name_w),
                  tname.c_str(), std::string(gguf::TensorTypeName(t.type)).c_str(), shape.c_str(),
                  t.n_bytes);
    out << buf;
    total += t.n_bytes;
  }
  out << "\ntotal tensor bytes: " << HumanBytes(total) << "\n"
      << "file size:          " << HumanBytes(f.size_bytes()) << "\n";
}

}  // namespace

void RegisterInspect(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand(
      "inspect", "Print a GGUF file's header, hyperparameters, tokenizer summary and tensors");
  auto path = std::make_shared<std::string>();
  cmd->add_option("FILE", *path, "GGUF file to inspect")->required();
  cmd->callback([path] { Inspect(*path, std::cout); });
}

}  // namespace cachewire::cli
