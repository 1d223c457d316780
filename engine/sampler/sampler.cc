// Sampling filters over one row of logits; see sampler.h for the order and the why.
#include "engine/sampler/sampler.h"

#include <algorithm>
#include <cmath>
#include <unordered_set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace cachewire::sampler {
namespace {

absl::Status CheckParams(const SamplerParams& p) {
  if (!std::isfinite(p.temperature) || p.temperature < 0.0f) {
    return absl::InvalidArgumentError(
        absl::StrCat("temperature: must be finite and >= 0, got ", p.temperature));
  }
  if (p.top_k < 0) {
    return absl::InvalidArgumentError(absl::StrCat("top_k: must be >= 0, got ", p.top_k));
  }
  if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) {
    return absl::InvalidArgumentError(absl::StrCat("top_p: must be in (0, 1], got ", p.top_p));
  }
  if (!(p.min_p >= 0.0f && p.min_p < 1.0f)) {
    return absl::InvalidArgumentError(absl::StrCat("min_p: must be in [0, 1), got ", p.min_p));
  }
  if (!std::isfinite(p.repetition_penalty) || p.repetition_penalty <= 0.0f) {
    return absl::InvalidArgumentError(absl::StrCat(
        "repetition_penalty: must be finite and > 0, got ", p.repetition_penalty));
  }
  if (p.repetition_window < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("repetition_window: must be >= 0, got ", p.repetition_window));
  }
  return absl::OkStatus();
}

// CTRL-style penalty: shrink positive logits, push negative ones further down, so a repeated
// token always loses probability whatever the sign of its logit.
void ApplyRepetitionPenalty(const SamplerParams& p, std::span<const int32_t> history,
                            std::vector<float>& logits) {
  if (p.repetition_penalty == 1.0f || p.repetition_window == 0) return;
  const size_t n = std::min<size_t>(history.size(), static_cast<size_t>(p.repetition_window));
  std::unordered_set<int32_t> seen(history.end() - static_cast<std::ptrdiff_t>(n), history.end());
  for (int32_t id : seen) {
    if (id < 0 || static_cast<size_t>(id) >= logits.size()) continue;
    float& l = logits[static_cast<size_t>(id)];
    l = l > 0.0f ? l / p.repetition_penalty : l * p.repetition_penalty;
  }
}

}  // namespace

absl::StatusOr<Sampler> Sampler::Create(const SamplerParams& params) {
  if (absl::Status s = CheckParams(params); !s.ok()) return s;
  return Sampler(params);
}

absl::StatusOr<std::vector<Candidate>> Sampler::Distribution(
    std::span<const float> logits_in, std::span<const int32_t> history) const {
  if (logits_in.empty()) return absl::InvalidArgumentError("logits: empty");
  std::vector<float> logits(logits_in.begin(), logits_in.end());
  for (size_t i = 0; i < logits.size(); ++i) {
    if (std::isnan(logits[i])) {
      return absl::InvalidArgumentError(absl::StrCat("logits: NaN at token ", i));
    }
  }
  ApplyRepetitionPenalty(params_, history, logits);

  std::vector<int32_t> order(logits.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
  auto by_logit = [&](int32_t a, int32_t b) {
    return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)] ||
           (logits[static_cast<size_t>(a)] == logits[static_cast<size_t>(b)] && a < b);
  };
  if (params_.temperature == 0.0f) {  // greedy: a point mass on the argmax (lowest id on ties)
    return std::vector<Candidate>{{*std::min_element(order.begin(), order.end(), by_logit), 1.0f}};
  }
  size_t keep = order.size();
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < keep) {
    keep = static_cast<size_t>(params_.top_k);
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(keep),
                      order.end(), by_logit);
  } else {
    std::sort(order.begin(), order.end(), by_logit);
  }
  order.resize(keep);

  // Softmax over the survivors at the given temperature, in double for stable sums.
  const double max_logit = logits[static_cast<size_t>(order[0])];
  std::vector<double> probs(keep);
  double total = 0.0;
  for (size_t i = 0; i < keep; ++i) {
    probs[i] = std::exp((logits[static_cast<size_t>(order[i])] - max_logit) / params_.temperature);
    total += probs[i];
  }
  for (double& p : probs) p /= total;

  // top-p: the smallest prefix whose mass reaches top_p; min-p: relative to the top token.
  size_t cut = keep;
  if (params_.top_p < 1.0f) {
    double mass = 0.0;
    for (size_t i = 0; i < keep; ++i) {
      mass += probs[i];
      if (mass >= params_.top_p) {
        cut = i + 1;
        break;
      }
    }
  }
  if (params_.min_p > 0.0f) {
    const double floor = params_.min_p * probs[0];
    size_t i = 1;
    while (i < cut && probs[i] >= floor) ++i;
    cut = i;
  }
  double kept_mass = 0.0;
  for (size_t i = 0; i < cut; ++i) kept_mass += probs[i];
  std::vector<Candidate> out(cut);
  for (size_t i = 0; i < cut; ++i) {
    out[i] = {order[i], static_cast<float>(probs[i] / kept_mass)};
  }
  return out;
}

absl::StatusOr<int32_t> Sampler::Sample(std::span<const float> logits,
                                        std::span<const int32_t> history) {
  absl::StatusOr<std::vector<Candidate>> dist = Distribution(logits, history);
  if (!dist.ok()) return dist.status();
  if (dist->size() == 1) return (*dist)[0].id;
  // Inverse-CDF draw; the last candidate absorbs rounding so a draw never falls off the end.
  const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  double acc = 0.0;
  for (const Candidate& c : *dist) {
    acc += c.p;
    if (u < acc) return c.id;
  }
  return dist->back().id;
}

}  // namespace cachewire::sampler
