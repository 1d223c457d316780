// bench_kernels: each CUDA kernel beside its CPU twin on the same inputs, Llama-3.2-1B shapes.
//
// Per op: the device time (median of 7 runs of `reps` back-to-back launches, synchronised, so
// launch gaps count as they would in a forward pass), the bytes it must move at least (each input
// read once, each output written once) or its FLOPs, the achieved GB/s or TFLOP/s, the share of
// the device's peak bandwidth (--peak-gbps; known for H100/H200 by name), and the CPU twin's
// median time on this host's threads. Memory-bound matmuls rotate over weight copies larger
// than the device's L2, so no read is a cache hit. The last line is the one-line summary:
//   kernels: device="NAME" q8_0_decode_gbps=X peak_gbps=Y q8_0_decode_of_peak=Z
// Without a device it prints why and the summary `kernels: skipped (REASON)`, exit status 0.
//
// Flags: --quick (fewer shapes and reps), --peak-gbps=N.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/common/random_weights.h"
#include "engine/backend/cpu/thread_pool.h"
#include "engine/backend/cuda_device.h"
#include "kernels/activations.h"
#include "kernels/attention.h"
#include "kernels/matmul.h"
#include "kernels/rms_norm.h"
#include "kernels/softmax.h"

namespace {

using cachewire::backend::Buffer;
using cachewire::backend::CudaDevice;
using cachewire::backend::cpu::ThreadPool;
using cachewire::gguf::TensorType;
namespace kernels = cachewire::kernels;

constexpr int kRuns = 7;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double MedianSeconds(int reps, const std::function<void(int)>& fn) {
  fn(0);  // warm-up: module load, handle creation, first-touch
  std::vector<double> t;
  for (int r = 0; r < kRuns; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) fn(i);
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() /
                reps);
  }
  return Median(t);
}

// Dies with the status: a benchmark with a failed op has no figure worth printing.
void Check(const absl::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "bench_kernels: %s: %s\n", what, std::string(s.message()).c_str());
    std::exit(1);
  }
}

Buffer Upload(const CudaDevice& dev, const void* host, size_t bytes) {
  absl::StatusOr<Buffer> buf = dev.Alloc(bytes);
  Check(buf.status(), "alloc");
  Check(dev.CopyToDevice(*buf, host, bytes), "upload");
  return std::move(*buf);
}

template <typename T>
Buffer Upload(const CudaDevice& dev, const std::vector<T>& v) {
  return Upload(dev, v.data(), v.size() * sizeof(T));
}

