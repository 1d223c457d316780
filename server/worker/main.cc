// cachewire-worker: serves one GGUF model as cachewire.v1.Worker over gRPC, with gRPC health and
// reflection and Prometheus metrics.
//
//   cachewire-worker --model m.gguf --listen 127.0.0.1:0 --metrics 127.0.0.1:0
//   listening grpc=127.0.0.1:40123 metrics=127.0.0.1:40124        (stdout, once serving)
//
// --adapter FILE (repeatable) loads an LCF adapter (ExportSummary / ImportSummary serve it) or a
// C2C fuser (ExportCache / FuseCache), as the file's general.architecture says, whose sharer or
// receiver is this worker's model; one made for neither side is a start-up error.
//
// SIGTERM or SIGINT drains: health turns NOT_SERVING, new calls are refused, calls in flight
// (generation streams included) complete within --drain-timeout, then the process exits 0.
// Bad flags and files are reported on stderr naming the flag or file, with exit code 1.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engine/generate/chat_template.h"
#include "engine/gguf/gguf_file.h"
#include "engine/model/model.h"
#include "engine/scheduler/scheduler.h"
#include "engine/tokenizer/tokenizer.h"
#include "kernels/cpu/blas_library.h"
#include "server/common/grpc_server.h"
#include "server/common/logging.h"
#include "server/common/metrics.h"
#include "server/common/shutdown.h"
#include "server/worker/adapter_set.h"
#include "server/worker/cache_policy.h"
#include "server/worker/session_table.h"
#include "server/worker/worker_service.h"

