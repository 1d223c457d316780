// The pipe of the latent handoffs (LCF, C2C): a server stream of chunks from the sharer's
// worker (ExportSummary, ExportCache) is written into a client stream on the receiver's worker
// (ImportSummary, FuseCache) one chunk at a time, the first with the receiver's session id, so
// the router holds one chunk at a time, never a whole summary or cache. The receiver applies
// what it got only at the last chunk; so when the export fails the import stream is cancelled
// and nothing is applied, and when the import fails the export is cancelled. The router
// caller's deadline and cancellation reach both streams (ChildContext).
//
// Latency split: export = time blocked opening and reading the sharer's stream (its queue, the
// encoder, the network); transfer = opening the receiver's stream, the router's own work on
// each chunk and writing it there; import = from the end of the writes to the receiver's answer
// (decoding or fusing).
#pragma once

#include <chrono>
#include <memory>

#include <grpcpp/grpcpp.h>

#include "cachewire/v1/router.pb.h"
#include "server/router/handoff.h"
#include "server/router/worker_pool.h"
#include "server/router/worker_status.h"

namespace cachewire::router {

// Opens the two streams (`open_export(context)` returns the sharer's reader,
// `open_import(context, &answer)` the receiver's writer) and pipes them. On success fills
// bytes_moved (the sum of payload_bytes over the chunks), the latency split and *answer.
// Worker errors are relayed naming from_session_id or to_session_id.
template <typename Chunk, typename Answer, typename OpenExport, typename OpenImport,
          typename PayloadBytes>
grpc::Status PipeChunks(const HandoffEnd& from, const HandoffEnd& to,
                        const grpc::CallbackServerContext& parent, OpenExport open_export,
                        OpenImport open_import, PayloadBytes payload_bytes, Answer* answer,
                        v1::HandoffResponse* response) {
  using Clock = std::chrono::steady_clock;
  const auto ms_since = [](Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  };
  const WorkerCallSite sharer{from.agent, &from.session, "from_session_id"};
  const WorkerCallSite receiver{to.agent, &to.session, "to_session_id"};
  auto export_context = ChildContext(parent);
  auto import_context = ChildContext(parent);

  // The receiver's stream opens first: opening the sharer's was measured to block about as
  // long as the sharer's encoder runs (2.5 ms of a 2.2 ms encode), so in this order the
  // receiver sets its call up before that wait rather than after it.
  Clock::time_point mark = Clock::now();
  std::unique_ptr<grpc::ClientWriter<Chunk>> writer = open_import(import_context.get(), answer);
  response->set_transfer_ms(ms_since(mark));
  mark = Clock::now();
  std::unique_ptr<grpc::ClientReader<Chunk>> reader = open_export(export_context.get());
  response->set_export_ms(ms_since(mark));
  int64_t bytes = 0;
  bool import_broken = false;
  Chunk chunk;
  for (bool first = true;; first = false) {
    mark = Clock::now();
    const bool got = reader->Read(&chunk);
    response->set_export_ms(response->export_ms() + ms_since(mark));
    if (!got) break;
    mark = Clock::now();
    if (first) chunk.set_session_id(to.session.worker_session_id);
    bytes += payload_bytes(chunk);
    const bool written = writer->Write(chunk);
    response->set_transfer_ms(response->transfer_ms() + ms_since(mark));
    if (!written) {  // the receiver finished the call (an error): stop the sharer too
      import_broken = true;
      export_context->TryCancel();
      break;
    }
  }
  mark = Clock::now();
  const grpc::Status exported = reader->Finish();
  response->set_export_ms(response->export_ms() + ms_since(mark));
  if (!import_broken && !exported.ok()) {
    // No last chunk reached the receiver, so it has applied nothing; end its stream.
    import_context->TryCancel();
    writer->Finish();
    return RelayWorkerStatus(exported, sharer);
  }
  mark = Clock::now();
  writer->WritesDone();
  const grpc::Status status = writer->Finish();
  response->set_import_ms(ms_since(mark));
  if (!status.ok()) return RelayWorkerStatus(status, receiver);
  response->set_bytes_moved(bytes);
  return grpc::Status::OK;
}

}  // namespace cachewire::router
