// Encode throughput of cachewire's tokenizers on the four real vocabularies of the conformance
// test (Llama 3, Qwen 3, Gemma 3, Llama 2), on a varied text of --size-mb megabytes.
//
// The text mixes the corpus cases (many scripts, code, digits, whitespace, special-token
// strings) with generated words and numbers, so that the BPE word cache sees a realistic
// spread of words rather than one paragraph repeated. Each vocabulary encodes the whole text
// --runs times; the table shows the median, and the last line carries the Llama 3 figure:
//   tokenizer: tokens_per_s=X (vocab=llama3, size_mb=N)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/gguf/gguf_file.h"
#include "engine/tokenizer/tokenizer.h"

namespace {

struct Args {
  std::string refs = std::string(CACHEWIRE_BINARY_DIR) + "/tokenizer_refs";
  double size_mb = 10;
  int runs = 3;
  std::vector<std::string> vocabs = {"llama3", "qwen3", "gemma3", "llama2"};
};

[[noreturn]] void Usage(const char* error) {
  std::fprintf(stderr,
               "bench_tokenizer: %s\nusage: bench_tokenizer [--refs DIR] [--size-mb N] "
               "[--quick] [--runs N] [--vocab a,b,...]\n",
               error);
  std::exit(2);
}

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Usage(("missing value for " + k).c_str());
      return argv[++i];
    };
    if (k == "--refs") {
      a.refs = value();
    } else if (k == "--size-mb") {
      a.size_mb = std::atof(value().c_str());
    } else if (k == "--quick") {
      a.size_mb = 1;
    } else if (k == "--runs") {
      a.runs = std::max(1, std::atoi(value().c_str()));
    } else if (k == "--vocab") {
      a.vocabs.clear();
      std::string v = value();
      for (size_t s = 0; s <= v.size();) {
        size_t e = v.find(',', s);
        if (e == std::string::npos) e = v.size();
        if (e > s) a.vocabs.push_back(v.substr(s, e - s));
        s = e + 1;
      }
    } else {
      Usage(("unknown argument " + k).c_str());
    }
  }
  if (a.size_mb <= 0 || a.vocabs.empty()) Usage("nothing to do");
  return a;
}

// Corpus cases interleaved with generated words (syllables), numbers and whitespace.
std::string MakeText(const std::vector<std::string>& cases, size_t bytes) {
  static const char* kSyl[] = {"ka", "to", "ri", "an", "pel", "str", "on", "mi", "qu", "ex",
                               "ve", "la", "ing", "ou", "th", "er", "zo", "ch", "ad", "is"};
  std::mt19937 rng(42);
  std::string text;
  text.reserve(bytes + 4096);
  while (text.size() < bytes) {
    const uint32_t r = rng() % 10;
    if (r < 4 && !cases.empty()) {
      text += cases[rng() % cases.size()];
      text += '\n';
    } else {
      for (int w = 0, n = 5 + rng() % 20; w < n; ++w) {
        if (rng() % 7 == 0) {
          text += std::to_string(rng() % 100000);
        } else {
          std::string word;
          for (int s = 0, ns = 1 + rng() % 4; s < ns; ++s) word += kSyl[rng() % 20];
          if (rng() % 5 == 0) word[0] = static_cast<char>(word[0] - 32);
          text += word;
        }
        text += rng() % 9 == 0 ? ", " : " ";
      }
      text += rng() % 3 == 0 ? "\n\n" : ".\n";
    }
  }
  text.resize(bytes);
  // Do not end inside a UTF-8 sequence.
  while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0xC0) == 0x80) text.pop_back();
  if (!text.empty() && static_cast<unsigned char>(text.back()) >= 0xC0) text.pop_back();
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = Parse(argc, argv);
  // Texts of the corpus, from any reference file (they all hold the same texts); the long
  // cases are left out, the generator provides length.
  std::vector<std::string> cases;
  for (const std::string& v : args.vocabs) {
    std::ifstream in(args.refs + "/" + v + ".json");
    if (!in) continue;
    for (const auto& c : nlohmann::json::parse(in)["cases"]) {
      std::string t = c["text"];
      if (t.size() < 2000) cases.push_back(std::move(t));
    }
    break;
  }
  const std::string text = MakeText(cases, static_cast<size_t>(args.size_mb * (1 << 20)));
  const double mb = text.size() / double(1 << 20);

  std::printf("%-8s %12s %8s %10s %14s %8s\n", "vocab", "tokens", "MB", "median_s", "tokens/s",
              "MB/s");
  double last_tps = 0;
  std::string last_vocab;
  for (const std::string& v : args.vocabs) {
    const std::string path = args.refs + "/" + v + ".gguf";
    auto file = cachewire::gguf::File::Open(path);
    if (!file.ok()) {
      std::fprintf(stderr, "bench_tokenizer: %s (run bench/run tokenizer to generate it)\n",
                   std::string(file.status().message()).c_str());
      return 1;
    }
    auto tok = cachewire::tokenizer::Tokenizer::FromGguf(**file);
    if (!tok.ok()) {
      std::fprintf(stderr, "bench_tokenizer: %s\n", std::string(tok.status().message()).c_str());
      return 1;
    }
    std::vector<double> secs;
    size_t n_tokens = 0;
    std::vector<int32_t> ids;
    for (int r = 0; r < args.runs; ++r) {
      ids.clear();
      const auto t0 = std::chrono::steady_clock::now();
      (*tok)->Encode(text, {.add_bos = false, .parse_special = true}, &ids);
      const auto t1 = std::chrono::steady_clock::now();
      secs.push_back(std::chrono::duration<double>(t1 - t0).count());
      n_tokens = ids.size();
    }
    std::sort(secs.begin(), secs.end());
    const double med = secs[secs.size() / 2];
    const double tps = n_tokens / med;
    std::printf("%-8s %12zu %8.2f %10.3f %14.0f %8.2f\n", v.c_str(), n_tokens, mb, med, tps,
                mb / med);
    if (v == "llama3" || last_vocab.empty()) {
      last_tps = tps;
      last_vocab = v;
    }
  }
  std::printf("tokenizer: tokens_per_s=%.0f (vocab=%s, size_mb=%.0f)\n", last_tps,
              last_vocab.c_str(), args.size_mb);
  return 0;
}
