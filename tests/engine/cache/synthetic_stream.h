// Test support for the bounded cache: synthetic un-rotated keys and values per (token, layer,
// head), a RoPE written here in double (independent of kernels/rope.cc), a driver that streams
// tokens through any KvCache the way the forward pass does, and the check that every stored key
// equals the reference rotation of its original key at the entry's position.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "engine/cache/bounded_kv_cache.h"
#include "engine/cache/kv_cache.h"
#include "kernels/rope.h"

namespace cachewire::cache::testing {

// A deterministic value in [-1, 1) from integers.
inline float Hash(int64_t a, int64_t b, int64_t c, int64_t d) {
  uint64_t x = static_cast<uint64_t>(a) * 0x9E3779B97F4A7C15ull ^
               static_cast<uint64_t>(b + 1) * 0xC2B2AE3D27D4EB4Full ^
               static_cast<uint64_t>(c + 7) * 0x165667B19E3779F9ull ^
               static_cast<uint64_t>(d + 3) * 0x27D4EB2F165667C5ull;
  x ^= x >> 31;
  x *= 0x94D049BB133111EBull;
  x ^= x >> 29;
  return static_cast<float>(static_cast<double>(x >> 11) / static_cast<double>(1ull << 53)) * 2.0f -
         1.0f;
}

// Scale of token t's key in (layer il, head h): spread over [0.5, 2.5) so that norms differ.
inline float KeyScale(int64_t t, int64_t il, int64_t h) { return 1.5f + Hash(t, il, h, 99); }
inline float KeyAt(int64_t t, int64_t il, int64_t h, int64_t i) {
  return KeyScale(t, il, h) * Hash(t, il, h, i);
}
inline float ValueAt(int64_t t, int64_t il, int64_t h, int64_t i) {
  return Hash(t, il, h, 1000 + i);
}

// x (head_dim) rotated for position `pos` with `p`, in double.
inline std::vector<double> RefRope(const kernels::RopeParams& p, const float* x, int64_t head_dim,
                                   double pos) {
  std::vector<double> y(x, x + head_dim);
  for (int64_t i = 0; i < p.n_rot / 2; ++i) {
    double theta = pos * p.freq_scale * std::pow(double{p.freq_base}, -2.0 * i / p.n_rot);
    if (p.freq_factors != nullptr) theta /= p.freq_factors[i];
    const int64_t a = p.layout == kernels::RopeLayout::kNorm ? 2 * i : i;
    const int64_t b = p.layout == kernels::RopeLayout::kNorm ? 2 * i + 1 : i + p.n_rot / 2;
    y[a] = x[a] * std::cos(theta) - x[b] * std::sin(theta);
    y[b] = x[a] * std::sin(theta) + x[b] * std::cos(theta);
  }
  return y;
}

// Streams tokens through a cache as the forward pass does: positions from NextPosition, keys
// rotated (by RefRope) for them. Pins given to Pin() are remembered for CheckEntries.
class Streamer {
 public:
  Streamer(KvCache* cache, std::vector<kernels::RopeParams> rope)
      : cache_(cache), rope_(std::move(rope)), shape_(cache->shape()) {}

  // One step of n tokens (the next token indices); asserts every call succeeds.
  void Step(int64_t n) {
    ASSERT_TRUE(cache_->BeginStep(n).ok());
    const int64_t t0 = cache_->n_past(), n_kv = shape_.n_head_kv;
    const int64_t dk = shape_.head_dim_k, dv = shape_.head_dim_v;
    for (int64_t il = 0; il < shape_.n_layer; ++il) {
      std::vector<int32_t> pos;
      std::vector<float> k, v;  // (n, n_kv, dk), (n, n_kv, dv)
      for (int64_t t = 0; t < n; ++t) {
        pos.push_back(cache_->NextPosition(il) + static_cast<int32_t>(t));
        for (int64_t h = 0; h < n_kv; ++h) {
          std::vector<float> raw;
          for (int64_t i = 0; i < dk; ++i) raw.push_back(KeyAt(t0 + t, il, h, i));
          for (double x : RefRope(rope_[il], raw.data(), dk, pos.back())) k.push_back(float(x));
          for (int64_t i = 0; i < dv; ++i) v.push_back(ValueAt(t0 + t, il, h, i));
        }
      }
      ASSERT_TRUE(cache_->Append(il, pos, k.data(), v.data()).ok()) << "layer " << il;
    }
    ASSERT_TRUE(cache_->Commit().ok());
  }

