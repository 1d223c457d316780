// Matmul (see kernels/matmul.h): argument checks, activation quantisation into scratch, and the
// split of output rows into tasks for the thread pool.
#include "kernels/matmul.h"

#include <algorithm>

#include "engine/gguf/str_cat.h"

namespace cachewire::kernels {
namespace {

// Weight bytes a prefill task keeps hot while every token group passes over them: half of a 1 MiB
// L2, leaving room for the activation rows and outputs.
constexpr size_t kPrefillTileBytes = 512 * 1024;
// Tasks per thread: enough for the shared counter to even out a slow or preempted core, few
// enough that a decode task streams a long contiguous run of rows for the hardware prefetcher.
constexpr int64_t kTasksPerThread = 8;

absl::Status CheckSizes(const MatmulArgs& a) {
  if (a.n_out < 0 || a.n_in <= 0 || a.n_tokens < 0) {
    return absl::InvalidArgumentError(gguf::Cat("matmul sizes must be n_out >= 0, n_in > 0, ",
                                                "n_tokens >= 0; got n_out=", a.n_out,
                                                " n_in=", a.n_in, " n_tokens=", a.n_tokens));
  }
  if (a.n_out > 0 && a.n_tokens > 0 && (a.w == nullptr || a.x == nullptr || a.y == nullptr)) {
    return absl::InvalidArgumentError("matmul: w, x and y must not be null");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Matmul(const MatmulArgs& args, backend::cpu::ThreadPool* pool,
                    MatmulScratch* scratch) {
  if (absl::Status s = CheckSizes(args); !s.ok()) return s;
  // Names an unsupported weight type or ISA level.
  absl::StatusOr<DotKernels> kernels_or =
      GetDotKernels(args.w_type, args.isa.value_or(ActiveIsa()));
  if (!kernels_or.ok()) return kernels_or.status();
  const DotKernels k = *kernels_or;
  if (args.n_in % k.block_elems != 0) {
    return absl::InvalidArgumentError(
        gguf::Cat("matmul: n_in=", args.n_in, " is not a multiple of the ",
                  gguf::TensorTypeName(args.w_type), " block size ", k.block_elems));
  }
  if (args.n_out == 0 || args.n_tokens == 0) return absl::OkStatus();

  const int64_t n_in = args.n_in, n_out = args.n_out, n_tokens = args.n_tokens;
  const int n_threads = pool != nullptr ? pool->n_threads() : 1;
  const size_t w_row_bytes = *gguf::RowBytes(args.w_type, n_in);
  const size_t act_row_bytes = ActRowBytes(k.act, n_in);

  // Activations in the kernel's format, (n_tokens, act_row_bytes).
  const void* act = args.x;
  if (k.quantize != nullptr) {
    thread_local MatmulScratch local_scratch;
    std::vector<uint8_t>& buf = (scratch != nullptr ? scratch : &local_scratch)->act;
    const size_t need = static_cast<size_t>(n_tokens) * act_row_bytes;
    if (buf.size() < need) buf.resize(need);
    uint8_t* dst = buf.data();
    auto quantize_row = [&](int64_t t, int) {
      k.quantize(args.x + t * n_in, dst + static_cast<size_t>(t) * act_row_bytes, n_in);
    };
    if (pool != nullptr && n_tokens > 1) {
      pool->ParallelFor(n_tokens, quantize_row);
    } else {
      for (int64_t t = 0; t < n_tokens; ++t) quantize_row(t, 0);
    }
    act = dst;
  }
  const auto* w = static_cast<const uint8_t*>(args.w);
  const auto* act_bytes = static_cast<const uint8_t*>(act);

  // Rows per task: a few long contiguous runs per thread, so the shared counter evens out a slow
  // core; for prefill also no more rows than fit the L2 tile (smaller tasks cost no reuse, as
  // every task walks all token groups over its own rows).
  int64_t rows_per_task = std::max<int64_t>(1, n_out / (n_threads * kTasksPerThread));
  if (n_tokens > 1) {
    const int64_t fit = static_cast<int64_t>(kPrefillTileBytes / std::max<size_t>(w_row_bytes, 1));
    rows_per_task = std::clamp<int64_t>(fit, 1, rows_per_task);
  }
  const int64_t n_tasks = (n_out + rows_per_task - 1) / rows_per_task;

  auto run_task = [&](int64_t task, int) {
    const int64_t o_begin = task * rows_per_task;
    const int64_t o_end = std::min(n_out, o_begin + rows_per_task);
    float out[kMaxDotRows];
    // Token groups outside, rows inside: the task's weight rows stay in L2 while each group's
    // activation rows (at most kMaxDotRows rows) stay in L1.
    for (int64_t t0 = 0; t0 < n_tokens; t0 += kMaxDotRows) {
      const int nt = static_cast<int>(std::min<int64_t>(kMaxDotRows, n_tokens - t0));
      const uint8_t* x_group = act_bytes + static_cast<size_t>(t0) * act_row_bytes;
      for (int64_t o = o_begin; o < o_end; ++o) {
        k.dot(n_in, w + static_cast<size_t>(o) * w_row_bytes, x_group, act_row_bytes, nt, out);
        for (int t = 0; t < nt; ++t) args.y[(t0 + t) * n_out + o] = out[t];
      }
    }
  };
  if (pool != nullptr) {
    pool->ParallelFor(n_tasks, run_task);
  } else {
    for (int64_t task = 0; task < n_tasks; ++task) run_task(task, 0);
  }
  return absl::OkStatus();
}

}  // namespace cachewire::kernels