namespace cachewire::server::worker {
namespace {

struct Flags {
  std::string model;
  std::string listen = "127.0.0.1:50051";
  std::string metrics;  // empty: no metrics endpoint
  int threads = 0;
  std::string device = "cpu";  // cpu | cuda | auto (model.h: what the CUDA backend runs so far)
  int32_t max_sessions = 64;
  int32_t max_queue = 64;
  int64_t ctx = 4096;
  int64_t max_text_bytes = 1 << 20;
  int32_t prefill_chunk = 64;
  int32_t max_batch_tokens = 256;
  cache::CachePolicy cache_policy{};  // the default policy of new sessions
  int64_t cache_pool_mb = 0;          // 0: no shared budget for the sessions' caches
  double drain_timeout_s = 30;
  bool log_json = false;
  std::string log_level = "info";
  std::vector<std::string> adapters;  // LCF adapter and C2C fuser files
};

int Fail(const std::string& message) {
  std::cerr << "cachewire-worker: " << message << "\n";
  return 1;
}

int Run(const Flags& flags) {
  if (auto st = SetupLogging({.json = flags.log_json, .level = flags.log_level}); !st.ok()) {
    return Fail(std::string(st.message()));
  }
  if (flags.threads < 0) return Fail("--threads must be >= 0 (0: one per hardware thread)");
  if (flags.max_sessions <= 0) return Fail("--max-sessions must be > 0");
  if (flags.max_queue <= 0) return Fail("--max-queue must be > 0");
  if (flags.prefill_chunk <= 0) return Fail("--prefill-chunk must be > 0");
  if (flags.max_batch_tokens <= 0) return Fail("--max-batch-tokens must be > 0");
  if (flags.ctx <= 0) return Fail("--ctx must be > 0");
  if (flags.max_text_bytes <= 0) return Fail("--max-text-bytes must be > 0");
  if (flags.drain_timeout_s < 0) return Fail("--drain-timeout must be >= 0");

  auto default_policy = MergeCachePolicy(ToProto(flags.cache_policy), {});
  if (!default_policy.ok()) {
    return Fail("--cache-*: " + std::string(default_policy.status().message()));
  }
  if (flags.cache_pool_mb < 0) return Fail("--cache-pool-mb must be >= 0");
  auto device = model::ParseDevice(flags.device);
  if (!device.ok()) return Fail("--device: " + std::string(device.status().message()));
  auto model = model::Model::Load(flags.model, {.n_threads = flags.threads, .device = *device});
  if (!model.ok()) return Fail(std::string(model.status().message()));
  auto scheduler = scheduler::Scheduler::Create(**model, {.max_queue = flags.max_queue,
                                                         .max_batch_tokens = flags.max_batch_tokens,
                                                         .prefill_chunk = flags.prefill_chunk});
  if (!scheduler.ok()) return Fail(std::string(scheduler.status().message()));
  auto adapters = AdapterSet::Load(flags.adapters, **model);
  if (!adapters.ok()) return Fail(std::string(adapters.status().message()));

  SessionTable sessions(flags.max_sessions);
  MetricsRegistry metrics("cachewire.v1.Worker");
  WorkerMetrics worker_metrics(metrics, **scheduler, sessions);
  DrainGate gate;
  InputRules rules;
  rules.max_text_bytes = flags.max_text_bytes;
  auto arch = (*model)->file().GetString("general.architecture");
  auto family = generate::DetectChatFamily((*model)->tokenizer().vocab(),
                                           arch.ok() ? *arch : std::string_view());
  if (family.ok()) rules.chat_family = *family;
  const int64_t n_ctx = std::min<int64_t>(flags.ctx, (*model)->hparams().n_ctx_train);
  WorkerState state{.model = **model,
                    .scheduler = **scheduler,
                    .sessions = sessions,
                    .metrics = metrics,
                    .worker_metrics = worker_metrics,
                    .gate = gate,
                    .adapters = *adapters,
                    .config = {.model_path = flags.model,
                               .default_n_ctx = n_ctx,
                               .default_policy = *default_policy,
                               .worker_id = NewSessionId().substr(2)},
                    .input_rules = rules,
                    .pool = flags.cache_pool_mb > 0
                                ? cache::CachePool::Create(
                                      static_cast<size_t>(flags.cache_pool_mb) << 20)
                                : nullptr};
  WorkerService service(state);

  std::string metrics_address = "-";
  if (!flags.metrics.empty()) {
    auto bound = metrics.Serve(flags.metrics);
    if (!bound.ok()) return Fail("--metrics: " + std::string(bound.status().message()));
    metrics_address = *bound;
  }
  GrpcServerParams server_params;
  server_params.listen = flags.listen;
  server_params.services = {&service};
  auto server = StartGrpcServer(server_params);
  if (!server.ok()) return Fail("--listen: " + std::string(server.status().message()));

  std::cout << "listening grpc=" << server->address << " metrics=" << metrics_address
            << std::endl;
  // The adapters' f32 products run on OpenBLAS: which kernels it took says how fast they are.
  auto blas = kernels::LoadBlas();
  LogEvent(spdlog::level::info, "serving",
           {{"grpc", server->address}, {"metrics", metrics_address}, {"model", flags.model},
            {"arch", model::ArchName((*model)->hparams().arch)}, {"n_ctx", n_ctx},
            {"worker_id", state.config.worker_id},
            {"blas", blas.ok() ? (*blas)->core : std::string(blas.status().message())}});
  for (const ServedAdapter& served : adapters->all()) {
    LogEvent(spdlog::level::info, "adapter_loaded",
             {{"name", served.name()}, {"kind", std::string(served.kind())},
              {"path", served.path()}, {"sharer", served.sharer.ok()},
              {"receiver", served.receiver.ok()},
              {"n_slots", served.lcf ? served.lcf->n_slots() : int64_t{0}},
              {"slot_dim", served.lcf ? served.lcf->slot_dim() : int64_t{0}}});
  }

  const int sig = WaitForTerminationSignal();
  LogEvent(spdlog::level::info, "draining",
           {{"signal", sig}, {"timeout_s", flags.drain_timeout_s}});
  DrainAndStop(*server->server, gate,
               std::chrono::milliseconds(static_cast<int64_t>(flags.drain_timeout_s * 1e3)));
  (*scheduler)->Stop();
  LogEvent(spdlog::level::info, "stopped", {});
  return 0;
}

}  // namespace
}  // namespace cachewire::server::worker

