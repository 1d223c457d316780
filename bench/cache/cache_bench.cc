// bench_cache: what the bounded cache policy (CACHE.md) must show, on one GGUF and a text.
//
//   memory    resident cache bytes sampled while streaming --tokens (default 100k) tokens of the
//             text (repeated) through a bounded session (sinks + window + L2 at 50%); the full
//             cache alongside until its context. flat = the bounded cache's bytes never change
//             and no layer ever holds more than budget + slack entries.
//   ppl       perplexity of the first --ppl-tokens (20k) tokens in windows of --ppl-window (1k):
//             full cache (until --ctx), sliding window without sinks, sinks + window (both at
//             50% of --ctx), sinks + window + L2 at 50% and 90% compression of --ctx.
//   decode    greedy decode tokens/s after a --ctx/2 prefill: full cache vs L2 at 90%.
//   passkey   with --passkey FILE (the handoff suite's JSONL: sharer_context, question, answer):
//             exact-match accuracy at 0/50/90% compression of each prompt, L2 vs oldest first.
// Writes OUT/memory.csv, OUT/ppl.csv, OUT/summary.csv and OUT/cache.png (plot_cache.py, when
// python3 has matplotlib). The last line:
//   cache: flat=yes|no max_bytes=N ppl_full=X ppl_window=X ppl_sinks=X ppl_l2_50=X ppl_l2_90=X
//          passkey_l2_90=P passkey_oldest_90=P
// (one line; `na` for what was not measured).
//
// Flags: --model FILE --text FILE [--out DIR] [--tokens N] [--ppl-tokens N] [--ppl-window N]
//   [--ctx N] [--slack N] [--n-sink N] [--l2-window-frac F] [--l2-skip-layers N] [--chunk N]
//   [--sample-every N] [--decode N] [--passkey FILE] [--passkey-max N] [--threads N] [--quick]
//   [--no-plot]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bench/cache/stream_eval.h"
#include "engine/model/model.h"
#include "engine/tokenizer/tokenizer.h"

namespace {

namespace model = cachewire::model;
namespace cache = cachewire::cache;
namespace bench = cachewire::bench;

struct Options {
  std::string model, text, out = "bench-cache-out", passkey;
  int64_t tokens = 100000, ppl_tokens = 20000, ppl_window = 1000, ctx = 0, slack = 64;
  int64_t n_sink = 4, chunk = 256, sample_every = 1000, decode = 128, passkey_max = 0;
  double l2_window_frac = 0.125;
  int64_t l2_skip_layers = 2;
  int64_t threads = 2;
  bool plot = true;
};

bool ParseFlags(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--quick") {  // smaller defaults; explicit flags still win
      o->tokens = 5000, o->ppl_tokens = 2000, o->ppl_window = 250, o->decode = 32;
      o->sample_every = 250, o->passkey_max = 20;
    }
  }
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--quick") continue;
    if (a == "--no-plot") {
      o->plot = false;
      continue;
    }
    if (i + 1 >= argc) return false;
    const char* v = argv[++i];
    const std::pair<const char*, std::string*> strings[] = {
        {"--model", &o->model}, {"--text", &o->text}, {"--out", &o->out},
        {"--passkey", &o->passkey}};
    const std::pair<const char*, int64_t*> ints[] = {
        {"--tokens", &o->tokens},          {"--ppl-tokens", &o->ppl_tokens},
        {"--ppl-window", &o->ppl_window},  {"--ctx", &o->ctx},
        {"--slack", &o->slack},            {"--n-sink", &o->n_sink},
        {"--chunk", &o->chunk},            {"--sample-every", &o->sample_every},
        {"--decode", &o->decode},          {"--passkey-max", &o->passkey_max},
        {"--l2-skip-layers", &o->l2_skip_layers}, {"--threads", &o->threads}};
    bool known = false;
    for (const auto& [flag, dst] : strings) {
      if (a == flag) *dst = v, known = true;
    }
    for (const auto& [flag, dst] : ints) {
      if (a == flag) *dst = std::atoll(v), known = true;
    }
    if (a == "--l2-window-frac") o->l2_window_frac = std::atof(v), known = true;
    if (!known) {
      std::fprintf(stderr, "bench_cache: unknown flag %s\n", argv[i - 1]);
      return false;
    }
  }
  return !o->model.empty() && !o->text.empty() && o->tokens > 0 && o->ppl_tokens > 1 &&
         o->ppl_window > 0 && o->ctx >= 0 && o->slack > 0 && o->n_sink >= 0 && o->chunk > 0 &&
         o->sample_every > 0 && o->decode > 0 && o->threads > 0 && o->l2_skip_layers >= 0 &&
         o->l2_window_frac > 0 && o->l2_window_frac < 1;
}

