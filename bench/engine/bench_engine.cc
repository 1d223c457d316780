// bench_engine: prefill and decode tokens/s of the engine's forward pass on whole GGUF models,
// decode at batch 1, 4 and 16 through ForwardBatch, and the decode's effective weight bandwidth
// against a memory-bandwidth probe taken in the same run. With --llama-bench PATH it also runs a
// llama.cpp build given by path on the same file and threads and prints the ratios beside ours.
//
//   prefill   one Forward of --prefill tokens (default 512) into an empty session
//   decode    --decode single-token Forwards (default 128) from an empty session, each feeding
//             the argmax of the last logits (llama-bench's tg starts from an empty cache too)
//   batch B   B sessions, --batch-steps ForwardBatch steps of one token each; aggregate tokens/s
//   bw_frac   weight bytes read per decoded token * decode tokens/s / probe GB/s, the probe (a
//             vector sum over --probe-mb MiB, same threads) taken right after that decode
// Every figure is the median of --reps runs (default 5) after one warm-up. The last line:
//   engine: model=NAME decode_tps=X prefill_tps=X bw_frac=F llama_decode_tps=X llama_prefill_tps=X
// for the first --model (llama fields `na` without --llama-bench).
//
// Flags: --model FILE (repeatable, required), --threads N (2), --quick, --prefill N, --decode N,
// --reps N, --batches 1,4,16, --batch-steps N (32), --probe-mb N (1024), --llama-bench PATH,
// --device cpu|cuda (cuda: the device model on the GPU, engine/model/device_model.h).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "bench/engine/llama_bench.h"
#include "engine/backend/cpu/thread_pool.h"
#include "engine/backend/cuda_ops.h"
#include "engine/gguf/gguf_file.h"
#include "engine/gguf/tensor_type.h"
#include "engine/model/model.h"

