// The load run and its clients (see load_run.h). A client is a small state machine whose steps
// are chained from completion callbacks: Open -> Generate ... -> Close -> Open ... -> Close.
// Each Generate gets its own reactor object (a reactor serves one call), which reports to its
// client and deletes itself in OnDone.
#include "client/load/load_run.h"

#include <memory>

namespace cachewire::load {
namespace {

using Clock = std::chrono::steady_clock;

double MsBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

class LoadClient {
 public:
  LoadClient(LoadRun& run, int index) : run_(run), index_(index) {}

  void Start() { OpenSession(); }

  void OnGenerateDone(const grpc::Status& status, double latency_ms, double first_token_ms,
                      int64_t tokens) {
    if (status.ok()) {
      consecutive_errors_ = 0;
      run_.RecordSuccess(latency_ms, first_token_ms, tokens);
    } else {
      run_.RecordError("Generate: " + status.error_message());
      if (++consecutive_errors_ >= 5) return CloseAndFinish();
    }
    ++requests_on_session_;
    if (requests_on_session_ >= run_.params().requests_per_session) {
      CloseSession(/*then_reopen=*/true);
    } else {
      NextRequest();
    }
  }

 private:
  class GenerateCall final : public grpc::ClientReadReactor<v1::GenerateResponse> {
   public:
    GenerateCall(LoadClient* client, const std::string& session_id) : client_(client) {
      const LoadParams& params = client->run_.params();
      context_ = client->run_.target().NewContext(params.timeout_s);
      request_.set_session_id(session_id);
      request_.set_text(params.prompt);
      request_.mutable_sampling()->set_max_tokens(params.max_tokens);
      request_.mutable_sampling()->set_temperature(0.8f);
      request_.mutable_sampling()->set_seed(params.seed + static_cast<uint64_t>(client->index_));
    }
    void Start() {
      start_ = Clock::now();
      client_->run_.target().Generate(context_.get(), &request_, this);
      StartRead(&message_);
      StartCall();
    }
    void OnReadDone(bool ok) override {
      if (!ok) return;
      if (message_.has_tokens() && message_.tokens().token_ids_size() > 0) {
        if (tokens_ == 0) first_token_ = Clock::now();
        tokens_ += message_.tokens().token_ids_size();
      }
      StartRead(&message_);
    }
    void OnDone(const grpc::Status& status) override {
      const auto end = Clock::now();
      client_->OnGenerateDone(status, MsBetween(start_, end),
                              tokens_ > 0 ? MsBetween(start_, first_token_) : -1.0, tokens_);
      delete this;
    }

   private:
    LoadClient* client_;
    std::unique_ptr<grpc::ClientContext> context_;
    v1::GenerateRequest request_;
    v1::GenerateResponse message_;
    Clock::time_point start_;
    Clock::time_point first_token_;
    int64_t tokens_ = 0;
  };

  void OpenSession() {
    if (!run_.TakeTicket()) return Finish();
    ticket_held_ = true;
    requests_on_session_ = 0;
    context_ = run_.target().NewContext(run_.params().timeout_s);
    run_.target().Open(context_.get(), [this](grpc::Status status, std::string session_id) {
      if (!status.ok()) {
        run_.RecordError("open session: " + status.error_message());
        return Finish();
      }
      session_id_ = std::move(session_id);
      NextRequest();
    });
  }

  void NextRequest() {
    // The first request of a session uses the ticket taken to open it.
    if (!ticket_held_ && !run_.TakeTicket()) return CloseAndFinish();
    ticket_held_ = false;
    (new GenerateCall(this, session_id_))->Start();
  }

  void CloseSession(bool then_reopen) {
    context_ = run_.target().NewContext(run_.params().timeout_s);
    run_.target().Close(context_.get(), session_id_, [this, then_reopen](grpc::Status) {
      session_id_.clear();
      if (then_reopen) {
        OpenSession();
      } else {
        Finish();
      }
    });
  }

  void CloseAndFinish() {
    if (session_id_.empty()) return Finish();
    CloseSession(/*then_reopen=*/false);
  }

  void Finish() { run_.ClientFinished(); }

  LoadRun& run_;
  const int index_;
  std::unique_ptr<grpc::ClientContext> context_;  // of the open/close call in flight
  std::string session_id_;
  int requests_on_session_ = 0;
  int consecutive_errors_ = 0;
  bool ticket_held_ = false;
};

}  // namespace

LoadRun::LoadRun(Target& target, const LoadParams& params) : target_(target), params_(params) {}

bool LoadRun::TakeTicket() {
  std::lock_guard<std::mutex> lock(mu_);
  if (params_.requests > 0) {
    if (tickets_taken_ >= params_.requests) return false;
  } else if (Clock::now() >= end_) {
    return false;
  }
  ++tickets_taken_;
  return true;
}

void LoadRun::RecordSuccess(double latency_ms, double first_token_ms, int64_t tokens) {
  std::lock_guard<std::mutex> lock(mu_);
  ++result_.requests_ok;
  result_.latency_ms.push_back(latency_ms);
  if (first_token_ms >= 0) result_.first_token_ms.push_back(first_token_ms);
  result_.tokens += tokens;
}

void LoadRun::RecordError(const std::string& what) {
  std::lock_guard<std::mutex> lock(mu_);
  if (result_.errors++ == 0) result_.first_error = what;
}

void LoadRun::ClientFinished() {
  std::lock_guard<std::mutex> lock(mu_);
  if (--clients_running_ == 0) all_done_.notify_all();
}

LoadResult LoadRun::Run() {
  std::vector<std::unique_ptr<LoadClient>> clients;
  {
    std::lock_guard<std::mutex> lock(mu_);
    start_ = Clock::now();
    end_ = start_ + std::chrono::milliseconds(static_cast<int64_t>(params_.duration_s * 1000));
    clients_running_ = params_.clients;
  }
  for (int i = 0; i < params_.clients; ++i) clients.push_back(std::make_unique<LoadClient>(*this, i));
  for (auto& client : clients) client->Start();
  std::unique_lock<std::mutex> lock(mu_);
  all_done_.wait(lock, [this] { return clients_running_ == 0; });
  result_.wall_s = std::chrono::duration<double>(Clock::now() - start_).count();
  return result_;
}

}  // namespace cachewire::load