  // Pins n_pinned entries with un-rotated keys PinKey(m, il, h, i) (remembered for checks).
  absl::Status Pin(int64_t n_pinned) {
    const int64_t n_kv = shape_.n_head_kv;
    pin_k_.assign(static_cast<size_t>(shape_.n_layer), {});
    pin_v_.assign(static_cast<size_t>(shape_.n_layer), {});
    std::vector<PinnedKv> layers;
    for (int64_t il = 0; il < shape_.n_layer; ++il) {
      for (int64_t m = 0; m < n_pinned; ++m) {
        for (int64_t h = 0; h < n_kv; ++h) {
          for (int64_t i = 0; i < shape_.head_dim_k; ++i) {
            pin_k_[il].push_back(PinKey(m, il, h, i, pin_round_));
          }
          for (int64_t i = 0; i < shape_.head_dim_v; ++i) pin_v_[il].push_back(-1.0f - m - i);
        }
      }
      layers.push_back({pin_k_[il].data(), pin_v_[il].data()});
    }
    absl::Status s = cache_->Pin(n_pinned, layers);
    if (s.ok()) {
      n_pinned_ = n_pinned;
      pin_round_in_cache_ = pin_round_;
    }
    ++pin_round_;
    return s;
  }

  // Every entry of every (layer, head): the stored key equals the reference rotation of its
  // original (token's or pin's) un-rotated key at the entry's position, values are the
  // originals. Returns the largest key error seen.
  double CheckEntries(double tol) const {
    double worst = 0;
    for (int64_t il = 0; il < shape_.n_layer; ++il) {
      for (int64_t h = 0; h < shape_.n_head_kv; ++h) {
        const KvHeadView view = cache_->View(il, h);
        int64_t m = 0;  // pins seen so far in this head
        for (int64_t j = 0; j < view.n; ++j) {
          const int64_t tok = view.token[j];
          std::vector<float> raw;
          for (int64_t i = 0; i < shape_.head_dim_k; ++i) {
            raw.push_back(tok >= 0 ? KeyAt(tok, il, h, i)
                                   : PinKey(m, il, h, i, pin_round_in_cache_));
          }
          const std::vector<double> want =
              RefRope(rope_[il], raw.data(), shape_.head_dim_k, view.pos[j]);
          for (int64_t i = 0; i < shape_.head_dim_k; ++i) {
            const double err = std::fabs(view.k[j * view.k_stride + i] - want[i]);
            worst = std::max(worst, err);
            EXPECT_LE(err, tol) << "layer " << il << " head " << h << " slot " << j << " token "
                                << tok << " dim " << i;
            if (err > tol) return worst;
          }
          for (int64_t i = 0; i < shape_.head_dim_v && tok >= 0; ++i) {
            EXPECT_EQ(view.v[j * view.v_stride + i], ValueAt(tok, il, h, i));
          }
          if (tok < 0) ++m;
        }
        EXPECT_EQ(m, n_pinned_);  // every layer holds the pins (a ring beside its entries)
      }
    }
    return worst;
  }

  static float PinKey(int64_t m, int64_t il, int64_t h, int64_t i, int64_t round) {
    return 0.1f * Hash(m + 1000 * round, il, h, 5000 + i);
  }
  int64_t n_pinned() const { return n_pinned_; }
  const std::vector<kernels::RopeParams>& rope() const { return rope_; }

 private:
  KvCache* cache_;
  std::vector<kernels::RopeParams> rope_;  // (n_layer)
  KvCacheShape shape_;
  std::vector<std::vector<float>> pin_k_, pin_v_;
  int64_t n_pinned_ = 0;
  int64_t pin_round_ = 0, pin_round_in_cache_ = 0;
};

}  // namespace cachewire::cache::testing