namespace {

namespace model = cachewire::model;
using cachewire::backend::cpu::ThreadPool;

struct Options {
  std::vector<std::string> models;
  int threads = 2;
  int64_t prefill = 512;
  int64_t decode = 128;
  int reps = 5;
  std::vector<int> batches = {1, 4, 16};
  int64_t batch_steps = 32;
  int64_t probe_mb = 1024;
  std::string llama_bench;
  model::Device device = model::Device::kCpu;  // --device cuda: the device model on the GPU
};

struct Result {
  std::string name, type;
  double weight_gb = 0, prefill_tps = 0, decode_tps = 0, bw_gbps = 0, probe_gbps = 0, bw_frac = 0;
  std::vector<double> batch_tps;  // parallel to Options::batches
  cachewire::bench::LlamaBenchFigures llama;
};

// ================================================================================================
// Timing and the bandwidth probe
// ================================================================================================

double Seconds(const std::function<void()>& fn) {
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double Median(std::vector<double> v) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Sums of 64-bit lanes over n bytes (n a multiple of 128), in the widest vectors the CPU has: a
// scalar loop is bound by adds, not by memory, and would understate the bandwidth.
uint64_t SumScalar(const uint8_t* p, size_t n) {
  const uint64_t* q = reinterpret_cast<const uint64_t*>(p);
  uint64_t a = 0, b = 0, c = 0, d = 0;
  for (size_t i = 0; i < n / 8; i += 4) a += q[i], b += q[i + 1], c += q[i + 2], d += q[i + 3];
  return a + b + c + d;
}
#if defined(__x86_64__)
__attribute__((target("avx2"))) uint64_t SumAvx2(const uint8_t* p, size_t n) {
  __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
  for (size_t i = 0; i < n; i += 128) {
    a = _mm256_add_epi64(a, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)));
    b = _mm256_add_epi64(b, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    c = _mm256_add_epi64(c, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    d = _mm256_add_epi64(d, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  uint64_t lanes[4];
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(lanes),
                      _mm256_add_epi64(_mm256_add_epi64(a, b), _mm256_add_epi64(c, d)));
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}
__attribute__((target("avx512f"))) uint64_t SumAvx512(const uint8_t* p, size_t n) {
  __m512i a = _mm512_setzero_si512(), b = a;
  for (size_t i = 0; i < n; i += 128) {
    a = _mm512_add_epi64(a, _mm512_loadu_si512(p + i));
    b = _mm512_add_epi64(b, _mm512_loadu_si512(p + i + 64));
  }
  uint64_t lanes[8];
  _mm512_storeu_si512(lanes, _mm512_add_epi64(a, b));
  uint64_t total = 0;
  for (uint64_t v : lanes) total += v;
  return total;
}
#endif

// GB/s of reading a buffer of `mb` MiB split over the pool's threads; median of 5 after a warm-up.
double ProbeGbps(int64_t mb, ThreadPool& pool) {
  uint64_t (*sum)(const uint8_t*, size_t) = SumScalar;
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx2")) sum = SumAvx2;
  if (__builtin_cpu_supports("avx512f")) sum = SumAvx512;
#endif
  const int64_t n_tasks = 64;  // chunks claimed dynamically, so a late-waking thread still helps
  const size_t per = static_cast<size_t>(mb) * (1 << 20) / static_cast<size_t>(n_tasks) / 128 * 128;
  std::vector<uint8_t> buf(per * static_cast<size_t>(n_tasks), 1);
  std::vector<uint64_t> sums(static_cast<size_t>(n_tasks));
  auto sweep = [&] {
    pool.ParallelFor(n_tasks, [&](int64_t task, int) {
      sums[static_cast<size_t>(task)] = sum(buf.data() + per * static_cast<size_t>(task), per);
    });
  };
  sweep();
  std::vector<double> t;
  for (int i = 0; i < 5; ++i) t.push_back(Seconds(sweep));
  uint64_t total = 0;
  for (uint64_t v : sums) total += v;
  if (total == 42) std::printf(" ");  // keeps the sums alive
  return static_cast<double>(buf.size()) / Median(t) / 1e9;
}

// Bytes of weights one decoded token reads: every tensor once, except that an untied
// token_embd.weight contributes only the row it looks up.
double WeightBytesPerToken(const cachewire::gguf::File& file, bool tied_output) {
  double bytes = 0;
  for (const auto& t : file.tensors()) {
    if (t.name == "token_embd.weight" && !tied_output && t.n_rows() > 0) {
      bytes += static_cast<double>(t.n_bytes) / static_cast<double>(t.n_rows());
    } else {
      bytes += static_cast<double>(t.n_bytes);
    }
  }
  return bytes;
}

std::string MainType(const cachewire::gguf::File& file) {
  const auto* t = file.FindTensor("blk.0.ffn_down.weight");
  return t ? std::string(cachewire::gguf::TensorTypeName(t->type)) : "?";
}

std::string CpuName() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  }
  return "unknown";
}

std::string Stem(const std::string& path) {
  std::string s = path.substr(path.find_last_of('/') + 1);
  if (s.size() > 5 && s.ends_with(".gguf")) s.resize(s.size() - 5);
  return s;
}

// ================================================================================================
// The engine's figures for one model
// ================================================================================================

int32_t Argmax(const std::vector<float>& v) {
  return static_cast<int32_t>(std::max_element(v.begin(), v.end()) - v.begin());
}

bool Check(const absl::Status& s, const char* what) {
  if (!s.ok()) std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
  return s.ok();
}

bool BenchModel(const Options& opt, const std::string& path, ThreadPool& pool, Result* r) {
  r->name = Stem(path);
  std::unique_ptr<model::Model> m;
  const double load_s = Seconds([&] {
    auto loaded = model::Model::Load(path, {.n_threads = opt.threads, .device = opt.device});
    if (loaded.ok()) m = std::move(*loaded);
    else std::fprintf(stderr, "load %s: %s\n", path.c_str(), loaded.status().ToString().c_str());
  });
  if (!m) return false;
  r->type = MainType(m->file());
  const double bytes_per_token = WeightBytesPerToken(m->file(), m->hparams().tied_output);
  r->weight_gb = bytes_per_token / 1e9;
  const int64_t n_vocab = m->n_vocab();
  std::printf("  %s: loaded in %.2f s (%s, %.3f GB of weights read per token)\n",
              r->name.c_str(), load_s, r->type.c_str(), r->weight_gb);
  std::fflush(stdout);

  std::vector<int32_t> prompt(static_cast<size_t>(opt.prefill));
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (auto& t : prompt) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    t = static_cast<int32_t>((x >> 33) % static_cast<uint64_t>(n_vocab));
  }
  const int64_t n_ctx = opt.prefill + opt.decode + opt.batch_steps + 8;
  auto session = m->NewSession({.n_ctx = n_ctx});
  if (!Check(session.status(), "session")) return false;
  model::Session& s = **session;
  std::vector<float> logits;

