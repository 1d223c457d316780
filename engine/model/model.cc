// Model::Load and the CPU model behind model.h: the GGUF mapping, hyperparameters, tokenizer,
// weight views, the thread pool, sessions with a full or bounded cache, and ForwardBatch
// (checks, steps no larger than each cache takes, batch layout, the architecture's layers,
// cache commit or rollback).
#include "engine/model/model.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>

#include "engine/cache/bounded_kv_cache.h"
#include "engine/common/status_macros.h"
#include "engine/gguf/gguf_file.h"
#include "engine/gguf/str_cat.h"
#include "engine/backend/cpu/cpu_ops.h"
#include "engine/backend/cuda_ops.h"
#include "engine/model/device_model.h"
#include "engine/model/forward.h"
#include "engine/model/model_file.h"
#include "engine/model/request_checks.h"
#include "engine/tokenizer/tokenizer.h"

namespace cachewire::model {
namespace {

using backend::cpu::ThreadPool;

class CpuModel;

class CpuSession final : public Session {
 public:
  CpuSession(const CpuModel* owner, std::unique_ptr<cache::KvCache> cache)
      : owner_(owner), cache_(std::move(cache)) {}
  int64_t n_past() const override { return cache_->n_past(); }
  int64_t n_ctx() const override { return cache_->shape().n_ctx; }
  size_t cache_bytes() const override { return cache_->bytes(); }
  void Clear() override { cache_->Clear(); }
  cache::CacheStats cache_stats() const override { return cache_->Stats(); }
  absl::Status Pin(int64_t n_pinned, std::span<const cache::PinnedKv> layers) override {
    return cache_->Pin(n_pinned, layers);
  }

  absl::Status Overwrite(std::span<const cache::EntryOverwrite> entries) override {
    return cache_->Overwrite(entries);
  }
  const cache::KvCache* kv_cache() const override { return cache_.get(); }

  const CpuModel* owner() const { return owner_; }
  cache::KvCache& cache() { return *cache_; }

 private:
  const CpuModel* owner_;
  std::unique_ptr<cache::KvCache> cache_;
};

class CpuModel final : public Model {
 public:
  CpuModel(std::unique_ptr<gguf::File> file, HParams hp,
           std::unique_ptr<tokenizer::Tokenizer> tok, Weights weights, int n_threads)
      : file_(std::move(file)), hp_(hp), tok_(std::move(tok)), w_(std::move(weights)),
        pool_(n_threads) {}

  const HParams& hparams() const override { return hp_; }
  const tokenizer::Tokenizer& tokenizer() const override { return *tok_; }
  const gguf::File& file() const override { return *file_; }
  kernels::RopeParams LayerRope(int64_t il) const override { return LayerRopeParams(hp_, w_, il); }

  absl::StatusOr<std::unique_ptr<Session>> NewSession(const SessionParams& params) override {
    CW_ASSIGN_OR_RETURN(const int64_t n_ctx, CheckSessionParams(hp_, params));
    const cache::KvCacheShape shape{.n_layer = hp_.n_layer,
                                    .n_head_kv = hp_.n_head_kv,
                                    .head_dim_k = hp_.head_dim_k,
                                    .head_dim_v = hp_.head_dim_v,
                                    .n_ctx = n_ctx};
    if (!params.cache.bounded) {
      CW_ASSIGN_OR_RETURN(std::unique_ptr<cache::KvCache> kv,
                          cache::NewFullKvCache(shape, params.pool));
      return std::unique_ptr<Session>(new CpuSession(this, std::move(kv)));
    }
    cache::BoundedKvCacheParams bp{.shape = shape, .policy = params.cache, .pool = params.pool};
    for (int64_t il = 0; il < hp_.n_layer; ++il) {
      bp.layers.push_back({.rope = LayerRopeParams(hp_, w_, il),
                           .sliding_window = hp_.IsLocalLayer(il) ? hp_.sliding_window : 0});
    }
    CW_ASSIGN_OR_RETURN(std::unique_ptr<cache::KvCache> kv, cache::NewBoundedKvCache(bp));
    return std::unique_ptr<Session>(new CpuSession(this, std::move(kv)));
  }

  absl::Status ForwardBatch(std::span<ForwardRequest> requests) override;

 private:
  absl::Status Check(std::span<ForwardRequest> requests) const;
  int64_t Rows(const ForwardRequest& r) const { return RequestRows(r, hp_.n_embd); }
  // One pass over every request's next step (`done` tokens already run; at most what each
  // cache takes in one step); advances done.
  absl::Status RunStep(std::span<ForwardRequest> requests, std::vector<int64_t>& done);

