// A model whose weights and KV caches live in one backend's memory: the GPU through the CUDA
// plugin, or host memory through CpuOps (its twin, which gives the CPU model's logits and so
// tests this path on any machine). Behind the same model.h interface as the CPU model.
//
//   auto ops = backend::OpenCudaOps(0);                        // or backend::NewCpuOps()
//   auto model = LoadDeviceModel("m.gguf", std::move(*ops));   // weights uploaded once
//   auto session = (*model)->NewSession({.n_ctx = 2048});      // cache in device memory
//
// Sessions take full or bounded caches (device_cache.h: sinks, window, L2 eviction in batches,
// Gemma 3's sliding-window rings), kept entry for entry as the CPU model's, and the handoffs of
// LCF.md: Pin (an LCF import; bounded caches only, as on the CPU) and Overwrite (a C2C fusion)
// edit the device cache in place, and kv_cache() gives a read-only host snapshot of it
// (device_snapshot.h: downloaded at each call, valid until the next call or the next forward)
// for the LCF encoder and the C2C export. The requests of a ForwardBatch run together, one pass
// over the weights per step for all of them, as on the CPU.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/backend/ops.h"
#include "engine/model/model.h"

namespace cachewire::model {

// Loads the GGUF, checks it as Model::Load does (errors name the file and field), and copies
// its weights into `ops`' memory (ResourceExhausted when they do not fit).
absl::StatusOr<std::unique_ptr<Model>> LoadDeviceModel(const std::string& path,
                                                       std::unique_ptr<backend::Ops> ops);

}  // namespace cachewire::model
