// bench_kernels_cpu: throughput of the CPU matmul kernels on Llama-3.2-1B projection shapes, per
// weight type, ISA level and thread count, next to a plain memory-bandwidth probe.
//
//   decode  (n_tokens = 1): GB/s of weight bytes streamed. Decode is memory-bound, so each sweep
//           walks a set of weight copies totalling >= --stream-mb (default 1024) and no copy is
//           still in cache when it is read again; compare with bw_probe.
//   prefill (n_tokens = 64): GFLOP/s (2 * n_out * n_in * 64 per call) on one copy that stays hot.
// Every figure is the median of 7 runs. The last line is the one-line summary:
//   kernels_cpu: q8_0_decode_gbps=X (bw_probe_gbps=Y, threads=2)
// X is Q8_0 decode on 8192x2048 at the active ISA level; Y the probe at the same threads.
//
// Flags: --quick (active ISA only, the 8192x2048 shape; < 1 min), --isa=scalar|avx2|avx512,
// --type=Q8_0 (one weight type), --stream-mb=N.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "engine/backend/cpu/thread_pool.h"
#include "engine/gguf/dequantize.h"
#include "engine/gguf/tensor_type.h"
#include "bench/common/random_weights.h"
#include "kernels/matmul.h"

namespace {

using cachewire::backend::cpu::ThreadPool;
using cachewire::gguf::TensorType;
namespace kernels = cachewire::kernels;

constexpr int kRuns = 7;
constexpr int64_t kPrefillTokens = 64;

struct Shape {
  int64_t n_out, n_in;
};

double Seconds(const std::function<void()>& fn) {
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double MedianSeconds(const std::function<void()>& fn) {
  fn();  // warm-up: page faults, thread wake-up, scratch allocation
  std::vector<double> t;
  for (int i = 0; i < kRuns; ++i) t.push_back(Seconds(fn));
  std::sort(t.begin(), t.end());
  return t[kRuns / 2];
}

// Reads `bytes` of a buffer and sums it, split over the pool's threads.
double BandwidthProbeGbps(const std::vector<uint64_t>& buf, ThreadPool& pool) {
  const int64_t n_tasks = pool.n_threads();
  const size_t per = buf.size() / static_cast<size_t>(n_tasks);
  std::vector<uint64_t> sums(static_cast<size_t>(n_tasks));
  const double s = MedianSeconds([&] {
    pool.ParallelFor(n_tasks, [&](int64_t task, int) {
      const uint64_t* p = buf.data() + per * static_cast<size_t>(task);
      uint64_t a = 0, b = 0, c = 0, d = 0;
      for (size_t i = 0; i + 4 <= per; i += 4) {
        a += p[i];
        b += p[i + 1];
        c += p[i + 2];
        d += p[i + 3];
      }
      sums[static_cast<size_t>(task)] = a + b + c + d;
    });
  });
  uint64_t total = 0;
  for (uint64_t v : sums) total += v;
  if (total == 42) std::printf(" ");  // keeps the sum alive
  return static_cast<double>(per * static_cast<size_t>(n_tasks) * 8) / s / 1e9;
}

struct Options {
  bool quick = false;
  std::vector<kernels::CpuIsa> isas;
  std::vector<TensorType> types = {TensorType::kF32,  TensorType::kF16,  TensorType::kBF16,
                                   TensorType::kQ8_0, TensorType::kQ4_0, TensorType::kQ4_K,
                                   TensorType::kQ5_K, TensorType::kQ6_K};
  size_t stream_bytes = size_t{1} << 30;
};

bool ParseArgs(int argc, char** argv, Options& opt) {
  std::vector<kernels::CpuIsa> isas = kernels::AvailableIsas();
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--quick") {
      opt.quick = true;
      isas = {kernels::ActiveIsa()};
    } else if (a.rfind("--isa=", 0) == 0) {
      const auto isa = kernels::ParseIsa(a.substr(6));
      if (!isa || *isa > kernels::DetectedIsa()) return false;
      isas = {*isa};
    } else if (a.rfind("--type=", 0) == 0) {
      bool found = false;
      for (TensorType t : opt.types) {
        if (cachewire::gguf::TensorTypeName(t) == a.substr(7)) {
          opt.types = {t};
          found = true;
          break;
        }
      }
      if (!found) return false;
    } else if (a.rfind("--stream-mb=", 0) == 0) {
      opt.stream_bytes = std::strtoull(std::string(a.substr(12)).c_str(), nullptr, 10) << 20;
    } else {
      return false;
    }
  }
  opt.isas = isas;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  if (!ParseArgs(argc, argv, opt)) {
    std::fprintf(stderr,
                 "usage: bench_kernels_cpu [--quick] [--isa=scalar|avx2|avx512] [--type=Q8_0] "
                 "[--stream-mb=N]\n");
    return 2;
  }
  std::vector<Shape> shapes = {{2048, 2048}, {8192, 2048}, {2048, 8192}};
  if (opt.quick) shapes = {{8192, 2048}};
  const int thread_counts[] = {1, 2};
  ThreadPool pool1(1), pool2(2);
  ThreadPool* pool_for[] = {&pool1, &pool2};

