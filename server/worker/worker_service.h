// cachewire.v1.Worker on the gRPC callback API. Info, OpenSession, CloseSession, Stats and
// GetTranscript answer at once from the handler (they never wait for the engine); Append,
// Generate and the handoff streams (LCF, C2C) return reactors that the engine thread completes
// (append_reactor.h, generate_reactor.h, export_summary_reactor.h, import_summary_reactor.h,
// export_cache_reactor.h, fuse_cache_reactor.h).
#pragma once

#include <grpcpp/grpcpp.h>

#include "cachewire/v1/worker.grpc.pb.h"
#include "server/common/metrics.h"
#include "server/worker/worker_state.h"

namespace cachewire::server::worker {

class WorkerService final : public cachewire::v1::Worker::CallbackService {
 public:
  explicit WorkerService(WorkerState& state) : state_(state) {}

  grpc::ServerUnaryReactor* Info(grpc::CallbackServerContext* context,
                                 const cachewire::v1::InfoRequest* request,
                                 cachewire::v1::InfoResponse* response) override;
  grpc::ServerUnaryReactor* OpenSession(grpc::CallbackServerContext* context,
                                        const cachewire::v1::OpenSessionRequest* request,
                                        cachewire::v1::OpenSessionResponse* response) override;
  grpc::ServerUnaryReactor* Append(grpc::CallbackServerContext* context,
                                   const cachewire::v1::AppendRequest* request,
                                   cachewire::v1::AppendResponse* response) override;
  grpc::ServerWriteReactor<cachewire::v1::GenerateResponse>* Generate(
      grpc::CallbackServerContext* context,
      const cachewire::v1::GenerateRequest* request) override;
  grpc::ServerUnaryReactor* CloseSession(grpc::CallbackServerContext* context,
                                         const cachewire::v1::CloseSessionRequest* request,
                                         cachewire::v1::CloseSessionResponse* response) override;
  grpc::ServerUnaryReactor* Stats(grpc::CallbackServerContext* context,
                                  const cachewire::v1::StatsRequest* request,
                                  cachewire::v1::StatsResponse* response) override;
  grpc::ServerUnaryReactor* GetTranscript(grpc::CallbackServerContext* context,
                                          const cachewire::v1::GetTranscriptRequest* request,
                                          cachewire::v1::GetTranscriptResponse* response) override;
  grpc::ServerWriteReactor<cachewire::v1::SummaryChunk>* ExportSummary(
      grpc::CallbackServerContext* context,
      const cachewire::v1::ExportSummaryRequest* request) override;
  grpc::ServerReadReactor<cachewire::v1::SummaryChunk>* ImportSummary(
      grpc::CallbackServerContext* context,
      cachewire::v1::ImportSummaryResponse* response) override;
  grpc::ServerWriteReactor<cachewire::v1::CacheChunk>* ExportCache(
      grpc::CallbackServerContext* context,
      const cachewire::v1::ExportCacheRequest* request) override;
  grpc::ServerReadReactor<cachewire::v1::CacheChunk>* FuseCache(
      grpc::CallbackServerContext* context, cachewire::v1::FuseCacheResponse* response) override;

 private:
  // Finishes a unary call answered in its handler, counting it in the metrics.
  grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context, RpcTimer& timer,
                                   const absl::Status& status);

  WorkerState& state_;
};

}  // namespace cachewire::server::worker
