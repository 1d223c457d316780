// bench_gguf: open-to-ready time of a GGUF file (File::Open: mmap + validating parse, no data
// copy), median over repeated opens. Without --file it first writes a synthetic model shaped
// like a Llama-3.2-1B (d=2048, ffn=8192, GQA 32/8 heads, 128256-token vocab with 280k merges)
// with the C++ Writer, adding layers until the file reaches --size-mb (default 2048).
// Open time is dominated by materialising the ~665k metadata array Values (vocab, merges,
// scores, token types), not by the mapping, which is lazy. Last line: "gguf: open_ms=X (file=...,
// size_mb=..., tensors=N)".
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/gguf/gguf_file.h"
#include "engine/gguf/gguf_writer.h"

namespace {

using cachewire::gguf::File;
using cachewire::gguf::OwnedValue;
using cachewire::gguf::TensorType;
using cachewire::gguf::Writer;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string file;  // existing GGUF to open; empty: write a synthetic one
  int64_t size_mb = 2048;
  int reps = 21;
  bool keep = false;  // keep the synthetic file
  std::string dir;    // where to write it (default: $TMPDIR or /tmp)
};

[[noreturn]] void Usage(const char* argv0) {
  std::fprintf(stderr,
               "usage: %s [--file PATH] [--size-mb N] [--reps N] [--quick] [--keep] [--dir D]\n"
               "  --quick: 512 MB file, 7 reps\n",
               argv0);
  std::exit(2);
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto next = [&]() -> std::string {
      if (i + 1 >= argc) Usage(argv[0]);
      return argv[++i];
    };
    if (a == "--file")
      o.file = next();
    else if (a == "--size-mb")
      o.size_mb = std::atoll(next().c_str());
    else if (a == "--reps")
      o.reps = std::atoi(next().c_str());
    else if (a == "--quick") {
      o.size_mb = 512;
      o.reps = 7;
    } else if (a == "--keep")
      o.keep = true;
    else if (a == "--dir")
      o.dir = next();
    else
      Usage(argv[0]);
  }
  if (o.size_mb < 64 || o.reps < 1) Usage(argv[0]);
  return o;
}