  std::vector<uint64_t> probe_buf((size_t{1} << 30) / 8, 1);
  double probe_gbps[2];
  for (int i = 0; i < 2; ++i) {
    probe_gbps[i] = BandwidthProbeGbps(probe_buf, *pool_for[i]);
    std::printf("bw_probe threads=%d read_gbps=%.1f\n", thread_counts[i], probe_gbps[i]);
  }
  std::vector<uint64_t>().swap(probe_buf);

  std::printf("%-5s %-7s %-10s %-7s %12s %16s\n", "type", "isa", "shape", "threads", "decode_GB/s",
              "prefill64_GFLOP/s");
  std::mt19937 rng(1);
  double q8_decode_2t = 0;
  std::vector<uint8_t> arena;  // weight copies for decode, (n_copies, matrix bytes)
  for (Shape shape : shapes) {
    std::vector<float> x = std::vector<float>(static_cast<size_t>(kPrefillTokens * shape.n_in));
    for (float& v : x) v = std::uniform_real_distribution<float>(-1.0f, 1.0f)(rng);
    std::vector<float> y(static_cast<size_t>(kPrefillTokens * shape.n_out));
    for (TensorType type : opt.types) {
      const std::vector<uint8_t> one =
          cachewire::bench::MakeWeights(type, shape.n_out, shape.n_in, rng);
      // Copies to rotate through, so decode reads from memory rather than cache.
      // The arena is allocated once and reused, so its page faults are paid once per run.
      const size_t n_copies = std::max<size_t>(2, opt.stream_bytes / one.size());
      if (arena.size() < one.size() * n_copies) arena.resize(one.size() * n_copies);
      for (size_t c = 0; c < n_copies; ++c) {
        std::memcpy(arena.data() + c * one.size(), one.data(), one.size());
      }
      const size_t streamed = one.size() * n_copies;
      for (kernels::CpuIsa isa : opt.isas) {
        for (int ti = 0; ti < 2; ++ti) {
          ThreadPool& pool = *pool_for[ti];
          kernels::MatmulScratch scratch;
          kernels::MatmulArgs args{.w_type = type,
                                   .w = one.data(),
                                   .n_out = shape.n_out,
                                   .n_in = shape.n_in,
                                   .x = x.data(),
                                   .n_tokens = 1,
                                   .y = y.data(),
                                   .isa = isa};
          bool ok = true;
          const double decode_s = MedianSeconds([&] {
            for (size_t c = 0; c < n_copies; ++c) {
              args.w = arena.data() + c * one.size();
              ok = ok && kernels::Matmul(args, &pool, &scratch).ok();
            }
          });
          args.w = one.data();
          args.n_tokens = kPrefillTokens;
          const double prefill_s =
              MedianSeconds([&] { ok = ok && kernels::Matmul(args, &pool, &scratch).ok(); });
          if (!ok) {
            std::fprintf(stderr, "matmul failed for %s\n",
                         std::string(cachewire::gguf::TensorTypeName(type)).c_str());
            return 1;
          }
          const double gbps = static_cast<double>(streamed) / decode_s / 1e9;
          const double gflops = 2.0 * static_cast<double>(shape.n_out * shape.n_in) *
                                kPrefillTokens / prefill_s / 1e9;
          std::printf("%-5s %-7s %5ldx%-5ld %-7d %12.1f %16.1f\n",
                      std::string(cachewire::gguf::TensorTypeName(type)).c_str(),
                      std::string(kernels::IsaName(isa)).c_str(), static_cast<long>(shape.n_out),
                      static_cast<long>(shape.n_in), thread_counts[ti], gbps, gflops);
          std::fflush(stdout);
          if (type == TensorType::kQ8_0 && isa == kernels::ActiveIsa() && ti == 1 &&
              shape.n_out == 8192) {
            q8_decode_2t = gbps;
          }
        }
      }
    }
  }
  std::printf("kernels_cpu: q8_0_decode_gbps=%.1f (bw_probe_gbps=%.1f, threads=2)\n", q8_decode_2t,
              probe_gbps[1]);
  return 0;
}
