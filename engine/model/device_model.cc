// LoadDeviceModel and the model behind it (device_model.h): request checks as the CPU model's,
// sessions with a full or bounded cache in backend memory (device_cache.h), and each request
// run in steps no larger than its cache takes (one, unless a bounded cache splits it), each
// committed to the cache or rolled back like the CPU model's.
#include "engine/model/device_model.h"

#include <algorithm>
#include <cmath>
#include <mutex>

#include "engine/cache/cache_pool.h"
#include "engine/common/status_macros.h"
#include "engine/gguf/gguf_file.h"
#include "engine/gguf/str_cat.h"
#include "engine/model/device_forward.h"
#include "engine/model/device_snapshot.h"
#include "engine/model/forward.h"
#include "engine/model/model_file.h"
#include "engine/model/request_checks.h"
#include "engine/tokenizer/tokenizer.h"

namespace cachewire::model {
namespace {

class DeviceModel;

class DeviceSession final : public Session {
 public:
  DeviceSession(const DeviceModel* owner, std::unique_ptr<DeviceCache> cache,
                cache::CacheReservation reservation)
      : owner_(owner), cache_(std::move(cache)), reservation_(std::move(reservation)) {}
  int64_t n_past() const override { return cache_->n_past(); }
  int64_t n_ctx() const override { return cache_->n_ctx(); }
  size_t cache_bytes() const override { return cache_->bytes(); }
  void Clear() override { cache_->Clear(); }
  cache::CacheStats cache_stats() const override {
    cache::CacheStats s = cache_->Stats();
    s.reserved_bytes = reservation_.bytes();
    return s;
  }
  // Both edit the device cache under the model's lock (the backend is shared by its sessions).
  absl::Status Pin(int64_t n_pinned, std::span<const cache::PinnedKv> layers) override;
  absl::Status Overwrite(std::span<const cache::EntryOverwrite> entries) override;
  // A host snapshot of the device cache (device_snapshot.h), downloaded at each call: valid
  // until the next call or the next forward, Pin, Overwrite or Clear of this session. Null when
  // the download fails.
  const cache::KvCache* kv_cache() const override;

  const DeviceModel* owner() const { return owner_; }
  DeviceCache& cache() { return *cache_; }

 private:
  const DeviceModel* owner_;
  std::unique_ptr<DeviceCache> cache_;
  cache::CacheReservation reservation_;  // the cache's bytes in the worker's pool, if any
  // kv_cache() is const and hands out a pointer: the snapshot it refreshes lives here.
  mutable DeviceSnapshot snapshot_;
};

class DeviceModel final : public Model {
 public:
  DeviceModel(std::unique_ptr<gguf::File> file, HParams hp,
              std::unique_ptr<tokenizer::Tokenizer> tok, Weights host_weights,
              std::unique_ptr<backend::Ops> ops, DeviceWeights weights)
      : file_(std::move(file)),
        hp_(hp),
        tok_(std::move(tok)),
        host_w_(std::move(host_weights)),
        ops_(std::move(ops)),
        w_(std::move(weights)) {}

  const HParams& hparams() const override { return hp_; }
  const tokenizer::Tokenizer& tokenizer() const override { return *tok_; }
  const gguf::File& file() const override { return *file_; }
  kernels::RopeParams LayerRope(int64_t il) const override {
    return LayerRopeParams(hp_, host_w_, il);
  }
  std::string backend() const override { return ops_->name(); }

  absl::StatusOr<std::unique_ptr<Session>> NewSession(const SessionParams& params) override {
    CW_ASSIGN_OR_RETURN(const int64_t n_ctx, CheckSessionParams(hp_, params));
    const DeviceCacheParams cp{.n_ctx = n_ctx, .policy = params.cache, .rope = w_.rope};
    cache::CacheReservation reservation;
    if (params.pool != nullptr) {
      CW_ASSIGN_OR_RETURN(reservation, params.pool->Reserve(DeviceCache::BytesFor(hp_, cp)));
    }
    std::lock_guard<std::mutex> lock(mu_);
    CW_ASSIGN_OR_RETURN(std::unique_ptr<DeviceCache> c, DeviceCache::Create(*ops_, hp_, cp));
    return std::unique_ptr<Session>(new DeviceSession(this, std::move(c), std::move(reservation)));
  }

  std::mutex& mu() const { return mu_; }

  absl::Status ForwardBatch(std::span<ForwardRequest> requests) override {
    std::lock_guard<std::mutex> lock(mu_);
    CW_RETURN_IF_ERROR(Check(requests));
    for (ForwardRequest& r : requests) r.logits->clear();
    done_.assign(requests.size(), 0);
    // Usually one step; a bounded cache takes at most its slack per step.
    while (RowsLeft(requests, done_, hp_.n_embd)) CW_RETURN_IF_ERROR(RunStep(requests));
    return absl::OkStatus();
  }

