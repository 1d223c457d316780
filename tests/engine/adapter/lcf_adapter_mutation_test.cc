// Damaged adapter files: thousands of mutations of a valid adapter image (bytes flipped, runs
// overwritten with extreme values, truncations) must each load or fail with a message, never
// crash or hang (run under the sanitizer build to catch out-of-bounds reads). A valid load must
// also encode-decode without error on its declared sizes. The GGUF layer itself is fuzzed by
// tests/fuzz; this covers what the adapter loader adds on top (shapes, identities, sizes).
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "engine/adapter/lcf_adapter.h"

namespace cachewire::adapter {
namespace {

std::vector<uint8_t> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(LcfAdapterMutation, DamagedImagesFailCleanly) {
  const std::vector<uint8_t> good = ReadAll(std::string(CACHEWIRE_SOURCE_DIR) +
                                            "/tests/data/adapters/cw-llama--cw-gemma3.random.lcf.gguf");
  ASSERT_GT(good.size(), 1000u);
  ASSERT_TRUE(LcfAdapter::FromBuffer("good.gguf", good).ok());
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
    auto a = LcfAdapter::FromBuffer("mutant.gguf", bytes);
    if (a.ok()) {
      ++loaded;
      std::vector<float> slots(static_cast<size_t>((*a)->n_slots() * (*a)->slot_dim()), 0.5f);
      EXPECT_TRUE((*a)->Decode(slots).ok());
    } else {
      ++refused;
      EXPECT_FALSE(a.status().message().empty());
      EXPECT_NE(a.status().message().find("mutant.gguf"), std::string::npos) << a.status();
    }
  }
  EXPECT_GT(refused, 1000);  // the damage was seen
  EXPECT_GT(loaded, 0);      // and data-only damage still loads
}

}  // namespace
}  // namespace cachewire::adapter
