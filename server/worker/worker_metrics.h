// The worker's own Prometheus metrics, beside the shared RPC counters of MetricsRegistry:
//   read at scrape time from live state (no background thread):
//     cachewire_worker_sessions_open, cachewire_worker_sessions_max
//     cachewire_worker_queue_depth, cachewire_worker_queue_max
//     cachewire_worker_cache_bytes, cachewire_worker_cache_entries
//     cachewire_worker_cache_evictions_total, cachewire_worker_cache_pinned
//     cachewire_worker_tokens_prefilled_total, cachewire_worker_tokens_generated_total
//     cachewire_worker_forward_passes_total, cachewire_worker_forward_rows_total
//   observed per request:
//     cachewire_worker_decode_tokens_per_second   histogram of each generation's decode speed
//     cachewire_worker_time_to_first_token_seconds histogram (queue + prefill)
//     cachewire_worker_handoff_exports_total       LCF summaries exported (ExportSummary, OK)
//     cachewire_worker_handoff_imports_total       LCF summaries imported (ImportSummary, OK)
//     cachewire_worker_handoff_bytes_total{direction}  summary bytes sent / received (f16)
//     cachewire_worker_handoff_seconds{phase}      histogram: encode (export) and decode + pin
//                                                  (import) on the engine thread, and for C2C
//                                                  cache_export and fuse
//     cachewire_worker_c2c_exports_total           C2C caches exported (ExportCache, OK)
//     cachewire_worker_c2c_fusions_total           C2C caches fused (FuseCache, OK)
//     cachewire_worker_c2c_bytes_total{direction}  cache chunk bytes sent (export) / received
//                                                  (fuse), as serialized
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>

#include <cstdint>
#include <memory>

#include "engine/scheduler/job.h"
#include "engine/scheduler/scheduler.h"
#include "server/common/metrics.h"
#include "server/worker/session_table.h"

namespace cachewire::server::worker {

class WorkerMetrics {
 public:
  // `scheduler` and `sessions` must outlive the metrics registry's exposer.
  WorkerMetrics(MetricsRegistry& metrics, const scheduler::Scheduler& scheduler,
                const SessionTable& sessions);

  void ObserveGeneration(const scheduler::JobResult& result);
  // One successful ExportSummary / ImportSummary: payload bytes and engine seconds.
  void ObserveExport(int64_t bytes, double encode_seconds);
  void ObserveImport(int64_t bytes, double import_seconds);
  // One successful ExportCache / FuseCache: chunk bytes and engine seconds.
  void ObserveCacheExport(int64_t bytes, double export_seconds);
  void ObserveFuse(int64_t bytes, double fuse_seconds);

 private:
  // Counts one handoff in `done`, its bytes under `direction`, its seconds under `phase`.
  void ObserveHandoff(prometheus::Counter& done,
                      prometheus::Family<prometheus::Counter>& bytes_family,
                      const char* direction, const char* phase, int64_t bytes, double seconds);

  prometheus::Family<prometheus::Histogram>& decode_speed_;
  prometheus::Family<prometheus::Histogram>& first_token_;
  prometheus::Histogram& decode_speed_all_;
  prometheus::Histogram& first_token_all_;
  prometheus::Counter& exports_;
  prometheus::Counter& imports_;
  prometheus::Family<prometheus::Counter>& handoff_bytes_;
  prometheus::Family<prometheus::Histogram>& handoff_seconds_;
  prometheus::Counter& c2c_exports_;
  prometheus::Counter& c2c_fusions_;
  prometheus::Family<prometheus::Counter>& c2c_bytes_;
};

}  // namespace cachewire::server::worker
