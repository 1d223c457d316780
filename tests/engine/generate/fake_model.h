// A Model whose logits are scripted per forward call, for testing the generation loop without a
// forward pass. It carries a real tokenizer: the byte-level BPE vocabulary of the tiny golden
// Llama model (320 tokens: bytes, a few merges, <|begin_of_text|> 317, <|end_of_text|> 318).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/gguf/gguf_file.h"
#include "engine/model/model.h"
#include "engine/tokenizer/tokenizer.h"

namespace cachewire::generate::testing {

class FakeSession : public model::Session {
 public:
  explicit FakeSession(int64_t n_ctx) : n_ctx_(n_ctx) {}
  int64_t n_past() const override { return static_cast<int64_t>(tokens.size()); }
  int64_t n_ctx() const override { return n_ctx_; }
  size_t cache_bytes() const override { return 0; }
  void Clear() override { tokens.clear(); }

  std::vector<int32_t> tokens;  // everything forwarded so far

 private:
  int64_t n_ctx_;
};

class FakeModel : public model::Model {
 public:
  static std::unique_ptr<FakeModel> Create() {
    auto model = std::unique_ptr<FakeModel>(new FakeModel());
    auto file = gguf::File::Open(std::string(CACHEWIRE_SOURCE_DIR) +
                                 "/tests/engine/model/golden/tiny-llama-mha-f32.gguf");
    if (!file.ok()) return nullptr;
    model->file_ = std::move(*file);
    auto tok = tokenizer::Tokenizer::FromGguf(*model->file_);
    if (!tok.ok()) return nullptr;
    model->tok_ = std::move(*tok);
    model->hparams_.n_vocab = model->tok_->n_tokens();
    return model;
  }

  // Forward call i (0 = the prefill) makes script[i] the most likely token by a wide margin;
  // past the script, `filler`. With flat = true every token but EOS is equally likely instead.
  std::vector<int32_t> script;
  int32_t filler = 'x' - 33;  // byte-level id of "x" (GPT-2 byte map: '!' is id 0)
  bool flat = false;
  std::vector<std::vector<int32_t>> calls;  // the tokens of each forward call

  std::vector<int32_t> Ids(const std::string& text) const {
    return tok_->Encode(text, {.add_bos = false, .parse_special = false});
  }

  const model::HParams& hparams() const override { return hparams_; }
  const tokenizer::Tokenizer& tokenizer() const override { return *tok_; }
  const gguf::File& file() const override { return *file_; }
  kernels::RopeParams LayerRope(int64_t) const override { return {}; }
  absl::StatusOr<std::unique_ptr<model::Session>> NewSession(
      const model::SessionParams& params) override {
    return std::make_unique<FakeSession>(params.n_ctx > 0 ? params.n_ctx : 64);
  }

  absl::Status ForwardBatch(std::span<model::ForwardRequest> requests) override {
    for (model::ForwardRequest& r : requests) {
      auto* session = static_cast<FakeSession*>(r.session);
      if (r.tokens.empty()) return absl::InvalidArgumentError("tokens: empty");
      if (session->n_past() + static_cast<int64_t>(r.tokens.size()) > session->n_ctx()) {
        return absl::ResourceExhaustedError("context full");
      }
      session->tokens.insert(session->tokens.end(), r.tokens.begin(), r.tokens.end());
      const size_t step = calls.size();
      calls.emplace_back(r.tokens.begin(), r.tokens.end());
      r.logits->assign(static_cast<size_t>(hparams_.n_vocab), 0.0f);
      if (flat) {
        (*r.logits)[static_cast<size_t>(tok_->eos())] = -100.0f;
      } else {
        (*r.logits)[static_cast<size_t>(step < script.size() ? script[step] : filler)] = 20.0f;
      }
    }
    return absl::OkStatus();
  }

 private:
  FakeModel() = default;
  model::HParams hparams_;
  std::unique_ptr<gguf::File> file_;
  std::unique_ptr<tokenizer::Tokenizer> tok_;
};

}  // namespace cachewire::generate::testing
