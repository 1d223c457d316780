// A model whose weights and KV caches live in one backend's memory: the GPU through the CUDA
// plugin, or host memory through CpuOps (its twin, which gives the CPU model's logits and so
// tests this path on any machine). Behind the same model.h interface as the CPU model.
//
//   auto ops = backend::OpenCudaOps(0);                        // or backend::NewCpuOps()
//   auto model = LoadDeviceModel("m.gguf", std::move(*ops));   // weights uploaded once
//   auto session = (*model)->NewSession({.n_ctx = 2048});      // cache in device memory
//
// Sessions take full or bounded caches (device_cache.h: sinks, window, L2 eviction in batches,
// Gemma 3's sliding-window rings), kept entry for entry as the CPU model's. What it does not do
// yet (each refused with a message saying so, never silently): pinned entries and rewriting
// entries (the LCF and C2C handoffs). Requests of a batch run one after another (each step a
// single pass over the weights).
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
