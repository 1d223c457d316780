// cache::ChooseKept on the GPU, exact (integers and float comparisons only), in two launches:
//
// 1. FlagKernel, one thread per slot: a middle slot's eviction rank is the number of middle
//    slots that go before it (higher norm, or equal norm and older; NaN as +inf). That order is
//    total, so the ranks are a permutation and rank < n_evict picks exactly the set the twin's
//    nth_element leaves in front. O(middle^2) comparisons spread over the whole grid, norms
//    staged through shared memory a tile at a time: a few microseconds for caches of thousands.
//    Without norms the first n_evict middle slots go. Each slot's keep flag (0/1) is stored in
//    `kept` itself, which the op may fill anyway, so the op needs no scratch memory.
// 2. CompactKernel, one block: an exclusive scan of the flags (cub::BlockScan) a chunk at a
//    time turns them in place into the ascending list of kept slots and their count.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cub/block/block_scan.cuh>

#include "kernels/cuda/evict_select.cuh"

namespace cachewire::kernels::cuda {
namespace {

constexpr int kFlagThreads = 128;
constexpr int kScanThreads = 1024;

__device__ float EvictKey(const float* key_norm, int64_t i) {
  const float x = key_norm[i];
  return isnan(x) ? INFINITY : x;
}

// key_norm: (n) or null; kept: (n), here 1 for a surviving slot, 0 for an evicted one.
__global__ void FlagKernel(const float* key_norm, int64_t n, int64_t mid_begin, int64_t mid_end,
                           int64_t n_evict, int32_t* kept) {
  __shared__ float tile[kFlagThreads];  // norms of middle slots [j0, j0 + kFlagThreads)
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const bool middle = i >= mid_begin && i < mid_end;
  bool evicted = false;
  if (key_norm == nullptr || n_evict == 0) {  // uniform over the grid: no barrier skipped
    evicted = middle && i - mid_begin < n_evict;
  } else {
    const float mine = middle ? EvictKey(key_norm, i) : 0.0f;
    int64_t rank = 0;
    // Every thread of the block takes part in the loads and barriers, middle slot or not.
    for (int64_t j0 = mid_begin; j0 < mid_end; j0 += kFlagThreads) {
      const int64_t j = j0 + threadIdx.x;
      if (j < mid_end) tile[threadIdx.x] = EvictKey(key_norm, j);
      __syncthreads();
      const int len = static_cast<int>(min(static_cast<int64_t>(kFlagThreads), mid_end - j0));
      if (middle) {
        for (int t = 0; t < len; ++t) {
          const float other = tile[t];
          rank += (other > mine || (other == mine && j0 + t < i)) ? 1 : 0;
        }
      }
      __syncthreads();  // the next tile overwrites this one
    }
    evicted = middle && rank < n_evict;
  }
  if (i < n) kept[i] = evicted ? 0 : 1;
}

// kept: (n) flags in, the ascending kept slots out (the first *n_kept of them).
__global__ void __launch_bounds__(kScanThreads)
    CompactKernel(int64_t n, int32_t* kept, int64_t* n_kept) {
  using Scan = cub::BlockScan<int32_t, kScanThreads>;
  __shared__ typename Scan::TempStorage scan_storage;
  int64_t written = 0;
  for (int64_t c0 = 0; c0 < n; c0 += kScanThreads) {
    const int64_t i = c0 + threadIdx.x;
    const int32_t flag = i < n ? kept[i] : 0;
    // Writes below land at slots < c0 + kScanThreads, some inside this chunk: every flag of
    // the chunk is read first. Later chunks' flags are never overwritten early.
    __syncthreads();
    int32_t offset = 0, chunk_kept = 0;
    Scan(scan_storage).ExclusiveSum(flag, offset, chunk_kept);
    if (flag != 0) kept[written + offset] = static_cast<int32_t>(i);
    written += chunk_kept;
    __syncthreads();  // scan_storage is reused by the next chunk
  }
  if (threadIdx.x == 0) *n_kept = written;
}

}  // namespace

LaunchStatus LaunchEvictSelect(const CwEvictSelectArgs& a, cudaStream_t stream) {
  if (a.n_entries < 0) return InvalidArg("n_entries < 0");
  if (a.n_entries > INT32_MAX) return InvalidArg("n_entries > 2^31 - 1 (slots are int32)");
  if (a.n_kept == nullptr) return InvalidArg("n_kept is null");
  if (a.n_entries > 0 && a.kept == nullptr) return InvalidArg("kept is null");
  // The twin's clamping; n_keep below 0 is read as 0 (the twin's n - n_keep could overflow).
  const int64_t n = a.n_entries;
  const int64_t head = std::clamp<int64_t>(a.n_head, 0, n);
  const int64_t tail = std::clamp<int64_t>(a.n_tail, 0, n - head);
  const int64_t mid_begin = head, mid_end = n - tail;
  const int64_t n_evict =
      std::clamp<int64_t>(n - std::max<int64_t>(a.n_keep, 0), 0, mid_end - mid_begin);
  if (n > 0) {
    FlagKernel<<<GridFor(n, kFlagThreads), kFlagThreads, 0, stream>>>(a.key_norm, n, mid_begin,
                                                                      mid_end, n_evict, a.kept);
    const LaunchStatus st = AfterLaunch("FlagKernel");
    if (!st.ok()) return st;
  }
  CompactKernel<<<1, kScanThreads, 0, stream>>>(n, a.kept, a.n_kept);
  return AfterLaunch("CompactKernel");
}

}  // namespace cachewire::kernels::cuda