// snprintf into a std::string (also sidesteps a GCC 12 -Wrestrict false positive on
// "literal" + std::string at -O3).
template <typename... Args>
std::string Format(const char* fmt, Args... args) {
  char buf[256];
  std::snprintf(buf, sizeof(buf), fmt, args...);
  return buf;
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

// Writes the synthetic model; returns the number of tensors or -1 on error.
int WriteSynthetic(const std::string& path, int64_t size_mb) {
  constexpr int64_t kDim = 2048, kFfn = 8192, kKv = 512, kVocab = 128256, kMerges = 280147;
  Writer w;
  bool ok = w.Set("general.architecture", OwnedValue::Str("llama")).ok();
  ok &= w.Set("general.name", OwnedValue::Str("bench-1b-synthetic")).ok();
  ok &= w.Set("llama.embedding_length", OwnedValue::U32(kDim)).ok();
  ok &= w.Set("llama.feed_forward_length", OwnedValue::U32(kFfn)).ok();
  ok &= w.Set("llama.attention.head_count", OwnedValue::U32(32)).ok();
  ok &= w.Set("llama.attention.head_count_kv", OwnedValue::U32(8)).ok();
  ok &= w.Set("tokenizer.ggml.model", OwnedValue::Str("gpt2")).ok();
  std::vector<std::string> tokens(kVocab), merges(kMerges);
  for (int64_t i = 0; i < kVocab; ++i) tokens[i] = Format("tok%lld", static_cast<long long>(i));
  for (int64_t i = 0; i < kMerges; ++i)
    merges[i] = Format("t%lld ok", static_cast<long long>(i % 977));
  ok &= w.Set("tokenizer.ggml.tokens", OwnedValue::StrArr(tokens)).ok();
  ok &= w.Set("tokenizer.ggml.merges", OwnedValue::StrArr(merges)).ok();
  ok &= w.Set("tokenizer.ggml.scores", OwnedValue::F32Arr(std::vector<float>(kVocab, 0.0f))).ok();
  ok &=
      w.Set("tokenizer.ggml.token_type", OwnedValue::I32Arr(std::vector<int32_t>(kVocab, 1))).ok();

  // A cheap deterministic fill (the content does not matter to the open path).
  const auto fill = [](uint64_t offset, std::span<uint8_t> out) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>((offset + i) * 31);
  };
  int n_tensors = 0;
  const auto add = [&](const std::string& name, TensorType type, std::vector<int64_t> shape) {
    ok &= w.AddTensorLazy(name, type, std::move(shape), fill).ok();
    ++n_tensors;
  };
  // Tied embeddings (as in Llama-3.2-1B) in Q8_0 (1.0625 B/elem, 279 MB), layer weights in
  // F16 (~117 MB per layer); at least one layer, so files below ~400 MB come out larger.
  const int64_t fixed = kDim * kVocab * 34 / 32;
  const int64_t per_layer = 2 * (2 * kDim * kDim + 2 * kDim * kKv + 3 * kDim * kFfn) + 8 * kDim;
  const int64_t n_layers = std::max<int64_t>(1, (size_mb * 1048576 - fixed) / per_layer);
  add("token_embd.weight", TensorType::kQ8_0, {kDim, kVocab});
  for (int64_t il = 0; il < n_layers; ++il) {
    const std::string p = Format("blk.%lld.", static_cast<long long>(il));
    add(p + "attn_norm.weight", TensorType::kF32, {kDim});
    add(p + "attn_q.weight", TensorType::kF16, {kDim, kDim});
    add(p + "attn_k.weight", TensorType::kF16, {kDim, kKv});
    add(p + "attn_v.weight", TensorType::kF16, {kDim, kKv});
    add(p + "attn_output.weight", TensorType::kF16, {kDim, kDim});
    add(p + "ffn_norm.weight", TensorType::kF32, {kDim});
    add(p + "ffn_gate.weight", TensorType::kF16, {kDim, kFfn});
    add(p + "ffn_up.weight", TensorType::kF16, {kDim, kFfn});
    add(p + "ffn_down.weight", TensorType::kF16, {kFfn, kDim});
  }
  add("output_norm.weight", TensorType::kF32, {kDim});
  ok &= w.Set("llama.block_count", OwnedValue::U32(static_cast<uint32_t>(n_layers))).ok();
  if (!ok) {
    std::fprintf(stderr, "bench_gguf: building the synthetic model failed\n");
    return -1;
  }
  const absl::Status s = w.WriteFile(path);
  if (!s.ok()) {
    std::fprintf(stderr, "bench_gguf: %s\n", s.ToString().c_str());
    return -1;
  }
  return n_tensors;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = Parse(argc, argv);
  bool synthetic = false;
  if (o.file.empty()) {
    std::string dir = o.dir;
    if (dir.empty()) dir = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
    o.file = dir + Format("/bench_gguf_%d_%lldmb.gguf", static_cast<int>(::getpid()),
                          static_cast<long long>(o.size_mb));
    synthetic = true;
    // Write in a child process: the writer's large frees raise glibc's mmap threshold, after
    // which the opens below would reuse a warm heap and skip the page faults that a fresh
    // server process pays for the ~32 MB of metadata Values (7 ms instead of ~100 ms here).
    const Clock::time_point t0 = Clock::now();
    std::fflush(stdout);
    const pid_t pid = ::fork();
    if (pid == 0) _exit(WriteSynthetic(o.file, o.size_mb) < 0 ? 1 : 0);
    int status = 0;
    if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
      std::fprintf(stderr, "bench_gguf: writing %s failed\n", o.file.c_str());
      return 1;
    }
    std::printf("wrote %s in %.0f ms\n", o.file.c_str(), Ms(Clock::now() - t0));
  }

  // The first open is reported on its own (page cache and heap cold for this process); the
  // median is over the following reps.
  size_t n_tensors = 0, size = 0;
  double first_ms = 0;
  std::vector<double> open_ms, close_ms;
  for (int rep = -1; rep < o.reps; ++rep) {
    const Clock::time_point t0 = Clock::now();
    absl::StatusOr<std::unique_ptr<File>> f = File::Open(o.file);
    const Clock::time_point t1 = Clock::now();
    if (!f.ok()) {
      std::fprintf(stderr, "bench_gguf: %s\n", f.status().ToString().c_str());
      return 1;
    }
    n_tensors = (*f)->tensors().size();
    size = (*f)->size_bytes();
    f->reset();
    const Clock::time_point t2 = Clock::now();
    if (rep < 0) first_ms = Ms(t1 - t0);
    if (rep >= 0) {
      open_ms.push_back(Ms(t1 - t0));
      close_ms.push_back(Ms(t2 - t1));
    }
  }
  const auto stats = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return std::vector<double>{v.front(), v[v.size() / 2], v.back()};
  };
  const std::vector<double> so = stats(open_ms), sc = stats(close_ms);
  const double size_mb = static_cast<double>(size) / 1048576.0;
  const std::string phase = Format("phase (n=%d)", o.reps);
  std::printf("\n%-28s %10s %10s %10s\n", phase.c_str(), "min ms", "median ms", "max ms");
  std::printf("%-28s %10.3f %10.3f %10.3f\n", "open (mmap + parse)", so[0], so[1], so[2]);
  std::printf("%-28s %10.3f %10.3f %10.3f\n", "close (munmap + free)", sc[0], sc[1], sc[2]);
  std::printf("first open in this process (not in the median): %.3f ms\n", first_ms);
  std::printf("file: %s, %.0f MB, %zu tensors\n\n", o.file.c_str(), size_mb, n_tensors);
  std::printf("gguf: open_ms=%.3f (file=%s, size_mb=%.0f, tensors=%zu)\n", so[1], o.file.c_str(),
              size_mb, n_tensors);
  if (synthetic && !o.keep) std::filesystem::remove(o.file);
  return 0;
}