 private:
  int64_t Rows(const ForwardRequest& r) const { return RequestRows(r, hp_.n_embd); }
  // One pass over every request's next step (at most what each cache takes); advances done_.
  absl::Status RunStep(std::span<ForwardRequest> requests);
  absl::Status Check(std::span<ForwardRequest> requests) const;

  std::unique_ptr<gguf::File> file_;
  HParams hp_;
  std::unique_ptr<tokenizer::Tokenizer> tok_;
  Weights host_w_;  // views into file_; LayerRope's factors and nothing else
  std::unique_ptr<backend::Ops> ops_;
  DeviceWeights w_;
  // One forward, session creation, snapshot or edit at a time: ops_ and scratch_ are shared.
  mutable std::mutex mu_;
  DeviceScratch scratch_;
  std::vector<DeviceStep> steps_;  // this pass's sessions
  std::vector<int64_t> done_;      // (n_requests) rows of each request already run
};

absl::Status DeviceSession::Pin(int64_t n_pinned, std::span<const cache::PinnedKv> layers) {
  std::lock_guard<std::mutex> lock(owner_->mu());
  return cache_->Pin(n_pinned, layers);
}

absl::Status DeviceSession::Overwrite(std::span<const cache::EntryOverwrite> entries) {
  std::lock_guard<std::mutex> lock(owner_->mu());
  return cache_->Overwrite(entries);
}

const cache::KvCache* DeviceSession::kv_cache() const {
  const cache::CacheStats stats = cache_stats();
  std::lock_guard<std::mutex> lock(owner_->mu());
  return snapshot_.Refresh(*cache_, stats, /*rows=*/true).ok() ? &snapshot_ : nullptr;
}

absl::Status DeviceModel::Check(std::span<ForwardRequest> requests) const {
  return CheckForwardRequests(
      requests, hp_,
      [this](Session* s) {
        auto* device = dynamic_cast<DeviceSession*>(s);
        return device != nullptr && device->owner() == this;
      },
      [](Session& s) { return static_cast<DeviceSession&>(s).cache().Room(); });
}

// Every request with rows left contributes its next step (at most what its cache takes) to one
// pass; each cache's step is committed when the pass succeeds, every one rolled back when it
// fails (a bounded cache evicts in BeginStep, between passes).
absl::Status DeviceModel::RunStep(std::span<ForwardRequest> requests) {
  const int64_t d = hp_.n_embd;
  steps_.clear();
  for (size_t i = 0; i < requests.size(); ++i) {
    ForwardRequest& r = requests[i];
    DeviceCache& cache = static_cast<DeviceSession&>(*r.session).cache();
    const int64_t n = std::min(Rows(r) - done_[i], cache.MaxStepTokens());
    if (n <= 0) continue;
    DeviceStep step{&cache, {}, {}, n, r.all_logits, r.logits};
    const auto at = static_cast<size_t>(done_[i]);
    if (r.embeddings.empty()) {
      step.tokens = r.tokens.subspan(at, static_cast<size_t>(n));
    } else {
      step.embeddings = r.embeddings.subspan(at * d, static_cast<size_t>(n * d));
    }
    steps_.push_back(step);
    done_[i] += n;
  }
  absl::Status status;
  size_t opened = 0;
  for (; opened < steps_.size() && status.ok(); ++opened) {
    status = steps_[opened].cache->BeginStep(steps_[opened].n_rows);
    if (!status.ok()) break;
  }
  if (status.ok()) status = DeviceForwardStep(*ops_, hp_, w_, scratch_, steps_);
  for (size_t i = 0; i < opened; ++i) {
    if (status.ok()) {
      steps_[i].cache->Commit();
    } else {
      steps_[i].cache->Rollback();
    }
  }
  if (!status.ok()) {
    for (ForwardRequest& r : requests) r.logits->clear();
  }
  return status;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Model>> LoadDeviceModel(const std::string& path,
                                                       std::unique_ptr<backend::Ops> ops) {
  if (ops == nullptr) return absl::InvalidArgumentError("ops: null backend");
  CW_ASSIGN_OR_RETURN(ModelFile m, OpenModelFile(path));
  absl::StatusOr<DeviceWeights> w = UploadWeights(m.weights, m.hp, *ops);
  if (!w.ok()) {
    return absl::Status(w.status().code(), gguf::Cat(path, ": uploading weights to ", ops->name(),
                                                     ": ", w.status().message()));
  }
  return std::unique_ptr<Model>(new DeviceModel(std::move(m.file), m.hp, std::move(m.tokenizer),
                                                std::move(m.weights), std::move(ops),
                                                std::move(*w)));
}

}  // namespace cachewire::model
