// The LCF and C2C handoffs on the chunk pipe (see adapter_handoff.h, chunk_pipe.h). Blocking
// calls: the router runs handoffs on its task pool.
#include "server/router/adapter_handoff.h"

#include <google/protobuf/io/coded_stream.h>

#include "cachewire/v1/worker.grpc.pb.h"
#include "server/router/chunk_pipe.h"
#include "server/worker/summary_chunks.h"

namespace cachewire::router {

grpc::Status HandoffLcf(const std::string& adapter, const HandoffEnd& from, const HandoffEnd& to,
                        const grpc::CallbackServerContext& parent,
                        v1::HandoffResponse* response) {
  v1::ExportSummaryRequest request;
  request.set_session_id(from.session.worker_session_id);
  request.set_adapter(adapter);
  // The largest chunks the worker writes: a summary is small (16 KB for the shipped adapters)
  // and the encoder emits it whole, so the small default chunks would only add a round of
  // reads and writes on both hops per chunk (about 0.3 ms each on a loaded 2-core machine).
  request.set_slots_per_chunk(server::worker::kMaxSlotsPerChunk);
  v1::ImportSummaryResponse imported;
  const grpc::Status status = PipeChunks<v1::SummaryChunk>(
      from, to, parent,
      [&](grpc::ClientContext* c) { return from.agent->stub().ExportSummary(c, request); },
      [&](grpc::ClientContext* c, v1::ImportSummaryResponse* r) {
        return to.agent->stub().ImportSummary(c, r);
      },
      [](const v1::SummaryChunk& chunk) { return static_cast<int64_t>(chunk.slots().size()); },
      &imported, response);
  if (!status.ok()) return status;
  response->set_slots(imported.slots_imported());
  *response->mutable_receiver_cache() = imported.cache();
  return grpc::Status::OK;
}

grpc::Status HandoffC2c(const std::string& adapter, const HandoffEnd& from, const HandoffEnd& to,
                        const grpc::CallbackServerContext& parent,
                        v1::HandoffResponse* response) {
  v1::ExportCacheRequest request;
  request.set_session_id(from.session.worker_session_id);
  request.set_adapter(adapter);
  v1::FuseCacheResponse fused;
  const grpc::Status status = PipeChunks<v1::CacheChunk>(
      from, to, parent,
      [&](grpc::ClientContext* c) { return from.agent->stub().ExportCache(c, request); },
      [&](grpc::ClientContext* c, v1::FuseCacheResponse* r) {
        return to.agent->stub().FuseCache(c, r);
      },
      [](const v1::CacheChunk& chunk) {
        // Keys, values, and the numbers of spans and tokens at their wire (varint) sizes.
        size_t n = chunk.keys().size() + chunk.values().size();
        for (const auto* list : {&chunk.span_begin(), &chunk.span_end(), &chunk.tokens()}) {
          for (int64_t x : *list) {
            n += google::protobuf::io::CodedOutputStream::VarintSize64(static_cast<uint64_t>(x));
          }
        }
        return static_cast<int64_t>(n);
      },
      &fused, response);
  if (!status.ok()) return status;
  response->set_entries_fused(fused.entries_fused());
  response->set_entries_unmatched(fused.entries_unmatched());
  *response->mutable_receiver_cache() = fused.cache();
  return grpc::Status::OK;
}

}  // namespace cachewire::router
