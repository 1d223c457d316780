// Cross-implementation check: GGUF files written by the independent Python writer
// (tools/gguf/gguf_io.py via tools/reference/make_gguf_fixtures.py) must read back in C++ exactly
// as <fixture>.expected.json describes: version, alignment, every key with its type and value
// (nested and empty arrays included), every tensor's type, shape, offset, size, bytes (FNV-1a)
// and the first dequantised values of its first row.
#include <cmath>
#include <fstream>
#include <string>

#include "engine/gguf/dequantize.h"
#include "engine/gguf/gguf_file.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace cachewire::gguf {
namespace {

using nlohmann::json;

const std::string kDataDir = std::string(CACHEWIRE_SOURCE_DIR) + "/tests/engine/gguf/data/";

uint64_t Fnv1a64(const uint8_t* p, size_t n) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001B3ull;
  return h;
}

// Compares one reader Value against its JSON description; `where` names the key for messages.
void ExpectValue(const Value& v, const json& want, const std::string& where) {
  ASSERT_EQ(std::string(ValueTypeName(v.type)), want.at("type").get<std::string>()) << where;
  switch (v.type) {
    case ValueType::kUint8:
    case ValueType::kUint16:
    case ValueType::kUint32:
      EXPECT_EQ(std::get<uint64_t>(v.data), want.at("value").get<uint64_t>()) << where;
      break;
    case ValueType::kUint64:
      EXPECT_EQ(std::get<uint64_t>(v.data), std::stoull(want.at("value").get<std::string>()))
          << where;
      break;
    case ValueType::kInt8:
    case ValueType::kInt16:
    case ValueType::kInt32:
      EXPECT_EQ(std::get<int64_t>(v.data), want.at("value").get<int64_t>()) << where;
      break;
    case ValueType::kInt64:
      EXPECT_EQ(std::get<int64_t>(v.data), std::stoll(want.at("value").get<std::string>()))
          << where;
      break;
    case ValueType::kFloat32:
    case ValueType::kFloat64:
      EXPECT_EQ(std::get<double>(v.data), want.at("value").get<double>()) << where;
      break;
    case ValueType::kBool:
      EXPECT_EQ(std::get<bool>(v.data), want.at("value").get<bool>()) << where;
      break;
    case ValueType::kString:
      EXPECT_EQ(std::get<std::string_view>(v.data), want.at("value").get<std::string>()) << where;
      break;
    case ValueType::kArray: {
      const Array& a = std::get<Array>(v.data);
      EXPECT_EQ(std::string(ValueTypeName(a.elem_type)), want.at("elem").get<std::string>())
          << where;
      const json& items = want.at("items");
      const std::vector<Value> got = a.Items();
      ASSERT_EQ(got.size(), items.size()) << where;
      ASSERT_EQ(a.size(), items.size()) << where;
      for (size_t i = 0; i < got.size(); ++i) {
        ExpectValue(got[i], items[i], where + "[" + std::to_string(i) + "]");
        ExpectValue(a.Item(i), items[i], where + "[" + std::to_string(i) + "] by index");
      }
      break;
    }
  }
}

class FixtureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(FixtureTest, MatchesPythonDescription) {
  const std::string path = kDataDir + GetParam() + ".gguf";
  std::ifstream in(kDataDir + GetParam() + ".expected.json");
  ASSERT_TRUE(in.good());
  const json want = json::parse(in);

  absl::StatusOr<std::unique_ptr<File>> opened = File::Open(path);
  ASSERT_TRUE(opened.ok()) << opened.status();
  const File& f = **opened;
  EXPECT_EQ(f.version(), want.at("version").get<uint32_t>());
  EXPECT_EQ(f.alignment(), want.at("alignment").get<size_t>());
  EXPECT_EQ(f.size_bytes(), want.at("size").get<size_t>());

  const json& meta = want.at("metadata");
  ASSERT_EQ(f.metadata().size(), meta.size());
  for (size_t i = 0; i < meta.size(); ++i) {  // file order is preserved
    const std::string key = meta[i].at("key").get<std::string>();
    EXPECT_EQ(f.metadata()[i].key, key);
    const Value* v = f.Find(key);
    ASSERT_NE(v, nullptr) << key;
    ExpectValue(*v, meta[i], key);
  }

  const json& tensors = want.at("tensors");
  ASSERT_EQ(f.tensors().size(), tensors.size());
  for (const json& wt : tensors) {
    const std::string name = wt.at("name").get<std::string>();
    const TensorInfo* t = f.FindTensor(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(std::string(TensorTypeName(t->type)), wt.at("type").get<std::string>()) << name;
    EXPECT_EQ(t->shape, wt.at("shape").get<std::vector<int64_t>>()) << name;
    EXPECT_EQ(t->offset, wt.at("offset").get<uint64_t>()) << name;
    EXPECT_EQ(t->offset % f.alignment(), 0u) << name;
    EXPECT_EQ(t->n_bytes, wt.at("n_bytes").get<size_t>()) << name;
    EXPECT_EQ(Fnv1a64(t->data, t->n_bytes), std::stoull(wt.at("fnv1a64").get<std::string>()))
        << name;
    std::vector<float> row(static_cast<size_t>(t->shape[0]));
    ASSERT_TRUE(DequantizeRow(t->type, t->data, row.data(), t->shape[0]).ok()) << name;
    const std::vector<float> head = wt.at("first_row_head").get<std::vector<float>>();
    for (size_t i = 0; i < head.size(); ++i) {
      EXPECT_NEAR(row[i], head[i], 1e-6f * std::max(1.0f, std::fabs(head[i])))
          << name << "[" << i << "]";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(PythonWritten, FixtureTest, ::testing::Values("fixture_v3", "fixture_v2"));

TEST(Fixture, TypedGettersOnPythonFile) {
  absl::StatusOr<std::unique_ptr<File>> f = File::Open(kDataDir + "fixture_v3.gguf");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(*(*f)->GetString("general.architecture"), "llama");
  EXPECT_EQ(*(*f)->GetUint("llama.block_count"), 2u);
  EXPECT_EQ(*(*f)->GetUint("general.alignment"), 64u);
  EXPECT_EQ((*f)->GetStringArray("tokenizer.ggml.tokens")->size(), 6u);
  EXPECT_EQ((*f)->GetIntArray("tokenizer.ggml.token_type")->at(5), 3);
  EXPECT_TRUE(*(*f)->GetBool("tokenizer.ggml.add_bos_token"));
  EXPECT_FALSE(*(*f)->GetBool("test.bool_false"));
  EXPECT_EQ(*(*f)->GetUint("test.u64"), UINT64_MAX);
  EXPECT_EQ(*(*f)->GetInt("test.i64"), INT64_MIN);
}

}  // namespace
}  // namespace cachewire::gguf