std::string Fmt(double v, const char* f = "%.3f") {
  if (std::isnan(v)) return "na";
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// A named session setup; budget 0 = the full cache.
struct Setup {
  std::string name;
  model::SessionParams params;
  int64_t budget = 0;
};

// The policies compared, for a reference context of `ctx` positions.
std::vector<Setup> Setups(const Options& o, int64_t ctx) {
  auto bounded = [&](double kept, int64_t n_sink, bool l2, bool all_window) {
    cache::CachePolicy p;
    p.bounded = true;
    p.n_sink = n_sink;
    p.budget = std::max<int64_t>(n_sink + 16, std::llround(kept * static_cast<double>(ctx)));
    p.slack = std::clamp<int64_t>(p.budget / 4, 1, o.slack);
    p.window = all_window ? p.budget - n_sink
                          : std::clamp<int64_t>(std::llround(o.l2_window_frac * p.budget), 1,
                                                p.budget - n_sink);
    p.l2 = l2;
    p.l2_skip_layers = o.l2_skip_layers;
    return model::SessionParams{.n_ctx = ctx, .cache = p};
  };
  std::vector<Setup> s;
  s.push_back({"full", {.n_ctx = ctx}, 0});
  s.push_back({"window", bounded(0.5, 0, false, true), 0});
  s.push_back({"sinks", bounded(0.5, o.n_sink, false, true), 0});
  s.push_back({"l2_50", bounded(0.5, o.n_sink, true, false), 0});
  s.push_back({"l2_90", bounded(0.1, o.n_sink, true, false), 0});
  for (Setup& x : s) x.budget = x.params.cache.bounded ? x.params.cache.budget : 0;
  return s;
}

bool Fail(const absl::Status& s, const char* what) {
  std::fprintf(stderr, "bench_cache: %s: %s\n", what, std::string(s.message()).c_str());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!ParseFlags(argc, argv, &o)) {
    std::fprintf(stderr,
                 "usage: bench_cache --model FILE --text FILE [--out DIR] [--tokens N] "
                 "[--ppl-tokens N] [--ppl-window N] [--ctx N] [--slack N] [--n-sink N] "
                 "[--l2-window-frac F] [--l2-skip-layers N] [--chunk N] [--sample-every N] "
                 "[--decode N] [--passkey FILE] [--passkey-max N] [--threads N] [--quick] "
                 "[--no-plot]\n");
    return 2;
  }
  auto loaded = model::Model::Load(o.model, {.n_threads = static_cast<int>(o.threads)});
  if (!loaded.ok()) return Fail(loaded.status(), "load"), 1;
  model::Model& m = **loaded;
  std::ifstream text_file(o.text, std::ios::binary);
  std::stringstream text;
  text << text_file.rdbuf();
  const std::vector<int32_t> corpus = m.tokenizer().Encode(text.str());
  if (!text_file || corpus.size() < 2) {
    std::fprintf(stderr, "bench_cache: %s: no text\n", o.text.c_str());
    return 1;
  }
  const int64_t ctx = o.ctx > 0 ? o.ctx : std::min<int64_t>(m.hparams().n_ctx_train, 4096);
  std::filesystem::create_directories(o.out);
  std::printf(
      "cache benchmark: model=%s text=%s (%zu tokens, repeated as needed) ctx=%lld "
      "threads=%d\n",
      o.model.c_str(), o.text.c_str(), corpus.size(), static_cast<long long>(ctx),
      static_cast<int>(o.threads));
  const std::vector<Setup> setups = Setups(o, ctx);
  for (const Setup& s : setups) {
    std::printf("  %-7s %s\n", s.name.c_str(), s.params.cache.ToString().c_str());
  }

  // ---- memory over a long stream --------------------------------------------------------------
  std::ofstream mem_csv(o.out + "/memory.csv");
  mem_csv << "policy,tokens,cache_bytes,rss_bytes,max_entries\n";
  bool flat = true;
  size_t max_bytes = 0;
  for (const Setup* s : {&setups[3], &setups[0]}) {
    auto samples = bench::StreamMemory(m, s->params, corpus, o.tokens, o.sample_every, o.chunk);
    if (!samples.ok()) return Fail(samples.status(), "memory stream"), 1;
    for (const bench::MemorySample& x : *samples) {
      mem_csv << s->name << "," << x.tokens << "," << x.cache_bytes << "," << x.rss_bytes << ","
              << x.max_entries << "\n";
      if (s->params.cache.bounded) {
        flat = flat && x.cache_bytes == samples->front().cache_bytes &&
               x.max_entries <= s->params.cache.max_entries();
        max_bytes = std::max(max_bytes, x.cache_bytes);
      }
    }
    std::printf("  memory %-6s %lld tokens, cache bytes %zu .. %zu, rss %.1f MiB at the end\n",
                s->name.c_str(), static_cast<long long>(samples->back().tokens),
                samples->front().cache_bytes, samples->back().cache_bytes,
                static_cast<double>(samples->back().rss_bytes) / (1 << 20));
    std::fflush(stdout);
  }

  mem_csv.close();

  // ---- perplexity in windows -----------------------------------------------------------------
  std::vector<int32_t> ppl_tokens;
  for (int64_t i = 0; i < o.ppl_tokens; ++i) ppl_tokens.push_back(corpus[i % corpus.size()]);
  std::ofstream ppl_csv(o.out + "/ppl.csv");
  ppl_csv << "policy,budget,window_end,ppl\n";
  std::vector<double> ppl(setups.size(), NAN);
  for (size_t i = 0; i < setups.size(); ++i) {
    auto r = bench::StreamPerplexity(m, setups[i].params, ppl_tokens, o.ppl_window, o.chunk);
    if (!r.ok()) return Fail(r.status(), "perplexity"), 1;
    for (size_t w = 0; w < r->window_ppl.size(); ++w) {
      ppl_csv << setups[i].name << "," << setups[i].budget << ","
              << std::min<int64_t>((w + 1) * o.ppl_window, r->n_scored) << "," << r->window_ppl[w]
              << "\n";
    }
    ppl[i] = r->ppl;
    std::printf("  ppl %-7s %s over %lld tokens\n", setups[i].name.c_str(), Fmt(r->ppl).c_str(),
                static_cast<long long>(r->n_scored));
    std::fflush(stdout);
  }

  ppl_csv.close();

  // ---- decode speed, policy on vs off --------------------------------------------------------
  std::vector<int32_t> context(ppl_tokens.begin(),
                               ppl_tokens.begin() + std::min<size_t>(ppl_tokens.size(), ctx / 2));
  auto tps_full = bench::DecodeTokensPerSecond(m, setups[0].params, context, o.decode);
  auto tps_l2 = bench::DecodeTokensPerSecond(m, setups[4].params, context, o.decode);
  if (!tps_full.ok() || !tps_l2.ok()) {
    return Fail(tps_full.ok() ? tps_l2.status() : tps_full.status(), "decode"), 1;
  }
  std::printf("  decode after %zu tokens: full %.2f tok/s, l2_90 %.2f tok/s\n", context.size(),
              *tps_full, *tps_l2);

  // ---- passkey ----------------------------------------------------------------------------
  double passkey[2][3] = {{NAN, NAN, NAN}, {NAN, NAN, NAN}};  // [l2, oldest][0, 50, 90%]
  if (!o.passkey.empty()) {
    auto episodes = bench::LoadPasskeyJsonl(o.passkey);
    if (!episodes.ok()) return Fail(episodes.status(), "passkey"), 1;
    if (o.passkey_max > 0 && static_cast<int64_t>(episodes->size()) > o.passkey_max) {
      episodes->resize(static_cast<size_t>(o.passkey_max));
    }
    const double compressions[3] = {0.0, 0.5, 0.9};
    for (int l2 = 0; l2 < 2; ++l2) {
      for (int c = 0; c < 3; ++c) {
        auto acc = bench::PasskeyAccuracy(
            m, *episodes,
            {.compression = compressions[c], .l2 = l2 == 0, .n_sink = o.n_sink, .slack = o.slack});
        if (!acc.ok()) return Fail(acc.status(), "passkey"), 1;
        passkey[l2][c] = *acc;
      }
      std::printf("  passkey %-6s 0%%: %.3f 50%%: %.3f 90%%: %.3f (%zu episodes)\n",
                  l2 == 0 ? "l2" : "oldest", passkey[l2][0], passkey[l2][1], passkey[l2][2],
                  episodes->size());
    }
  } else {
    std::printf(
        "  passkey: skipped (give --passkey FILE, JSONL of sharer_context, question, "
        "answer from tools/suite/)\n");
  }

  std::ofstream summary(o.out + "/summary.csv");
  summary << "metric,value\nflat," << (flat ? "yes" : "no") << "\nmax_bytes," << max_bytes << "\n";
  for (size_t i = 0; i < setups.size(); ++i)
    summary << "ppl_" << setups[i].name << "," << ppl[i] << "\n";
  summary << "decode_tps_full," << *tps_full << "\ndecode_tps_l2_90," << *tps_l2 << "\n";
  const char* names[3] = {"0", "50", "90"};
  for (int c = 0; c < 3; ++c) {
    summary << "passkey_l2_" << names[c] << "," << passkey[0][c] << "\npasskey_oldest_" << names[c]
            << "," << passkey[1][c] << "\n";
  }
  summary.close();
  if (o.plot) {
    const std::string cmd = std::string("/usr/bin/python3 '") + CACHEWIRE_SOURCE_DIR +
                            "/bench/cache/plot_cache.py' '" + o.out + "'";
    if (std::system(cmd.c_str()) != 0) std::printf("  plot: skipped (%s failed)\n", cmd.c_str());
  }
  std::printf(
      "cache: flat=%s max_bytes=%zu ppl_full=%s ppl_window=%s ppl_sinks=%s ppl_l2_50=%s "
      "ppl_l2_90=%s passkey_l2_90=%s passkey_oldest_90=%s\n",
      flat ? "yes" : "no", max_bytes, Fmt(ppl[0]).c_str(), Fmt(ppl[1]).c_str(), Fmt(ppl[2]).c_str(),
      Fmt(ppl[3]).c_str(), Fmt(ppl[4]).c_str(), Fmt(passkey[0][2]).c_str(),
      Fmt(passkey[1][2]).c_str());
  return 0;
}
