// LoadDeviceModel and the model behind it (device_model.h): request checks as the CPU model's,
// sessions with a full cache in backend memory, one forward step per request.
#include "engine/model/device_model.h"

#include <cmath>
#include <limits>
#include <mutex>

#include "engine/cache/cache_pool.h"
#include "engine/common/status_macros.h"
#include "engine/gguf/gguf_file.h"
#include "engine/gguf/str_cat.h"
#include "engine/model/device_forward.h"
#include "engine/model/forward.h"
#include "engine/model/request_checks.h"
#include "engine/tokenizer/tokenizer.h"

namespace cachewire::model {
namespace {

class DeviceModel;

class DeviceSession final : public Session {
 public:
  DeviceSession(const DeviceModel* owner, DeviceCache cache, cache::CacheReservation reservation)
      : owner_(owner), cache_(std::move(cache)), reservation_(std::move(reservation)) {}
  int64_t n_past() const override { return cache_.n_past; }
  int64_t n_ctx() const override { return cache_.n_ctx; }
  size_t cache_bytes() const override { return cache_.bytes; }
  void Clear() override { cache_.n_past = 0; }
  absl::Status Pin(int64_t, std::span<const cache::PinnedKv>) override {
    return absl::UnimplementedError(
        "session: pinned entries (LCF imports) are not on the device backend yet");
  }
  absl::Status Overwrite(std::span<const cache::EntryOverwrite>) override {
    return absl::UnimplementedError(
        "session: rewriting entries (C2C fusion) is not on the device backend yet");
  }

  const DeviceModel* owner() const { return owner_; }
  DeviceCache& cache() { return cache_; }

 private:
  const DeviceModel* owner_;
  DeviceCache cache_;
  cache::CacheReservation reservation_;  // the cache's bytes in the worker's pool, if any
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

  absl::StatusOr<std::unique_ptr<Session>> NewSession(const SessionParams& params) override {
    const int64_t n_ctx = params.n_ctx == 0 ? hp_.n_ctx_train : params.n_ctx;
    if (n_ctx <= 0 || n_ctx > std::numeric_limits<int32_t>::max()) {
      return absl::InvalidArgumentError(
          gguf::Cat("n_ctx: must be in [1, 2^31) after defaults, got ", n_ctx));
    }
    CW_RETURN_IF_ERROR(params.cache.Validate());
    if (params.cache.bounded) {
      return absl::UnimplementedError(gguf::Cat("cache policy: bounded caches are not on the ",
                                                ops_->name(),
                                                " backend yet (run the worker with --device cpu)"));
    }
    const size_t per_layer = static_cast<size_t>(hp_.n_head_kv * n_ctx) *
                             static_cast<size_t>(hp_.head_dim_k + hp_.head_dim_v) * sizeof(float);
    cache::CacheReservation reservation;
    if (params.pool != nullptr) {
      CW_ASSIGN_OR_RETURN(reservation,
                          params.pool->Reserve(per_layer * static_cast<size_t>(hp_.n_layer)));
    }
    std::lock_guard<std::mutex> lock(mu_);
    DeviceCache c;
    c.n_ctx = n_ctx;
    for (int64_t il = 0; il < hp_.n_layer; ++il) {
      const size_t k_bytes = static_cast<size_t>(hp_.n_head_kv * n_ctx * hp_.head_dim_k) * 4;
      CW_ASSIGN_OR_RETURN(backend::Buffer k, ops_->Alloc(k_bytes));
      CW_ASSIGN_OR_RETURN(backend::Buffer v, ops_->Alloc(per_layer - k_bytes));
      c.k.push_back(std::move(k));
      c.v.push_back(std::move(v));
    }
    c.bytes = per_layer * static_cast<size_t>(hp_.n_layer);
    return std::unique_ptr<Session>(new DeviceSession(this, std::move(c), std::move(reservation)));
  }

  absl::Status ForwardBatch(std::span<ForwardRequest> requests) override {
    std::lock_guard<std::mutex> lock(mu_);
    CW_RETURN_IF_ERROR(Check(requests));
    for (ForwardRequest& r : requests) {
      r.logits->clear();
      auto& session = static_cast<DeviceSession&>(*r.session);
      const DeviceStep step{r.tokens, r.embeddings, Rows(r), r.all_logits, r.logits};
      if (absl::Status s = DeviceForwardStep(*ops_, hp_, w_, scratch_, session.cache(), step);
          !s.ok()) {
        r.logits->clear();
        return s;
      }
    }
    return absl::OkStatus();
  }

 private:
  int64_t Rows(const ForwardRequest& r) const { return RequestRows(r, hp_.n_embd); }
  absl::Status Check(std::span<ForwardRequest> requests) const;

  std::unique_ptr<gguf::File> file_;
  HParams hp_;
  std::unique_ptr<tokenizer::Tokenizer> tok_;
  Weights host_w_;  // views into file_; LayerRope's factors and nothing else
  std::unique_ptr<backend::Ops> ops_;
  DeviceWeights w_;
  std::mutex mu_;  // one forward (or session creation) at a time: ops_ and scratch_ are shared
  DeviceScratch scratch_;
};

absl::Status DeviceModel::Check(std::span<ForwardRequest> requests) const {
  return CheckForwardRequests(
      requests, hp_,
      [this](Session* s) {
        auto* device = dynamic_cast<DeviceSession*>(s);
        return device != nullptr && device->owner() == this;
      },
      [](Session& s) { return s.n_ctx() - s.n_past(); });
}

}  // namespace

absl::StatusOr<std::unique_ptr<Model>> LoadDeviceModel(const std::string& path,
                                                       std::unique_ptr<backend::Ops> ops) {
  if (ops == nullptr) return absl::InvalidArgumentError("ops: null backend");
  CW_ASSIGN_OR_RETURN(std::unique_ptr<gguf::File> file, gguf::File::Open(path));
  CW_ASSIGN_OR_RETURN(HParams hp, LoadHParams(*file));
  CW_ASSIGN_OR_RETURN(Weights host_w, LoadWeights(*file, hp));
  absl::StatusOr<std::unique_ptr<tokenizer::Tokenizer>> tok = tokenizer::Tokenizer::FromGguf(*file);
  if (!tok.ok()) {
    return absl::Status(tok.status().code(),
                        gguf::Cat(path, ": tokenizer: ", tok.status().message()));
  }
  absl::StatusOr<DeviceWeights> w = UploadWeights(host_w, hp, *ops);
  if (!w.ok()) {
    return absl::Status(w.status().code(), gguf::Cat(path, ": uploading weights to ", ops->name(),
                                                     ": ", w.status().message()));
  }
  return std::unique_ptr<Model>(new DeviceModel(std::move(file), hp, std::move(*tok),
                                                std::move(host_w), std::move(ops), std::move(*w)));
}

}  // namespace cachewire::model