  // Warm-up: touches every weight page once.
  if (!Check(m->Forward(s, std::span<const int32_t>(prompt.data(), 4), &logits), "warm-up")) {
    return false;
  }
  bool ok = true;
  std::vector<double> t_prefill, t_decode;
  for (int rep = 0; rep < opt.reps && ok; ++rep) {
    s.Clear();
    t_prefill.push_back(Seconds([&] { ok = Check(m->Forward(s, prompt, &logits), "prefill"); }));
  }
  for (int rep = 0; rep < opt.reps && ok; ++rep) {
    s.Clear();
    int32_t token = prompt[0];
    t_decode.push_back(Seconds([&] {
      for (int64_t i = 0; i < opt.decode && ok; ++i) {
        ok = Check(m->Forward(s, std::span<const int32_t>(&token, 1), &logits), "decode");
        token = Argmax(logits);
      }
    }));
  }
  if (!ok) return false;
  r->prefill_tps = static_cast<double>(opt.prefill) / Median(t_prefill);
  r->decode_tps = static_cast<double>(opt.decode) / Median(t_decode);
  r->bw_gbps = r->weight_gb * r->decode_tps;
  r->probe_gbps = ProbeGbps(opt.probe_mb, pool);  // right after the decode it is compared with
  r->bw_frac = r->bw_gbps / r->probe_gbps;

  for (int b : opt.batches) {
    if (b == 1) {
      r->batch_tps.push_back(r->decode_tps);
      continue;
    }
    std::vector<std::unique_ptr<model::Session>> sessions;
    for (int i = 0; i < b && ok; ++i) {
      auto si = m->NewSession({.n_ctx = n_ctx});
      ok = Check(si.status(), "session");
      if (ok) sessions.push_back(std::move(*si));
    }
    std::vector<int32_t> tokens(static_cast<size_t>(b));
    std::vector<std::vector<float>> outs(static_cast<size_t>(b));
    std::vector<model::ForwardRequest> reqs(static_cast<size_t>(b));
    std::vector<double> t;
    for (int rep = 0; rep < opt.reps && ok; ++rep) {
      for (int i = 0; i < b; ++i) {
        sessions[static_cast<size_t>(i)]->Clear();
        tokens[static_cast<size_t>(i)] = prompt[static_cast<size_t>(i) % prompt.size()];
      }
      t.push_back(Seconds([&] {
        for (int64_t step = 0; step < opt.batch_steps && ok; ++step) {
          for (size_t i = 0; i < reqs.size(); ++i) {
            reqs[i] = {sessions[i].get(), std::span<const int32_t>(&tokens[i], 1), false, &outs[i]};
          }
          ok = Check(m->ForwardBatch(reqs), "batch decode");
          for (size_t i = 0; i < reqs.size() && ok; ++i) tokens[i] = Argmax(outs[i]);
        }
      }));
    }
    if (!ok) return false;
    r->batch_tps.push_back(static_cast<double>(b * opt.batch_steps) / Median(t));
  }
  std::printf("  %s: prefill %.2f decode %.2f tokens/s, bw_frac %.3f\n", r->name.c_str(),
              r->prefill_tps, r->decode_tps, r->bw_frac);
  std::fflush(stdout);
  if (!opt.llama_bench.empty()) {
    r->llama = cachewire::bench::RunLlamaBench(
        {opt.llama_bench, path, opt.prefill, opt.decode, opt.threads, opt.reps});
  }
  return true;
}

// ================================================================================================
// Flags and the report
// ================================================================================================

bool ParseFlags(int argc, char** argv, Options* opt) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--quick") {  // smaller defaults; explicit flags still win
      opt->prefill = 64, opt->decode = 16, opt->reps = 3, opt->batches = {1, 4};
      opt->batch_steps = 4, opt->probe_mb = 256;
    }
  }
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    if (a == "--quick") continue;
    if (v == nullptr) return false;
    ++i;
    if (a == "--model") {
      opt->models.emplace_back(v);
    } else if (a == "--threads") {
      opt->threads = std::atoi(v);
    } else if (a == "--prefill") {
      opt->prefill = std::atoll(v);
    } else if (a == "--decode") {
      opt->decode = std::atoll(v);
    } else if (a == "--reps") {
      opt->reps = std::atoi(v);
    } else if (a == "--batch-steps") {
      opt->batch_steps = std::atoll(v);
    } else if (a == "--probe-mb") {
      opt->probe_mb = std::atoll(v);
    } else if (a == "--llama-bench") {
      opt->llama_bench = v;
    } else if (a == "--device") {
      absl::StatusOr<model::Device> d = model::ParseDevice(v);
      if (!d.ok()) {
        std::fprintf(stderr, "bench_engine: --device: %s\n",
                     std::string(d.status().message()).c_str());
        return false;
      }
      opt->device = *d;
    } else if (a == "--batches") {
      opt->batches.clear();
      for (const char* p = v; *p;) {
        char* end = nullptr;
        opt->batches.push_back(static_cast<int>(std::strtol(p, &end, 10)));
        if (end == p || (*end != ',' && *end != '\0')) return false;
        p = *end == ',' ? end + 1 : end;
      }
    } else {
      std::fprintf(stderr, "bench_engine: unknown flag %s\n", argv[i - 1]);
      return false;
    }
  }
  const bool batches_ok = std::all_of(opt->batches.begin(), opt->batches.end(),
                                      [](int b) { return b >= 1 && b <= 256; });
  return !opt->models.empty() && opt->threads >= 1 && opt->prefill >= 1 && opt->decode >= 1 &&
         opt->reps >= 1 && opt->batch_steps >= 1 && opt->probe_mb >= 16 && batches_ok;
}

