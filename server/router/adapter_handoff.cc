// The LCF pipe from the sharer's export stream to the receiver's import stream (see
// lcf_handoff.h). Blocking calls: the router runs handoffs on its task pool.
#include "server/router/lcf_handoff.h"

#include <chrono>

#include "cachewire/v1/worker.grpc.pb.h"
#include "server/router/worker_pool.h"
#include "server/router/worker_status.h"

namespace cachewire::router {
namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

grpc::Status HandoffLcf(const std::string& adapter, const HandoffEnd& from, const HandoffEnd& to,
                        const grpc::CallbackServerContext& parent,
                        v1::HandoffResponse* response) {
  const WorkerCallSite sharer{from.agent, &from.session, "from_session_id"};
  const WorkerCallSite receiver{to.agent, &to.session, "to_session_id"};
  v1::ExportSummaryRequest request;
  request.set_session_id(from.session.worker_session_id);
  request.set_adapter(adapter);
  auto export_context = ChildContext(parent);
  auto import_context = ChildContext(parent);
  v1::ImportSummaryResponse imported;

  Clock::time_point mark = Clock::now();
  auto reader = from.agent->stub().ExportSummary(export_context.get(), request);
  auto writer = to.agent->stub().ImportSummary(import_context.get(), &imported);
  response->set_transfer_ms(MsSince(mark));
  int64_t bytes = 0;
  bool import_broken = false;
  v1::SummaryChunk chunk;
  for (bool first = true;; first = false) {
    mark = Clock::now();
    const bool got = reader->Read(&chunk);
    response->set_export_ms(response->export_ms() + MsSince(mark));
    if (!got) break;
    mark = Clock::now();
    if (first) chunk.set_session_id(to.session.worker_session_id);
    bytes += static_cast<int64_t>(chunk.slots().size());
    const bool written = writer->Write(chunk);
    response->set_transfer_ms(response->transfer_ms() + MsSince(mark));
    if (!written) {  // the receiver finished the call (an error): stop the sharer too
      import_broken = true;
      export_context->TryCancel();
      break;
    }
  }
  mark = Clock::now();
  const grpc::Status exported = reader->Finish();
  response->set_export_ms(response->export_ms() + MsSince(mark));
  if (!import_broken && !exported.ok()) {
    // No last chunk reached the receiver, so it has applied nothing; end its stream.
    import_context->TryCancel();
    writer->Finish();
    return RelayWorkerStatus(exported, sharer);
  }
  mark = Clock::now();
  writer->WritesDone();
  const grpc::Status status = writer->Finish();
  response->set_import_ms(MsSince(mark));
  if (!status.ok()) return RelayWorkerStatus(status, receiver);
  response->set_bytes_moved(bytes);
  response->set_slots(imported.slots_imported());
  *response->mutable_receiver_cache() = imported.cache();
  return grpc::Status::OK;
}

}  // namespace cachewire::router