std::vector<float> RandomFloats(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

struct Row {
  std::string op, shape;
  double gpu_s = 0, cpu_s = 0;
  double bytes = 0, flops = 0;  // one of them is the op's measure
};

struct Bench {
  const CudaDevice& dev;
  ThreadPool& pool;
  bool quick;
  double peak_gbps;
  std::vector<Row> rows;
  std::mt19937 rng{42};

  int Reps() const { return quick ? 5 : 50; }

  // Times `launch` (device, synchronised per run) and `cpu` (host twin).
  Row Time(std::string op, std::string shape, const std::function<void(int)>& launch,
           const std::function<void()>& cpu) {
    Row r{std::move(op), std::move(shape)};
    r.gpu_s = MedianSeconds(Reps(), [&](int i) {
      launch(i);
      if (i == Reps() - 1 || i == 0) Check(dev.Synchronize(), "synchronize");
    });
    r.cpu_s = MedianSeconds(quick ? 1 : 3, [&](int) { cpu(); });
    return r;
  }

  void Matmul(TensorType type, int64_t n_out, int64_t n_in, int64_t n_tokens) {
    const std::vector<uint8_t> w = cachewire::bench::MakeWeights(type, n_out, n_in, rng);
    // Decode rotates over copies totalling >= 256 MB (past any L2); prefill keeps one hot.
    const size_t copies = n_tokens == 1 ? std::max<size_t>(1, (size_t{256} << 20) / w.size()) : 1;
    std::vector<Buffer> dw;
    for (size_t c = 0; c < copies; ++c) dw.push_back(Upload(dev, w));
    const std::vector<float> x = RandomFloats(static_cast<size_t>(n_tokens * n_in), rng);
    Buffer dx = Upload(dev, x);
    Buffer dy = Upload(dev, std::vector<float>(static_cast<size_t>(n_tokens * n_out)));
    std::vector<float> y(static_cast<size_t>(n_tokens * n_out));
    kernels::MatmulArgs cpu{.w_type = type,
                            .w = w.data(),
                            .n_out = n_out,
                            .n_in = n_in,
                            .x = x.data(),
                            .n_tokens = n_tokens,
                            .y = y.data(),
                            .isa = {}};
    Row r = Time(
        "matmul " + std::string(cachewire::gguf::TensorTypeName(type)),
        std::to_string(n_out) + "x" + std::to_string(n_in) + " t" + std::to_string(n_tokens),
        [&](int i) {
          Check(dev.Run(CwMatmulArgs{static_cast<uint32_t>(type), dw[i % copies].data(), n_out,
                                     n_in, dx.as<float>(), n_tokens, dy.as<float>()}),
                "matmul");
        },
        [&] { Check(kernels::Matmul(cpu, &pool), "cpu matmul"); });
    if (n_tokens == 1) {
      r.bytes = static_cast<double>(w.size()) + 4.0 * (n_in + n_out);
    } else {
      r.flops = 2.0 * n_out * n_in * n_tokens;
    }
    rows.push_back(r);
  }

  void Attention(int64_t n_entries, int64_t n_tokens) {
    const int64_t n_head = 32, n_kv = 8, d = 64;
    const std::vector<float> q = RandomFloats(static_cast<size_t>(n_tokens * n_head * d), rng);
    std::vector<int32_t> q_pos(static_cast<size_t>(n_tokens)), pos(static_cast<size_t>(n_entries));
    for (int64_t t = 0; t < n_tokens; ++t)
      q_pos[t] = static_cast<int32_t>(n_entries - n_tokens + t);
    for (int64_t j = 0; j < n_entries; ++j) pos[j] = static_cast<int32_t>(j);
    std::vector<std::vector<float>> k, v;
    std::vector<Buffer> dk, dv;
    std::vector<CwAttentionKv> dev_kv;
    std::vector<kernels::AttentionKv> cpu_kv;
    Buffer dpos = Upload(dev, pos);
    for (int64_t h = 0; h < n_kv; ++h) {
      k.push_back(RandomFloats(static_cast<size_t>(n_entries * d), rng));
      v.push_back(RandomFloats(static_cast<size_t>(n_entries * d), rng));
      dk.push_back(Upload(dev, k.back()));
      dv.push_back(Upload(dev, v.back()));
      dev_kv.push_back(
          {dk.back().as<float>(), dv.back().as<float>(), dpos.as<int32_t>(), n_entries, d, d});
      cpu_kv.push_back({k.back().data(), v.back().data(), pos.data(), n_entries, d, d});
    }
    Buffer dkv = Upload(dev, dev_kv);
    Buffer dq = Upload(dev, q), dqpos = Upload(dev, q_pos);
    Buffer dout = Upload(dev, std::vector<float>(q.size()));
    std::vector<float> out(q.size());
    kernels::AttentionArgs cpu;
    cpu.q = q.data();
    cpu.q_pos = q_pos.data();
    cpu.n_tokens = n_tokens;
    cpu.n_head = n_head;
    cpu.n_head_kv = n_kv;
    cpu.head_dim_k = cpu.head_dim_v = d;
    cpu.scale = 0.125f;
    cpu.kv = cpu_kv;
    cpu.out = out.data();
    cpu.n_threads_hint = pool.n_threads();
    Row r = Time(
        "attention", std::to_string(n_entries) + " entries t" + std::to_string(n_tokens),
        [&](int) {
          Check(
              dev.Run(CwAttentionArgs{dq.as<float>(), dqpos.as<int32_t>(), n_tokens, n_head, n_kv,
                                      d, d, 0.125f, 0, dkv.as<CwAttentionKv>(), dout.as<float>()}),
              "attention");
        },
        [&] { Check(kernels::Attention(cpu, &pool), "cpu attention"); });
    r.bytes = 2.0 * 4 * n_kv * n_entries * d + 8.0 * q.size();
    rows.push_back(r);
  }

  void RowOps(int64_t n_rows, int64_t n) {
    const std::vector<float> x = RandomFloats(static_cast<size_t>(n_rows * n), rng);
    const std::vector<float> w = RandomFloats(static_cast<size_t>(n), rng);
    Buffer dx = Upload(dev, x), dw = Upload(dev, w), dy = Upload(dev, x);
    std::vector<float> y = x;
    const std::string shape = std::to_string(n_rows) + "x" + std::to_string(n);
    Row norm = Time(
        "rms_norm", shape,
        [&](int) {
          Check(dev.Run(CwRmsNormArgs{dx.as<float>(), dw.as<float>(), dy.as<float>(), n_rows, n,
                                      1e-6f}),
                "rms_norm");
        },
        [&] {
          kernels::RmsNorm({x.data(), w.data(), y.data(), n_rows, n, 1e-6f});
        });
    norm.bytes = 8.0 * n_rows * n;
    rows.push_back(norm);
    Row soft = Time(
        "softmax", shape,
        [&](int) {
          Check(dev.Run(CwSoftmaxArgs{dy.as<float>(), n_rows, n}), "softmax");
        },
        [&] { kernels::SoftmaxRows(y.data(), n_rows, n); });
    soft.bytes = 8.0 * n_rows * n;
    rows.push_back(soft);
    Row gated = Time(
        "gated silu", shape,
        [&](int) {
          Check(dev.Run(CwGatedArgs{0, dx.as<float>(), dy.as<float>(), dy.as<float>(), n_rows, n}),
                "gated");
        },
        [&] {
          kernels::GatedMul(
              {kernels::GatedActivation::kSilu, x.data(), y.data(), y.data(), n_rows, n}, &pool);
        });
    gated.bytes = 12.0 * n_rows * n;
    rows.push_back(gated);
  }

  void GemmF32(int64_t m, int64_t n, int64_t k) {
    const std::vector<float> a = RandomFloats(static_cast<size_t>(m * k), rng);
    const std::vector<float> b = RandomFloats(static_cast<size_t>(n * k), rng);
    Buffer da = Upload(dev, a), db = Upload(dev, b);
    Buffer dc = Upload(dev, std::vector<float>(static_cast<size_t>(m * n)));
    std::vector<float> c(static_cast<size_t>(m * n));
    kernels::MatmulArgs cpu{.w_type = TensorType::kF32,
                            .w = b.data(),
                            .n_out = n,
                            .n_in = k,
                            .x = a.data(),
                            .n_tokens = m,
                            .y = c.data(),
                            .isa = {}};
    Row r = Time(
        "gemm_f32", std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k),
        [&](int) {
          Check(dev.Run(CwGemmF32Args{m, n, k, da.as<float>(), db.as<float>(), dc.as<float>(), 1.0f,
                                      0.0f}),
                "gemm_f32");
        },
        [&] { Check(kernels::Matmul(cpu, &pool), "cpu matmul"); });
    r.flops = 2.0 * m * n * k;
    rows.push_back(r);
  }

  void Print() const {
    std::printf("%-16s %-24s %12s %14s %8s %12s %9s\n", "op", "shape", "gpu_us", "GB/s|TFLOP/s",
                "of_peak", "cpu_us", "gpu/cpu");
    for (const Row& r : rows) {
      const double rate = r.bytes > 0 ? r.bytes / r.gpu_s / 1e9 : r.flops / r.gpu_s / 1e12;
      char peak[16] = "-";
      if (r.bytes > 0 && peak_gbps > 0)
        std::snprintf(peak, sizeof(peak), "%.0f%%", 100 * rate / peak_gbps);
      std::printf("%-16s %-24s %12.1f %14.2f %8s %12.1f %8.1fx\n", r.op.c_str(), r.shape.c_str(),
                  r.gpu_s * 1e6, rate, peak, r.cpu_s * 1e6, r.cpu_s / r.gpu_s);
    }
  }
};