int main(int argc, char** argv) {
  // First: a SIGTERM that arrives while the model loads must drain, not kill.
  if (auto st = cachewire::server::InstallTerminationHandler(); !st.ok()) {
    std::cerr << "cachewire-worker: " << st.message() << "\n";
    return 1;
  }
  cachewire::server::worker::Flags flags;
  CLI::App app{"cachewire-worker: serves one GGUF model over gRPC (cachewire.v1.Worker)"};
  app.add_option("--model,-m", flags.model, "GGUF model file")->required();
  app.add_option("--listen", flags.listen, "gRPC address host:port (port 0: any free port)")
      ->capture_default_str();
  app.add_option("--metrics", flags.metrics,
                 "Prometheus /metrics address host:port (port 0: any free port; default: none)");
  app.add_option("--threads,-t", flags.threads, "CPU threads; 0 = one per hardware thread")
      ->capture_default_str();
  app.add_option("--device", flags.device,
                 "cpu, cuda (weights and caches on the GPU, full or bounded; LCF and C2C "
                 "exports and imports work there too), auto (cuda when a GPU is found) or "
                 "cpu-twin (the GPU path on the CPU kernels: checks it without a GPU)")
      ->capture_default_str();
  app.add_option("--max-sessions", flags.max_sessions, "Sessions open at once")
      ->capture_default_str();
  app.add_option("--max-queue", flags.max_queue,
                 "Requests accepted and unfinished before RESOURCE_EXHAUSTED")
      ->capture_default_str();
  app.add_option("--ctx,-c", flags.ctx, "Default session context in tokens (capped by the model)")
      ->capture_default_str();
  app.add_option("--max-text-bytes", flags.max_text_bytes, "Largest text one request may carry")
      ->capture_default_str();
  app.add_option("--prefill-chunk", flags.prefill_chunk,
                 "Most prompt tokens of one session per forward pass")
      ->capture_default_str();
  app.add_option("--max-batch-tokens", flags.max_batch_tokens, "Most tokens per forward pass")
      ->capture_default_str();
  cachewire::cache::CachePolicy& cp = flags.cache_policy;
  app.add_flag("--cache-bounded", cp.bounded,
               "Sessions' caches bounded by sinks + window + eviction (default: full cache)");
  app.add_option("--cache-budget", cp.budget, "Entries kept per (layer, kv-head)")
      ->capture_default_str();
  app.add_option("--cache-window", cp.window, "Recent entries never evicted")
      ->capture_default_str();
  app.add_option("--cache-sinks", cp.n_sink, "First entries never evicted")
      ->capture_default_str();
  app.add_option("--cache-slack", cp.slack, "Entries added between eviction batches")
      ->capture_default_str();
  app.add_option("--cache-l2", cp.l2, "Evict the highest key L2 norms first (else oldest)")
      ->capture_default_str();
  app.add_option("--cache-pool-mb", flags.cache_pool_mb,
                 "Memory budget of all sessions' caches in MiB; 0 = none")
      ->capture_default_str();
  app.add_option("--drain-timeout", flags.drain_timeout_s,
                 "Seconds calls in flight may take to finish after SIGTERM")
      ->capture_default_str();
  app.add_option("--adapter", flags.adapters,
                 "LCF adapter or C2C fuser file whose sharer or receiver is this model "
                 "(repeatable)")
      ->allow_extra_args(false);
  app.add_flag("--log-json", flags.log_json, "Logs as one JSON object per line");
  app.add_option("--log-level", flags.log_level, "trace, debug, info, warn, error or off")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  return cachewire::server::worker::Run(flags);
}
