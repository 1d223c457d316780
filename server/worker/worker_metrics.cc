// WorkerMetrics (see worker_metrics.h): a Collectable that reads the scheduler's counters and the
// session table at every scrape, and two histograms observed when a generation ends.
#include "server/worker/worker_metrics.h"

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <string>
#include <vector>

namespace cachewire::server::worker {
namespace {

// Handoff engine time: a tiny adapter takes well under a millisecond, a large one seconds.
const prometheus::Histogram::BucketBoundaries kHandoffBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};

class LiveState final : public prometheus::Collectable {
 public:
  LiveState(const scheduler::Scheduler& scheduler, const SessionTable& sessions)
      : scheduler_(scheduler), sessions_(sessions) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    const scheduler::SchedulerCounters c = scheduler_.counters();
    int64_t bytes = 0, entries = 0, evictions = sessions_.closed_evictions(), pinned = 0;
    for (const auto& session : sessions_.All()) {
      const scheduler::SequenceSnapshot s = session->sequence->Snapshot();
      bytes += s.cache_bytes;
      entries += s.entries;
      evictions += s.evictions;
      pinned += s.pinned;
    }
    std::vector<prometheus::MetricFamily> out;
    Gauge(&out, "cachewire_worker_sessions_open", "Sessions open", sessions_.size());
    Gauge(&out, "cachewire_worker_sessions_max", "Most sessions open at once (--max-sessions)",
          sessions_.max_sessions());
    Gauge(&out, "cachewire_worker_queue_depth", "Requests accepted by the scheduler, unfinished",
          c.queue_depth);
    Gauge(&out, "cachewire_worker_queue_max", "Requests the scheduler accepts (--max-queue)",
          scheduler_.params().max_queue);
    Gauge(&out, "cachewire_worker_cache_bytes", "KV cache bytes held by open sessions", bytes);
    Gauge(&out, "cachewire_worker_cache_entries", "KV cache entries held by open sessions",
          entries);
    Gauge(&out, "cachewire_worker_cache_pinned", "Pinned KV cache entries of open sessions",
          pinned);
    Counter(&out, "cachewire_worker_cache_evictions_total",
            "KV cache entries evicted by sessions' policies", evictions);
    Counter(&out, "cachewire_worker_tokens_prefilled_total", "Context tokens run through the model",
            c.tokens_prefilled);
    Counter(&out, "cachewire_worker_tokens_generated_total", "Tokens sampled", c.tokens_generated);
    Counter(&out, "cachewire_worker_forward_passes_total", "Batched forward passes",
            c.forward_passes);
    Counter(&out, "cachewire_worker_forward_rows_total",
            "Sessions carried by forward passes (rows / passes = mean batch size)",
            c.forward_rows);
    return out;
  }

 private:
  static prometheus::MetricFamily& Family(std::vector<prometheus::MetricFamily>* out,
                                          const char* name, const char* help,
                                          prometheus::MetricType type) {
    out->push_back({name, help, type, {prometheus::ClientMetric{}}});
    return out->back();
  }
  static void Gauge(std::vector<prometheus::MetricFamily>* out, const char* name,
                    const char* help, double value) {
    Family(out, name, help, prometheus::MetricType::Gauge).metric[0].gauge.value = value;
  }
  static void Counter(std::vector<prometheus::MetricFamily>* out, const char* name,
                      const char* help, double value) {
    Family(out, name, help, prometheus::MetricType::Counter).metric[0].counter.value = value;
  }

  const scheduler::Scheduler& scheduler_;
  const SessionTable& sessions_;
};

}  // namespace

