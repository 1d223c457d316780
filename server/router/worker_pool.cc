// Channels to the workers and the health monitor (see worker_pool.h).
#include "server/router/worker_pool.h"

#include <chrono>

#include "server/common/logging.h"

namespace cachewire::router {
namespace {

// Retries for the calls that change nothing on the worker. Backoff delays are drawn uniformly
// from [0, current] by gRPC; current starts at 0.1 s and doubles up to 1 s.
constexpr char kServiceConfig[] = R"({
  "methodConfig": [{
    "name": [
      {"service": "cachewire.v1.Worker", "method": "Info"},
      {"service": "cachewire.v1.Worker", "method": "Stats"},
      {"service": "cachewire.v1.Worker", "method": "GetTranscript"}
    ],
    "retryPolicy": {
      "maxAttempts": 4,
      "initialBackoff": "0.1s",
      "maxBackoff": "1s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
})";

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           const WorkerPoolParams& params) {
  grpc::ChannelArguments args;
  args.SetServiceConfigJSON(kServiceConfig);
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 1);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetMaxReceiveMessageSize(64 << 20);
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (params.worker_ca_pem.empty()) {
    credentials = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = params.worker_ca_pem;
    credentials = grpc::SslCredentials(ssl);
  }
  return grpc::CreateCustomChannel(address, credentials, args);
}

}  // namespace

AgentLink::AgentLink(AgentConfig config, std::shared_ptr<grpc::Channel> channel)
    : config_(std::move(config)),
      channel_(std::move(channel)),
      stub_(v1::Worker::NewStub(channel_)) {}

v1::AgentHealth AgentLink::health() const {
  std::lock_guard<std::mutex> lock(mu_);
  return health_;
}

std::optional<v1::InfoResponse> AgentLink::info() const {
  std::lock_guard<std::mutex> lock(mu_);
  return info_;
}

bool AgentLink::RecordProbe(const grpc::Status& status, const v1::InfoResponse* info) {
  std::lock_guard<std::mutex> lock(mu_);
  const v1::AgentHealth before = health_;
  health_ = status.ok() ? v1::AGENT_HEALTH_SERVING : v1::AGENT_HEALTH_UNAVAILABLE;
  if (health_ != before) {
    if (status.ok()) {
      server::LogEvent(spdlog::level::info, "worker_serving",
                       {{"agent", config_.name}, {"worker", config_.worker}});
    } else {
      server::LogEvent(spdlog::level::warn, "worker_unavailable",
                       {{"agent", config_.name},
                        {"worker", config_.worker},
                        {"error", status.error_message()}});
    }
  }
  if (!status.ok() || info == nullptr) return false;
  const bool restarted = info_.has_value() && info_->worker_id() != info->worker_id();
  info_ = *info;
  return restarted;
}

WorkerPool::WorkerPool(const RouterConfig& config, const WorkerPoolParams& params)
    : params_(params) {
  for (const AgentConfig& agent : config.agents) {
    agents_.push_back(
        std::make_unique<AgentLink>(agent, MakeChannel(agent.worker, params_)));
  }
}

WorkerPool::~WorkerPool() { StopMonitor(); }

void WorkerPool::StopMonitor() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (monitor_.joinable()) monitor_.join();
}

AgentLink* WorkerPool::Find(const std::string& name) {
  for (auto& agent : agents_) {
    if (agent->name() == name) return agent.get();
  }
  return nullptr;
}

void WorkerPool::ProbeAllOnce() {
  bool all_serving = true;
  for (auto& agent : agents_) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::milliseconds(params_.probe_timeout_ms));
    v1::InfoResponse info;
    const grpc::Status status = agent->stub().Info(&context, v1::InfoRequest(), &info);
    const bool restarted = agent->RecordProbe(status, &info);
    all_serving = all_serving && status.ok();
    if (restarted) {
      server::LogEvent(spdlog::level::warn, "worker_restarted",
                       {{"agent", agent->name()}, {"worker_id", info.worker_id()}});
      if (on_restart_) on_restart_(*agent);
    }
  }
  if (on_health_) on_health_(all_serving);
}

void WorkerPool::StartMonitor(HealthCallback on_health, RestartCallback on_restart) {
  on_health_ = std::move(on_health);
  on_restart_ = std::move(on_restart);
  ProbeAllOnce();
  monitor_ = std::thread([this] { MonitorLoop(); });
}

void WorkerPool::MonitorLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, std::chrono::milliseconds(params_.probe_interval_ms));
    if (stopping_) break;
    lock.unlock();
    ProbeAllOnce();
    lock.lock();
  }
}

std::unique_ptr<grpc::ClientContext> ChildContext(const grpc::CallbackServerContext& parent) {
  return grpc::ClientContext::FromCallbackServerContext(parent);
}

}  // namespace cachewire::router
