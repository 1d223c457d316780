// Client-side helpers of the worker's end-to-end tests: a stub on a started WorkerProcess, the
// standard health check, and a Generate stream read to its end.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "cachewire/v1/worker.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace cachewire::testing {

namespace v1 = ::cachewire::v1;

inline const std::string kGoldenDir =
    std::string(CACHEWIRE_SOURCE_DIR) + "/tests/engine/model/golden/";

// A client context with a deadline (every test call has one, so a hung worker fails the test).
inline std::unique_ptr<grpc::ClientContext> Context(double seconds = 20) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(static_cast<int64_t>(seconds * 1e3)));
  return ctx;
}

// "SERVING", "NOT_SERVING", ... or the call's error.
inline std::string Health(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status st = stub->Check(Context(5).get(), request, &response);
  if (!st.ok()) return "error " + std::to_string(st.error_code()) + " " + st.error_message();
  return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
}

// Everything one Generate stream returned.
struct Stream {
  std::vector<int32_t> ids;
  std::string text;
  std::vector<v1::GeneratedTokens> messages;
  v1::GenerateSummary summary;
  bool has_summary = false;
  grpc::Status status;
};

inline Stream ReadAll(grpc::ClientReader<v1::GenerateResponse>& reader) {
  Stream s;
  v1::GenerateResponse m;
  while (reader.Read(&m)) {
    if (m.has_tokens()) {
      s.ids.insert(s.ids.end(), m.tokens().token_ids().begin(), m.tokens().token_ids().end());
      s.text += m.tokens().text();
      s.messages.push_back(m.tokens());
    } else if (m.has_summary()) {
      s.summary = m.summary();
      s.has_summary = true;
    }
  }
  s.status = reader.Finish();
  return s;
}

inline Stream Generate(v1::Worker::Stub& stub, const v1::GenerateRequest& request,
                       double seconds = 20) {
  auto ctx = Context(seconds);
  auto reader = stub.Generate(ctx.get(), request);
  return ReadAll(*reader);
}

inline std::string OpenSession(v1::Worker::Stub& stub, int64_t n_ctx = 0) {
  v1::OpenSessionRequest request;
  request.set_n_ctx(n_ctx);
  v1::OpenSessionResponse response;
  const grpc::Status st = stub.OpenSession(Context().get(), request, &response);
  return st.ok() ? response.session_id() : "";
}

inline grpc::Status CloseSession(v1::Worker::Stub& stub, const std::string& id) {
  v1::CloseSessionRequest request;
  request.set_session_id(id);
  v1::CloseSessionResponse response;
  return stub.CloseSession(Context().get(), request, &response);
}

inline grpc::Status AppendText(v1::Worker::Stub& stub, const std::string& id,
                               const std::string& text, v1::AppendResponse* response) {
  v1::AppendRequest request;
  request.set_session_id(id);
  request.set_text(text);
  return stub.Append(Context().get(), request, response);
}

}  // namespace cachewire::testing