// Datasheet HBM bandwidth of the devices the project is measured on; 0 when unknown.
double KnownPeakGbps(const std::string& name) {
  if (name.find("H200") != std::string::npos) return 4800;
  if (name.find("H100") != std::string::npos) {
    return name.find("PCIe") != std::string::npos ? 2000 : 3350;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  double peak = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--quick") {
      quick = true;
    } else if (arg.rfind("--peak-gbps=", 0) == 0) {
      peak = std::atof(argv[i] + 12);
    } else {
      std::fprintf(stderr, "usage: bench_kernels [--quick] [--peak-gbps=N]\n");
      return 2;
    }
  }
  absl::StatusOr<CudaDevice> dev = CudaDevice::Open();
  if (!dev.ok()) {
    const std::string why(dev.status().message());
    std::printf("bench_kernels: nothing to time: %s\nkernels: skipped (%s)\n", why.c_str(),
                why.c_str());
    return 0;
  }
  if (peak < 0) peak = KnownPeakGbps(dev->info().name);
  ThreadPool pool(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  std::printf("device: %s (sm_%d%d), host threads: %d, peak %.0f GB/s\n", dev->info().name.c_str(),
              dev->info().cc_major, dev->info().cc_minor, pool.n_threads(), peak);
  Bench b{*dev, pool, quick, peak, {}};
  for (TensorType t : {TensorType::kQ8_0, TensorType::kQ4_K, TensorType::kQ6_K, TensorType::kF16}) {
    b.Matmul(t, 8192, 2048, 1);
    if (!quick) b.Matmul(t, 2048, 8192, 1);
  }
  b.Matmul(TensorType::kQ8_0, 8192, 2048, 16);
  if (!quick) b.Matmul(TensorType::kQ8_0, 8192, 2048, 512);
  b.Attention(4096, 1);
  if (!quick) b.Attention(4096, 64);
  b.RowOps(64, 2048);
  b.RowOps(1, 128256);
  b.GemmF32(512, 2048, 2048);
  b.Print();
  const Row& q8 = b.rows.front();
  const double gbps = q8.bytes / q8.gpu_s / 1e9;
  std::printf(
      "kernels: device=\"%s\" q8_0_decode_gbps=%.1f peak_gbps=%.0f q8_0_decode_of_peak=%.2f\n",
      dev->info().name.c_str(), gbps, peak, peak > 0 ? gbps / peak : 0.0);
  return 0;
}
