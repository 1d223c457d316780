// LoadHParams: architecture-specific defaults and checks over GGUF metadata (see hparams.h).
#include "engine/model/hparams.h"

#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/common/status_macros.h"

namespace cachewire::model {
namespace {

// Reads `<arch>.<suffix>` as a positive integer; required unless a fallback is given.
class KeyReader {
 public:
  KeyReader(const gguf::File& file, std::string_view arch) : file_(file), arch_(arch) {}

  std::string Key(std::string_view suffix) const {
    return std::string(arch_) + "." + std::string(suffix);
  }

  absl::StatusOr<int64_t> Int(std::string_view suffix, int64_t fallback = -1) const {
    const std::string key = Key(suffix);
    if (file_.Find(key) == nullptr) {
      if (fallback >= 0) return fallback;
      return Error(key, "missing required key");
    }
    absl::StatusOr<uint64_t> v = file_.GetUint(key);
    if (!v.ok()) return Error(key, std::string(v.status().message()));
    if (*v == 0 || *v > (uint64_t{1} << 40)) return Error(key, absl::StrCat("out of range: ", *v));
    return static_cast<int64_t>(*v);
  }

  absl::StatusOr<float> Float(std::string_view suffix, float fallback) const {
    const std::string key = Key(suffix);
    if (file_.Find(key) == nullptr) return fallback;
    absl::StatusOr<double> v = file_.GetFloat(key);
    if (!v.ok()) return Error(key, std::string(v.status().message()));
    if (!std::isfinite(*v) || *v <= 0) return Error(key, absl::StrCat("must be > 0, got ", *v));
    return static_cast<float>(*v);
  }

  absl::Status Error(std::string_view key, std::string_view what) const {
    return absl::InvalidArgumentError(file_.path() + ": " + std::string(key) + ": " + std::string(what));
  }