  std::unique_ptr<gguf::File> file_;
  HParams hp_;
  std::unique_ptr<tokenizer::Tokenizer> tok_;
  Weights w_;
  ThreadPool pool_;
  std::mutex mu_;  // one forward at a time (the pool and scratch are shared)
  ForwardScratch scratch_;
  std::vector<BatchSegment> segments_;
  std::vector<size_t> segment_request_;  // (n_segments) the request each segment runs
  std::vector<int64_t> done_;  // (n_requests) tokens of each request already run
};

absl::Status CpuModel::Check(std::span<ForwardRequest> requests) const {
  return CheckForwardRequests(
      requests, hp_,
      [this](Session* s) {
        auto* cpu = dynamic_cast<CpuSession*>(s);
        return cpu != nullptr && cpu->owner() == this;
      },
      [](Session& s) { return static_cast<CpuSession&>(s).cache().Room(); });
}

absl::Status CpuModel::ForwardBatch(std::span<ForwardRequest> requests) {
  std::lock_guard<std::mutex> lock(mu_);
  CW_RETURN_IF_ERROR(Check(requests));
  for (ForwardRequest& r : requests) r.logits->clear();
  done_.assign(requests.size(), 0);
  // Usually one step; a bounded cache takes at most its slack per step.
  while (RowsLeft(requests, done_, hp_.n_embd)) CW_RETURN_IF_ERROR(RunStep(requests, done_));
  return absl::OkStatus();
}

absl::Status CpuModel::RunStep(std::span<ForwardRequest> requests, std::vector<int64_t>& done) {
  // Lay the requests' next steps out as row segments and open a step in each cache.
  segments_.clear();
  segment_request_.clear();
  int64_t n_rows = 0, n_out_rows = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    ForwardRequest& r = requests[i];
    auto& session = static_cast<CpuSession&>(*r.session);
    const int64_t n = std::min(Rows(r) - done[i], session.cache().MaxStepTokens());
    if (n <= 0) continue;
    segments_.push_back({&session.cache(), n_rows, n, r.all_logits, r.logits});
    segment_request_.push_back(i);
    n_rows += n;
    n_out_rows += r.all_logits ? n : 1;
  }
  scratch_.Reserve(hp_, n_rows, n_out_rows);
  for (size_t j = 0; j < segments_.size(); ++j) {
    const BatchSegment& seg = segments_[j];
    const size_t i = segment_request_[j];
    if (requests[i].embeddings.empty()) {
      std::copy_n(requests[i].tokens.begin() + done[i], seg.n_rows,
                  scratch_.tokens.begin() + seg.row_begin);
    } else {  // looked up as token 0, then overwritten below
      std::fill_n(scratch_.tokens.begin() + seg.row_begin, seg.n_rows, 0);
    }
    done[i] += seg.n_rows;
  }
  absl::Status status;
  size_t opened = 0;
  for (; opened < segments_.size() && status.ok(); ++opened) {
    status = segments_[opened].cache->BeginStep(segments_[opened].n_rows);
    if (!status.ok()) break;
  }
  if (status.ok()) {
    ForwardContext ctx{hp_, w_, &pool_, scratch_, segments_, n_rows};
    const float scale = hp_.embed_scale_sqrt ? std::sqrt(static_cast<float>(hp_.n_embd)) : 1.0f;
    status = Embed(ctx, scale);
    for (size_t j = 0; j < segments_.size() && status.ok(); ++j) {
      const ForwardRequest& r = requests[segment_request_[j]];
      if (r.embeddings.empty()) continue;
      const BatchSegment& seg = segments_[j];
      const int64_t first = done[segment_request_[j]] - seg.n_rows;  // this step's first row of r
      const float* src = r.embeddings.data() + first * hp_.n_embd;
      float* dst = scratch_.x.data() + seg.row_begin * hp_.n_embd;
      for (int64_t k = 0; k < seg.n_rows * hp_.n_embd; ++k) dst[k] = src[k] * scale;
    }
    if (status.ok()) status = hp_.arch == Arch::kGemma3 ? Gemma3Layers(ctx) : LlamaLayers(ctx);
    if (status.ok()) status = OutputLogits(ctx);
  }
  for (size_t i = 0; i < opened; ++i) {
    if (status.ok()) {
      status = segments_[i].cache->Commit();
    }
    if (!status.ok()) segments_[i].cache->Rollback();
  }
  return status;
}

}  // namespace

absl::StatusOr<Device> ParseDevice(std::string_view name) {
  if (name == "cpu") return Device::kCpu;
  if (name == "cuda") return Device::kCuda;
  if (name == "auto") return Device::kAuto;
  if (name == "cpu-twin") return Device::kCpuTwin;
  return absl::InvalidArgumentError(
      gguf::Cat("device: \"", name, "\" is not cpu, cuda, auto or cpu-twin"));
}

absl::StatusOr<std::unique_ptr<Model>> Model::Load(const std::string& path,
                                                   const ModelParams& params) {
  if (params.n_threads < 0) {
    return absl::InvalidArgumentError(gguf::Cat("n_threads: must be >= 0, got ", params.n_threads));
  }
  if (params.device == Device::kCpuTwin) {
    return LoadDeviceModel(path, backend::NewCpuOps(params.n_threads));
  }
  if (params.device != Device::kCpu) {
    absl::StatusOr<std::unique_ptr<backend::Ops>> ops = backend::OpenCudaOps(params.cuda_ordinal);
    if (ops.ok()) return LoadDeviceModel(path, std::move(*ops));
    if (params.device == Device::kCuda) {
      return absl::Status(ops.status().code(), gguf::Cat("device cuda: ", ops.status().message()));
    }
  }
  CW_ASSIGN_OR_RETURN(ModelFile m, OpenModelFile(path));
  return std::unique_ptr<Model>(new CpuModel(std::move(m.file), m.hp, std::move(m.tokenizer),
                                             std::move(m.weights), params.n_threads));
}

}  // namespace cachewire::model
