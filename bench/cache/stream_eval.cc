// bench_cache's measurements (stream_eval.h): sessions driven through Model::Forward, negative
// log-likelihoods in double, RSS from /proc/self/statm, greedy decoding for passkeys.
#include "bench/cache/stream_eval.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>

#include "engine/common/status_macros.h"
#include "engine/gguf/str_cat.h"
#include "engine/tokenizer/tokenizer.h"
#include "nlohmann/json.hpp"

namespace cachewire::bench {
namespace {

size_t ResidentBytes() {
  std::ifstream f("/proc/self/statm");
  size_t pages_total = 0, pages_resident = 0;
  f >> pages_total >> pages_resident;
  return pages_resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

int32_t Argmax(const std::vector<float>& v, int64_t n_vocab) {
  const float* row = v.data() + v.size() - static_cast<size_t>(n_vocab);
  return static_cast<int32_t>(std::max_element(row, row + n_vocab) - row);
}

// -log softmax(row)[target], in double.
double Nll(const float* row, int64_t n_vocab, int32_t target) {
  const float mx = *std::max_element(row, row + n_vocab);
  double z = 0;
  for (int64_t i = 0; i < n_vocab; ++i) z += std::exp(double{row[i]} - mx);
  return std::log(z) - (double{row[target]} - mx);
}

// Most entries a (layer, kv-head) holds.
int64_t MaxEntries(const cache::CacheStats& st) {
  return st.entries_per_layer.empty() || st.n_head_kv == 0
             ? 0
             : *std::max_element(st.entries_per_layer.begin(), st.entries_per_layer.end()) /
                   st.n_head_kv;
}

}  // namespace

absl::StatusOr<std::vector<MemorySample>> StreamMemory(model::Model& m,
                                                       const model::SessionParams& params,
                                                       std::span<const int32_t> corpus,
                                                       int64_t n_tokens, int64_t sample_every,
                                                       int64_t chunk) {
  if (corpus.empty()) return absl::InvalidArgumentError("corpus: empty");
  CW_ASSIGN_OR_RETURN(std::unique_ptr<model::Session> s, m.NewSession(params));
  std::vector<MemorySample> samples;
  std::vector<int32_t> step;
  std::vector<float> logits;
  int64_t next_sample = 0, done = 0;
  auto sample = [&] {
    samples.push_back({done, s->cache_bytes(), ResidentBytes(), MaxEntries(s->cache_stats())});
    next_sample = done + sample_every;
  };
  while (done < n_tokens) {
    // A full cache stops at its n_ctx: the last step takes what is left of it.
    const int64_t n = std::min({chunk, n_tokens - done, s->n_ctx() - s->n_past()});
    if (n <= 0) break;
    step.clear();
    for (int64_t i = 0; i < n; ++i) {
      step.push_back(corpus[static_cast<size_t>(done + i) % corpus.size()]);
    }
    CW_RETURN_IF_ERROR(m.Forward(*s, step, &logits));
    done += n;
    if (done >= next_sample) sample();
  }
  if (samples.empty() || samples.back().tokens != done) sample();
  return samples;
}

absl::StatusOr<Perplexity> StreamPerplexity(model::Model& m, const model::SessionParams& params,
                                            std::span<const int32_t> tokens, int64_t window,
                                            int64_t chunk) {
  CW_ASSIGN_OR_RETURN(std::unique_ptr<model::Session> s, m.NewSession(params));
  const int64_t n_vocab = m.n_vocab();
  const int64_t n = std::min<int64_t>(static_cast<int64_t>(tokens.size()), s->n_ctx());
  Perplexity out;
  double sum = 0, window_sum = 0;
  int64_t window_n = 0;
  std::vector<float> logits;
  for (int64_t b = 0; b + 1 < n; b += chunk) {
    const int64_t len = std::min(chunk, n - 1 - b);  // positions whose next token is known
    model::ForwardRequest r{s.get(),
                            tokens.subspan(static_cast<size_t>(b), static_cast<size_t>(len)),
                            /*all_logits=*/true, &logits};
    CW_RETURN_IF_ERROR(m.ForwardBatch(std::span<model::ForwardRequest>(&r, 1)));
    for (int64_t t = 0; t < len; ++t) {
      const double nll =
          Nll(logits.data() + t * n_vocab, n_vocab, tokens[static_cast<size_t>(b + t + 1)]);
      sum += nll;
      window_sum += nll;
      ++out.n_scored;
      if (++window_n == window) {
        out.window_ppl.push_back(std::exp(window_sum / static_cast<double>(window_n)));
        window_sum = 0;
        window_n = 0;
      }
    }
  }
  if (window_n > 0) out.window_ppl.push_back(std::exp(window_sum / static_cast<double>(window_n)));
  out.ppl = out.n_scored > 0 ? std::exp(sum / static_cast<double>(out.n_scored)) : NAN;
  return out;
}

absl::StatusOr<double> DecodeTokensPerSecond(model::Model& m, const model::SessionParams& params,
                                             std::span<const int32_t> context, int64_t n_decode) {
  CW_ASSIGN_OR_RETURN(std::unique_ptr<model::Session> s, m.NewSession(params));
  std::vector<float> logits;
  CW_RETURN_IF_ERROR(m.Forward(*s, context, &logits));
  int32_t token = Argmax(logits, m.n_vocab());
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < n_decode; ++i) {
    CW_RETURN_IF_ERROR(m.Forward(*s, std::span<const int32_t>(&token, 1), &logits));
    token = Argmax(logits, m.n_vocab());
  }
  const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return static_cast<double>(n_decode) / sec;
}

absl::StatusOr<std::vector<PasskeyEpisode>> LoadPasskeyJsonl(const std::string& path) {
  std::ifstream f(path);
  if (!f) return absl::NotFoundError(gguf::Cat(path, ": cannot open"));
  std::vector<PasskeyEpisode> episodes;
  std::string line;
  for (int line_no = 1; std::getline(f, line); ++line_no) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("sharer_context") || !j.contains("question") ||
        !j.contains("answer") || !j["sharer_context"].is_string() || !j["question"].is_string()) {
      return absl::InvalidArgumentError(
          gguf::Cat(path, ":", line_no, ": want an object with sharer_context, question, answer"));
    }
    const nlohmann::json& a = j["answer"];
    episodes.push_back({j["sharer_context"].get<std::string>(), j["question"].get<std::string>(),
                        a.is_string() ? a.get<std::string>() : a.dump()});
  }
  return episodes;
}