 private:
  const gguf::File& file_;
  std::string_view arch_;
};

}  // namespace

const char* ArchName(Arch arch) { return arch == Arch::kLlama ? "llama" : "gemma3"; }

absl::StatusOr<HParams> LoadHParams(const gguf::File& file) {
  absl::StatusOr<std::string_view> arch_name = file.GetString("general.architecture");
  if (!arch_name.ok()) {
    return absl::InvalidArgumentError(
        file.path() + ": general.architecture: " + std::string(arch_name.status().message()));
  }
  HParams hp;
  if (*arch_name == "llama") {
    hp.arch = Arch::kLlama;
  } else if (*arch_name == "gemma3") {
    hp.arch = Arch::kGemma3;
  } else {
    return absl::InvalidArgumentError(file.path() + ": general.architecture: unsupported '" +
                                      std::string(*arch_name) + "' (llama, gemma3)");
  }
  const std::string arch_prefix(*arch_name);
  const KeyReader r(file, arch_prefix);
  CW_ASSIGN_OR_RETURN(hp.n_embd, r.Int("embedding_length"));
  CW_ASSIGN_OR_RETURN(hp.n_layer, r.Int("block_count"));
  CW_ASSIGN_OR_RETURN(hp.n_ff, r.Int("feed_forward_length"));
  CW_ASSIGN_OR_RETURN(hp.n_head, r.Int("attention.head_count"));
  CW_ASSIGN_OR_RETURN(hp.n_head_kv, r.Int("attention.head_count_kv", hp.n_head));
  CW_ASSIGN_OR_RETURN(hp.n_ctx_train, r.Int("context_length", 2048));
  if (hp.n_head % hp.n_head_kv != 0) {
    return r.Error(r.Key("attention.head_count_kv"),
                   absl::StrCat(hp.n_head_kv, " does not divide head_count ", hp.n_head));
  }
  CW_ASSIGN_OR_RETURN(hp.head_dim_k, r.Int("attention.key_length", hp.n_embd / hp.n_head));
  CW_ASSIGN_OR_RETURN(hp.head_dim_v, r.Int("attention.value_length", hp.head_dim_k));
  CW_ASSIGN_OR_RETURN(hp.n_rot, r.Int("rope.dimension_count", hp.head_dim_k));
  if (hp.n_rot > hp.head_dim_k || hp.n_rot % 2 != 0) {
    return r.Error(r.Key("rope.dimension_count"),
                   absl::StrCat(hp.n_rot, " must be even and <= key_length ", hp.head_dim_k));
  }
  CW_ASSIGN_OR_RETURN(hp.rms_eps, r.Float("attention.layer_norm_rms_epsilon",
                                hp.arch == Arch::kGemma3 ? 1e-6f : 1e-5f));
  CW_ASSIGN_OR_RETURN(hp.rope_freq_base, r.Float("rope.freq_base", 10000.0f));
  float rope_factor = 1.0f;
  CW_ASSIGN_OR_RETURN(rope_factor, r.Float("rope.scaling.factor", 1.0f));
  // Only linear scaling is implemented (Llama 3's lives in rope_freqs.weight); any other type
  // would silently change every angle, so it is refused.
  if (file.Find(r.Key("rope.scaling.type")) != nullptr) {
    absl::StatusOr<std::string_view> type = file.GetString(r.Key("rope.scaling.type"));
    if (!type.ok()) return r.Error(r.Key("rope.scaling.type"), std::string(type.status().message()));
    if (*type == "none") {
      rope_factor = 1.0f;
    } else if (*type != "linear") {
      return r.Error(r.Key("rope.scaling.type"),
                     "unsupported '" + std::string(*type) + "' (none, linear)");
    }
  }
  hp.rope_freq_scale = 1.0f / rope_factor;
  hp.attn_scale = 1.0f / std::sqrt(static_cast<float>(hp.head_dim_k));

  if (hp.arch == Arch::kGemma3) {
    // Gemma 3 always rotates halves, scales embeddings, ties the output, and interleaves five
    // local layers (RoPE base 10k) with one global layer.
    hp.rope_neox = true;
    hp.embed_scale_sqrt = true;
    // No window key (or 0) means every layer is global, as llama.cpp reads such files.
    if (file.Find(r.Key("attention.sliding_window")) != nullptr &&
        file.GetUint(r.Key("attention.sliding_window")).value_or(1) != 0) {
      CW_ASSIGN_OR_RETURN(hp.sliding_window, r.Int("attention.sliding_window"));
    }
    CW_ASSIGN_OR_RETURN(hp.swa_period, r.Int("attention.sliding_window_pattern", 6));
    CW_ASSIGN_OR_RETURN(hp.rope_freq_base_local, r.Float("rope.freq_base_swa", 10000.0f));
  }

  // Tensor shapes must agree with the metadata: the embedding fixes the vocabulary size.
  const gguf::TensorInfo* embd = file.FindTensor("token_embd.weight");
  if (embd == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(file.path(), ": token_embd.weight: missing tensor"));
  }
  if (embd->shape.size() != 2 || embd->shape[0] != hp.n_embd) {
    return absl::InvalidArgumentError(absl::StrCat(
        file.path(), ": token_embd.weight: shape does not match ", r.Key("embedding_length"),
        " = ", hp.n_embd));
  }
  hp.n_vocab = embd->shape[1];
  if (file.Find(r.Key("vocab_size")) != nullptr) {
    int64_t declared = 0;
    CW_ASSIGN_OR_RETURN(declared, r.Int("vocab_size"));
    if (declared != hp.n_vocab) {
      return r.Error(r.Key("vocab_size"), absl::StrCat(declared, " disagrees with token_embd.weight rows ", hp.n_vocab));
    }
  }
  hp.tied_output = file.FindTensor("output.weight") == nullptr;
  hp.has_rope_freq_factors = file.FindTensor("rope_freqs.weight") != nullptr;
  return hp;
}

}  // namespace cachewire::model
