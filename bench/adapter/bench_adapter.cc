// bench_adapter: what an LCF handoff costs inside the engine, stage by stage, without the daemons
// around it: the sharer's encoder over a prefilled session of N tokens (Encode), the decoder
// alone (Decode: slots -> pinned K/V per receiver layer), and the whole import into an open
// bounded receiver session (Import: decode plus the atomic Session::Pin). The sharer's context is real
// text (the suite's records are short, so a record-like sentence is repeated up to N tokens);
// each figure is the median of --reps runs after one warm-up, on --threads threads.
//
//   bench_adapter --adapter models/adapters/cw-llama--cw-gemma3.lcf.gguf
//       --sharer models/cw-llama.gguf --receiver models/cw-gemma3.gguf --tokens 128,256,448
//
// Last line, for scripts (the largest N):
//   adapter: name=NAME tokens=N encode_ms=X decode_ms=X import_ms=X slots_bytes=B
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "absl/status/status.h"
#include "engine/adapter/lcf_adapter.h"
#include "engine/model/model.h"
#include "engine/tokenizer/tokenizer.h"

namespace {

namespace model = cachewire::model;
using cachewire::adapter::LcfAdapter;

struct Options {
  std::string adapter, sharer, receiver;
  std::vector<int64_t> tokens = {128, 256, 448};
  int threads = 1;
  int reps = 7;
};

// False after printing the failure.
bool Ok(const absl::Status& st, const char* stage) {
  if (!st.ok()) std::fprintf(stderr, "bench_adapter: %s: %s\n", stage, st.ToString().c_str());
  return st.ok();
}

// Median wall time of `reps` calls after one warm-up, in milliseconds; the first failure ends it.
double MedianMs(int reps, const std::function<bool()>& call) {
  if (!call()) return -1;
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    if (!call()) return -1;
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

// N tokens of record-like text in the sharer's vocabulary, after its BOS.
std::vector<int32_t> SharerText(const model::Model& sharer, int64_t n) {
  const std::string sentence =
      " Record: Mara Quill , code 4 1 9 3 , lives in Harrow , owns a grey boat , born 1987 .";
  std::string text;
  std::vector<int32_t> ids;
  while (static_cast<int64_t>(ids.size()) < n) {
    text += sentence;
    ids = sharer.tokenizer().Encode(text, {.add_bos = true});
  }
  ids.resize(static_cast<size_t>(n));
  return ids;
}

int Run(const Options& o) {
  auto adapter = LcfAdapter::Load(o.adapter);
  auto sharer = model::Model::Load(o.sharer, {.n_threads = o.threads});
  auto receiver = model::Model::Load(o.receiver, {.n_threads = o.threads});
  for (const absl::Status& st : {adapter.status(), sharer.status(), receiver.status()}) {
    if (!st.ok()) {
      std::fprintf(stderr, "bench_adapter: %s\n", st.ToString().c_str());
      return 1;
    }
  }
  const int64_t slots_bytes = (*adapter)->n_slots() * (*adapter)->slot_dim() * 2;
  std::printf("adapter %s: %s%lld slots x %lld (%lld bytes as f16), %d thread(s), median of %d\n\n",
              (*adapter)->name().c_str(), (*adapter)->per_token() ? "up to " : "",
              static_cast<long long>((*adapter)->n_slots()),
              static_cast<long long>((*adapter)->slot_dim()), static_cast<long long>(slots_bytes),
              o.threads, o.reps);
  std::printf("| sharer tokens | encode ms | decode ms | import ms |\n|---|---|---|---|\n");
  double encode = 0, decode = 0, import = 0;
  int64_t last_n = 0;
  for (int64_t n : o.tokens) {
    auto s = (*sharer)->NewSession({});
    if (!s.ok()) return std::fprintf(stderr, "bench_adapter: %s\n", s.status().ToString().c_str()), 1;
    std::vector<float> logits, slots;
    if (!(*sharer)->Forward(**s, SharerText(**sharer, n), &logits).ok()) return 1;
    encode = MedianMs(o.reps, [&] {
      auto z = (*adapter)->Encode(**sharer, **s);
      if (z.ok()) slots = std::move(*z);
      return Ok(z.status(), "encode");
    });
    decode = MedianMs(o.reps, [&] { return Ok((*adapter)->Decode(slots).status(), "decode"); });
    // A fresh bounded session per run (a session takes one set of pins), all opened before the
    // clock starts and closed after it stops: a worker opens the receiver's session before the
    // handoff, and a session's first allocation (page faults) is not the import's cost.
    model::SessionParams p;
    p.cache = {.bounded = true, .window = 256, .budget = 448, .slack = 64};  // deploy/local.yaml
    std::vector<std::unique_ptr<model::Session>> fresh;
    for (int i = 0; i <= o.reps; ++i) {
      auto r = (*receiver)->NewSession(p);
      if (!Ok(r.status(), "receiver session")) return 1;
      fresh.push_back(*std::move(r));
    }
    size_t next = 0;
    import = MedianMs(o.reps, [&] {
      return Ok((*adapter)->Import(**receiver, *fresh[next++], slots), "import");
    });
    if (encode < 0 || decode < 0 || import < 0) {
      std::fprintf(stderr, "bench_adapter: a stage failed at %lld tokens\n", static_cast<long long>(n));
      return 1;
    }
    std::printf("| %lld | %.2f | %.2f | %.2f |\n", static_cast<long long>(n), encode, decode, import);
    last_n = n;
  }
  std::printf("\nadapter: name=%s tokens=%lld encode_ms=%.2f decode_ms=%.2f import_ms=%.2f "
              "slots_bytes=%lld\n",
              (*adapter)->name().c_str(), static_cast<long long>(last_n), encode, decode, import,
              static_cast<long long>(slots_bytes));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"LCF adapter stages: encode, decode, import"};
  app.add_option("--adapter", o.adapter, "LCF adapter GGUF")->required();
  app.add_option("--sharer", o.sharer, "sharer model GGUF")->required();
  app.add_option("--receiver", o.receiver, "receiver model GGUF")->required();
  app.add_option("--tokens", o.tokens, "sharer context lengths")->delimiter(',');
  app.add_option("--threads", o.threads, "engine threads per model");
  app.add_option("--reps", o.reps, "timed runs per figure");
  bool quick = false;
  app.add_flag("--quick", quick, "3 runs per figure");
  CLI11_PARSE(app, argc, argv);
  if (quick) o.reps = 3;
  return Run(o);
}
