// Damaged adapter files, for each adapter kind (LCF adapter, C2C fuser): thousands of mutations
// of a valid image (bytes flipped, runs overwritten with extreme values, truncations) must each
// load or fail with a message naming the file, never crash or hang (run under the sanitizer
// build to catch out-of-bounds reads). A mutant that loads must still compute on its declared
// sizes. The GGUF layer itself is fuzzed by tests/fuzz; this covers what the adapter loaders add
// on top (shapes, identities, counts, layer maps).
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "engine/adapter/c2c_fuser.h"
#include "engine/adapter/lcf_adapter.h"

namespace cachewire::adapter {
namespace {

std::vector<uint8_t> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Loads `bytes` as the adapter kind under test; on success, runs it once on its declared sizes.
using LoadAndRun = absl::Status (*)(const std::vector<uint8_t>& bytes);

absl::Status LoadAndRunLcf(const std::vector<uint8_t>& bytes) {
  auto a = LcfAdapter::FromBuffer("mutant.gguf", bytes);
  if (!a.ok()) return a.status();
  std::vector<float> slots(static_cast<size_t>((*a)->n_slots() * (*a)->slot_dim()), 0.5f);
  EXPECT_TRUE((*a)->Decode(slots).ok());
  return absl::OkStatus();
}

absl::Status LoadAndRunC2c(const std::vector<uint8_t>& bytes) {
  auto f = C2cFuser::FromBuffer("mutant.gguf", bytes);
  if (!f.ok()) return f.status();
  const ModelIdentity& r = (*f)->receiver();
  const ModelIdentity& s = (*f)->sharer();
  std::vector<float> rk(r.n_head_kv * r.head_dim_k, 0.5f), rv(r.n_head_kv * r.head_dim_v, 0.5f);
  std::vector<float> sk(s.n_head_kv * s.head_dim_k, 0.5f), sv(s.n_head_kv * s.head_dim_v, 0.5f);
  EXPECT_TRUE((*f)->FuseLayer(0, {rk, rv, sk, sv}).ok());
  return absl::OkStatus();
}

struct Kind {
  const char* file;
  LoadAndRun load;
};

class AdapterMutation : public ::testing::TestWithParam<Kind> {};

TEST_P(AdapterMutation, DamagedImagesFailCleanly) {
  const std::vector<uint8_t> good =
      ReadAll(std::string(CACHEWIRE_SOURCE_DIR) + "/tests/data/adapters/" + GetParam().file);
  ASSERT_GT(good.size(), 1000u);
  ASSERT_TRUE(GetParam().load(good).ok());
  std::mt19937 rng(7);
  // Most of a GGUF is tensor data; damage concentrates on the header and metadata, where the
  // loader's checks are, half of the time.
  const size_t header = std::min<size_t>(good.size(), 4096);
  int loaded = 0, refused = 0;
  for (int i = 0; i < 3000; ++i) {
    std::vector<uint8_t> bytes = good;
    const int kind = i % 3;
    const size_t span = (i % 2 == 0) ? header : bytes.size();
    if (kind == 0) {
      for (int j = 0; j < 1 + i % 8; ++j) bytes[rng() % span] ^= static_cast<uint8_t>(1u << (rng() % 8));
    } else if (kind == 1) {  // a run of 0x00 or 0xff (huge counts, zero sizes)
      const size_t at = rng() % span;
      for (size_t j = at; j < std::min(bytes.size(), at + 1 + rng() % 8); ++j) bytes[j] = (i & 4) ? 0xff : 0x00;
    } else {
      bytes.resize(rng() % bytes.size());
    }
    SCOPED_TRACE(::testing::Message() << "mutation " << i);
    const absl::Status status = GetParam().load(bytes);
    if (status.ok()) {
      ++loaded;
    } else {
      ++refused;
      EXPECT_NE(status.message().find("mutant.gguf"), std::string::npos) << status;
    }
  }
  EXPECT_GT(refused, 1000);  // the damage was seen
  EXPECT_GT(loaded, 0);      // and data-only damage still loads
}

INSTANTIATE_TEST_SUITE_P(BothKinds, AdapterMutation,
                         ::testing::Values(Kind{"cw-llama--cw-gemma3.random.lcf.gguf", LoadAndRunLcf},
                                           Kind{"cw-llama--cw-gemma3.random.c2c.gguf", LoadAndRunC2c}));

}  // namespace
}  // namespace cachewire::adapter
