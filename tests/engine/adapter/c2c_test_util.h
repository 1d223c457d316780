// Test helpers for C2C checks: the golden files' JSON and spans, one layer of a session's cache
// read token-major with keys un-rotated (what a fuser reads and writes), and a relative error
// for comparing with torch.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/adapter/c2c_align.h"
#include "engine/cache/kv_cache.h"
#include "engine/model/model.h"
#include "kernels/rope.h"

namespace cachewire::adapter::testing {

inline nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// [[begin, end], ...] as written by tools/train/c2c_align.py.
inline std::vector<TokenSpan> Spans(const nlohmann::json& j) {
  std::vector<TokenSpan> out;
  for (const auto& s : j) out.push_back({s[0].get<int64_t>(), s[1].get<int64_t>()});
  return out;
}

// Largest |a - b| relative to the largest |b|.
inline double RelErr(const float* a, const float* b, size_t n) {
  double err = 0, scale = 1e-12;
  for (size_t i = 0; i < n; ++i) {
    err = std::max(err, double(std::fabs(a[i] - b[i])));
    scale = std::max(scale, double(std::fabs(b[i])));
  }
  return err / scale;
}

// Layer il of a session whose kv-heads hold the same entries, token-major, keys un-rotated.
struct PlainLayer {
  std::vector<float> k;         // (n, n_head_kv, head_dim_k)
  std::vector<float> v;         // (n, n_head_kv, head_dim_v)
  std::vector<int64_t> tokens;  // (n) the token each row came from (-1: pinned)
};

inline PlainLayer ReadLayer(const model::Model& m, const model::Session& session, int64_t il) {
  const model::HParams& hp = m.hparams();
  const cache::KvCache* c = session.kv_cache();
  EXPECT_NE(c, nullptr);
  const int64_t H = hp.n_head_kv, dk = hp.head_dim_k, dv = hp.head_dim_v;
  const int64_t n = c->View(il, 0).n;
  PlainLayer out{std::vector<float>(static_cast<size_t>(n * H * dk)),
                 std::vector<float>(static_cast<size_t>(n * H * dv)),
                 std::vector<int64_t>(static_cast<size_t>(n))};
  std::vector<int32_t> back(static_cast<size_t>(n));  // minus each position: rotating un-rotates
  for (int64_t h = 0; h < H; ++h) {
    const cache::KvHeadView view = c->View(il, h);
    EXPECT_EQ(view.n, n);
    for (int64_t e = 0; e < n; ++e) {
      std::copy_n(view.k + e * view.k_stride, dk, out.k.data() + (e * H + h) * dk);
      std::copy_n(view.v + e * view.v_stride, dv, out.v.data() + (e * H + h) * dv);
      back[static_cast<size_t>(e)] = -view.pos[e];
      out.tokens[static_cast<size_t>(e)] = view.token == nullptr ? e : view.token[e];
    }
  }
  kernels::RopeTable table;
  EXPECT_TRUE(kernels::BuildRopeTable(m.LayerRope(il), back, &table).ok());
  EXPECT_TRUE(kernels::ApplyRope(table, out.k.data(), n, H, dk).ok());
  return out;
}

}  // namespace cachewire::adapter::testing
