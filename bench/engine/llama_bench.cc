// Runs llama-bench through popen and scans its JSON lines for n_prompt, n_gen and samples_ts.
// One JSON object per line (`-o jsonl`), so a key-and-number scan is enough; no JSON library.
#include "bench/engine/llama_bench.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <utility>
#include <vector>

namespace cachewire::bench {
namespace {

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// The number after `"key":` in one JSON line, or NAN.
double JsonNumber(const std::string& line, std::string_view key) {
  std::string k(1, '"');
  k.append(key).push_back('"');
  size_t at = line.find(k);
  if (at == std::string::npos) return NAN;
  at = line.find(':', at + k.size());
  if (at == std::string::npos) return NAN;
  return std::strtod(line.c_str() + at + 1, nullptr);
}

// The median of `"samples_ts": [...]`, falling back to avg_ts.
double JsonTokensPerSecond(const std::string& line) {
  const size_t at = line.find("\"samples_ts\"");
  const size_t open = at == std::string::npos ? at : line.find('[', at);
  const size_t close = open == std::string::npos ? open : line.find(']', open);
  std::vector<double> v;
  if (close != std::string::npos) {
    const char* s = line.c_str() + open + 1;
    const char* end = line.c_str() + close;
    while (s < end) {
      char* next = nullptr;
      const double x = std::strtod(s, &next);
      if (next == s) break;
      v.push_back(x);
      s = next;
      while (s < end && (*s == ',' || *s == ' ')) ++s;
    }
  }
  return v.empty() ? JsonNumber(line, "avg_ts") : Median(std::move(v));
}

}  // namespace

LlamaBenchFigures RunLlamaBench(const LlamaBenchParams& p) {
  LlamaBenchFigures f;
  if (p.binary.find('\'') != std::string::npos ||
      p.model.find('\'') != std::string::npos) {
    std::fprintf(stderr, "llama-bench: paths with a single quote are not supported\n");
    return f;
  }
  const std::string cmd = "'" + p.binary + "' -m '" + p.model + "' -p " +
                          std::to_string(p.n_prompt) + " -n " + std::to_string(p.n_gen) +
                          " -t " + std::to_string(p.threads) + " -r " +
                          std::to_string(p.reps) + " -o jsonl 2>/dev/null";
  std::printf("  running: %s\n", cmd.c_str());
  std::fflush(stdout);
  FILE* pipe = popen(cmd.c_str(), "r");
  if (pipe == nullptr) return f;
  std::string line;
  for (int c = std::fgetc(pipe);; c = std::fgetc(pipe)) {
    if (c != EOF && c != '\n') {
      line.push_back(static_cast<char>(c));
      continue;
    }
    if (!line.empty()) {
      const double n_prompt = JsonNumber(line, "n_prompt"), n_gen = JsonNumber(line, "n_gen");
      if (n_prompt > 0 && n_gen == 0) f.prefill_tps = JsonTokensPerSecond(line);
      if (n_gen > 0 && n_prompt == 0) f.decode_tps = JsonTokensPerSecond(line);
    }
    line.clear();
    if (c == EOF) break;
  }
  const int rc = pclose(pipe);
  if (rc != 0) std::fprintf(stderr, "llama-bench: exit status %d\n", rc);
  return f;
}

}  // namespace cachewire::bench