absl::StatusOr<double> PasskeyAccuracy(model::Model& m, std::span<const PasskeyEpisode> episodes,
                                       const PasskeyParams& p) {
  if (episodes.empty()) return absl::InvalidArgumentError("passkey: no episodes");
  const tokenizer::Tokenizer& tok = m.tokenizer();
  int64_t correct = 0;
  for (const PasskeyEpisode& e : episodes) {
    const std::vector<int32_t> prompt = tok.Encode(e.sharer_context + "\n" + e.question);
    const int64_t n_prompt = static_cast<int64_t>(prompt.size());
    const int64_t n_answer = static_cast<int64_t>(tok.Encode(e.answer, {.add_bos = false}).size());
    const int64_t n_new = std::max(p.max_new_tokens, n_answer + 4);
    model::SessionParams sp{.n_ctx = n_prompt + n_new + 1};
    if (p.compression > 0) {
      cache::CachePolicy& c = sp.cache;
      c.bounded = true;
      c.l2 = p.l2;
      c.n_sink = p.n_sink;
      c.budget = std::max<int64_t>(
          p.n_sink + 16, std::llround((1.0 - p.compression) * static_cast<double>(n_prompt)));
      c.window = std::clamp<int64_t>(c.budget / 8, 1, c.budget - c.n_sink);
      c.slack = std::max<int64_t>(1, std::min(p.slack, c.budget / 4));
      sp.n_ctx = 0;  // the model's context bounds the positions
    }
    CW_ASSIGN_OR_RETURN(std::unique_ptr<model::Session> s, m.NewSession(sp));
    std::vector<float> logits;
    CW_RETURN_IF_ERROR(m.Forward(*s, prompt, &logits));
    std::vector<int32_t> answer;
    for (int64_t i = 0; i < n_new; ++i) {
      const int32_t t = Argmax(logits, m.n_vocab());
      if (t == tok.vocab().eos()) break;
      answer.push_back(t);
      CW_RETURN_IF_ERROR(m.Forward(*s, std::span<const int32_t>(&t, 1), &logits));
    }
    absl::StatusOr<std::string> text = tok.Decode(answer);
    if (text.ok() && !e.answer.empty() && text->find(e.answer) != std::string::npos) ++correct;
  }
  return static_cast<double>(correct) / static_cast<double>(episodes.size());
}

}  // namespace cachewire::bench