std::string Fmt(double v, const char* f = "%.2f") {
  if (std::isnan(v)) return "na";
  char buf[32];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (!ParseFlags(argc, argv, &opt)) {
    std::fprintf(stderr,
                 "usage: bench_engine --model FILE [--model FILE...] [--quick] [--threads N] "
                 "[--prefill N] [--decode N] [--reps N] [--batches 1,4,16] [--batch-steps N] "
                 "[--probe-mb N] [--llama-bench PATH] [--device cpu|cuda]\n");
    return 2;
  }
  if (opt.device == model::Device::kCuda) {
    absl::StatusOr<std::unique_ptr<cachewire::backend::Ops>> ops =
        cachewire::backend::OpenCudaOps(0);
    if (!ops.ok()) {
      std::printf("engine: %s\n", std::string(ops.status().message()).c_str());
      return 1;
    }
    std::printf("engine benchmark on %s (weights and caches in device memory)\n",
                (*ops)->name().c_str());
  }
  std::printf("engine benchmark: cpu=\"%s\" threads=%d prefill=%lld decode=%lld reps=%d "
              "batch_steps=%lld\n",
              CpuName().c_str(), opt.threads, static_cast<long long>(opt.prefill),
              static_cast<long long>(opt.decode), opt.reps,
              static_cast<long long>(opt.batch_steps));
  std::printf("  memory-bandwidth probe: sum of %lld MiB in the widest vectors, %d threads, "
              "after each model's decode\n", static_cast<long long>(opt.probe_mb), opt.threads);
  ThreadPool pool(opt.threads);
  if (opt.llama_bench.empty()) std::printf("  llama-bench: skipped (give --llama-bench PATH)\n");

  std::vector<Result> results;
  for (const auto& path : opt.models) {
    Result r;
    if (!BenchModel(opt, path, pool, &r)) return 1;
    results.push_back(r);
  }

  std::printf("\n%-26s %-5s %7s %9s %8s", "model", "type", "GB/tok", "prefill", "decode");
  for (int b : opt.batches) std::printf(" %7s%-2d", "dec_b", b);
  std::printf(" %7s %7s %7s %9s %8s %7s %7s\n", "GB/s", "probe", "bw_frac", "ll_pref", "ll_dec", "pref_x",
              "dec_x");
  for (const Result& r : results) {
    std::printf("%-26s %-5s %7.3f %9.2f %8.2f", r.name.c_str(), r.type.c_str(), r.weight_gb,
                r.prefill_tps, r.decode_tps);
    for (double t : r.batch_tps) std::printf(" %9.2f", t);
    std::printf(" %7.2f %7.2f %7.3f %9s %8s %7s %7s\n", r.bw_gbps, r.probe_gbps, r.bw_frac,
                Fmt(r.llama.prefill_tps).c_str(), Fmt(r.llama.decode_tps).c_str(),
                Fmt(r.prefill_tps / r.llama.prefill_tps, "%.3f").c_str(),
                Fmt(r.decode_tps / r.llama.decode_tps, "%.3f").c_str());
  }
  std::printf("(tokens/s, median of %d; dec_bN = aggregate tokens/s of N sessions through "
              "ForwardBatch; ll_* = llama-bench on the same file; *_x = engine / llama.cpp)\n",
              opt.reps);
  const Result& r = results.front();
  std::printf("engine: model=%s decode_tps=%s prefill_tps=%s bw_frac=%s llama_decode_tps=%s "
              "llama_prefill_tps=%s\n",
              r.name.c_str(), Fmt(r.decode_tps).c_str(), Fmt(r.prefill_tps).c_str(),
              Fmt(r.bw_frac, "%.3f").c_str(), Fmt(r.llama.decode_tps).c_str(),
              Fmt(r.llama.prefill_tps).c_str());
  return 0;
}
