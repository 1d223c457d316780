// Runs llama.cpp's llama-bench (a build given by path) on one GGUF and reads its prefill and
// decode tokens/s from `-o jsonl`, so bench_engine can print them beside the engine's own.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>

namespace cachewire::bench {

struct LlamaBenchParams {
  std::string binary;      // path of llama-bench
  std::string model;       // GGUF path
  int64_t n_prompt = 512;  // -p
  int64_t n_gen = 128;     // -n
  int threads = 2;         // -t
  int reps = 5;            // -r
};

struct LlamaBenchFigures {
  double prefill_tps = NAN;  // median of samples_ts of the pp test; NAN when absent
  double decode_tps = NAN;   // median of samples_ts of the tg test; NAN when absent
};

// Prints the command line it runs; figures it cannot read stay NAN (with a note on stderr).
LlamaBenchFigures RunLlamaBench(const LlamaBenchParams& params);

}  // namespace cachewire::bench