WorkerMetrics::WorkerMetrics(MetricsRegistry& metrics, const scheduler::Scheduler& scheduler,
                             const SessionTable& sessions)
    : decode_speed_(prometheus::BuildHistogram()
                        .Name("cachewire_worker_decode_tokens_per_second")
                        .Help("Decode speed of each generation (tokens / decode seconds)")
                        .Register(metrics.registry())),
      first_token_(prometheus::BuildHistogram()
                       .Name("cachewire_worker_time_to_first_token_seconds")
                       .Help("Queue wait plus prefill of each generation")
                       .Register(metrics.registry())),
      decode_speed_all_(decode_speed_.Add(
          {}, prometheus::Histogram::BucketBoundaries{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000,
                                                      2000, 5000})),
      first_token_all_(first_token_.Add(
          {}, prometheus::Histogram::BucketBoundaries{0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                      0.25, 0.5, 1, 2.5, 5, 10, 30})),
      exports_(prometheus::BuildCounter()
                   .Name("cachewire_worker_handoff_exports_total")
                   .Help("LCF summaries encoded and streamed (ExportSummary)")
                   .Register(metrics.registry())
                   .Add({})),
      imports_(prometheus::BuildCounter()
                   .Name("cachewire_worker_handoff_imports_total")
                   .Help("LCF summaries decoded and pinned (ImportSummary)")
                   .Register(metrics.registry())
                   .Add({})),
      handoff_bytes_(prometheus::BuildCounter()
                         .Name("cachewire_worker_handoff_bytes_total")
                         .Help("Summary bytes (f16 slots) sent and received, by direction")
                         .Register(metrics.registry())),
      handoff_seconds_(prometheus::BuildHistogram()
                           .Name("cachewire_worker_handoff_seconds")
                           .Help("Engine time of a handoff: encode (export) or decode and pin "
                                 "(import); C2C: cache_export or fuse")
                           .Register(metrics.registry())),
      c2c_exports_(prometheus::BuildCounter()
                       .Name("cachewire_worker_c2c_exports_total")
                       .Help("C2C caches exported (ExportCache)")
                       .Register(metrics.registry())
                       .Add({})),
      c2c_fusions_(prometheus::BuildCounter()
                       .Name("cachewire_worker_c2c_fusions_total")
                       .Help("C2C caches fused into a session (FuseCache)")
                       .Register(metrics.registry())
                       .Add({})),
      c2c_bytes_(prometheus::BuildCounter()
                     .Name("cachewire_worker_c2c_bytes_total")
                     .Help("C2C cache chunk bytes (serialized) sent and received, by direction")
                     .Register(metrics.registry())) {
  metrics.AddCollectable(std::make_shared<LiveState>(scheduler, sessions));
}

void WorkerMetrics::ObserveGeneration(const scheduler::JobResult& r) {
  if (r.n_generated_tokens > 0) {
    first_token_all_.Observe(r.queue_seconds + r.prefill_seconds);
    if (r.decode_seconds > 0) {
      decode_speed_all_.Observe(static_cast<double>(r.n_generated_tokens) / r.decode_seconds);
    }
  }
}

void WorkerMetrics::ObserveHandoff(prometheus::Counter& done,
                                   prometheus::Family<prometheus::Counter>& bytes_family,
                                   const char* direction, const char* phase, int64_t bytes,
                                   double seconds) {
  done.Increment();
  bytes_family.Add({{"direction", direction}}).Increment(static_cast<double>(bytes));
  handoff_seconds_.Add({{"phase", phase}}, kHandoffBuckets).Observe(seconds);
}

void WorkerMetrics::ObserveExport(int64_t bytes, double encode_seconds) {
  ObserveHandoff(exports_, handoff_bytes_, "export", "encode", bytes, encode_seconds);
}

void WorkerMetrics::ObserveImport(int64_t bytes, double import_seconds) {
  ObserveHandoff(imports_, handoff_bytes_, "import", "import", bytes, import_seconds);
}

void WorkerMetrics::ObserveCacheExport(int64_t bytes, double export_seconds) {
  ObserveHandoff(c2c_exports_, c2c_bytes_, "export", "cache_export", bytes, export_seconds);
}

void WorkerMetrics::ObserveFuse(int64_t bytes, double fuse_seconds) {
  ObserveHandoff(c2c_fusions_, c2c_bytes_, "fuse", "fuse", bytes, fuse_seconds);
}

}  // namespace cachewire::server::worker
