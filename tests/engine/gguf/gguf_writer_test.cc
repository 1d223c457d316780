// Writer round trip: what the C++ Writer writes (to disk and to memory), the C++ reader reads
// back unchanged; lazy tensors stream the right bytes; the writer refuses inconsistent input.
#include "engine/gguf/gguf_writer.h"

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/gguf/gguf_file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cachewire::gguf {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(GgufWriter, RoundTripThroughDisk) {
  for (uint32_t version : {2u, 3u}) {
    Writer w(Writer::Params{.version = version, .alignment = 128});
    ASSERT_TRUE(w.Set("general.architecture", OwnedValue::Str("qwen2")).ok());
    ASSERT_TRUE(w.Set("qwen2.block_count", OwnedValue::U32(24)).ok());
    ASSERT_TRUE(w.Set("qwen2.rope.freq_base", OwnedValue::F32(1e6f)).ok());
    ASSERT_TRUE(w.Set("deep", OwnedValue::Arr(ValueType::kArray,
                                              {OwnedValue::Arr(ValueType::kArray,
                                                               {OwnedValue::StrArr({"q"})})}))
                    .ok());
    std::vector<uint8_t> q6(210 * 2);
    for (size_t i = 0; i < q6.size(); ++i) q6[i] = static_cast<uint8_t>(i * 7);
    ASSERT_TRUE(w.AddTensor("blk.0.ffn_down.weight", TensorType::kQ6_K, {256, 2}, q6).ok());
    ASSERT_TRUE(w.AddTensorLazy("big", TensorType::kBF16, {4096, 3},
                                [](uint64_t offset, std::span<uint8_t> out) {
                                  for (size_t i = 0; i < out.size(); ++i) {
                                    out[i] = static_cast<uint8_t>((offset + i) % 251);
                                  }
                                })
                    .ok());
    ASSERT_TRUE(w.AddTensorLazy("zeros", TensorType::kF32, {5}, nullptr).ok());

    const std::string path =
        ::testing::TempDir() + "/writer_roundtrip_v" + std::to_string(version) + ".gguf";
    ASSERT_TRUE(w.WriteFile(path).ok());
    absl::StatusOr<std::vector<uint8_t>> mem = w.ToBytes();
    ASSERT_TRUE(mem.ok());
    EXPECT_EQ(mem->size(), std::filesystem::file_size(path));

    absl::StatusOr<std::unique_ptr<File>> f = File::Open(path);
    ASSERT_TRUE(f.ok()) << f.status();
    EXPECT_EQ((*f)->version(), version);
    EXPECT_EQ((*f)->alignment(), 128u);
    EXPECT_EQ(*(*f)->GetString("general.architecture"), "qwen2");
    EXPECT_EQ(*(*f)->GetUint("qwen2.block_count"), 24u);
    EXPECT_EQ(*(*f)->GetFloat("qwen2.rope.freq_base"), 1e6);
    const Array& d0 = std::get<Array>((*f)->Find("deep")->data);
    const Array& d1 = std::get<Array>(d0.nested.at(0).data);
    const Array& d2 = std::get<Array>(d1.nested.at(0).data);
    EXPECT_EQ(d2.elem_type, ValueType::kString);
    EXPECT_EQ(std::get<std::string_view>(d2.Item(0).data), "q");

    const TensorInfo* t = (*f)->FindTensor("blk.0.ffn_down.weight");
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->type, TensorType::kQ6_K);
    EXPECT_EQ(std::vector<uint8_t>(t->data, t->data + t->n_bytes), q6);
    const TensorInfo* big = (*f)->FindTensor("big");
    ASSERT_NE(big, nullptr);
    EXPECT_EQ(big->offset, 512u);  // 420 bytes of Q6_K rounded up to 128
    EXPECT_EQ(big->n_bytes, 4096u * 3 * 2);
    bool lazy_ok = true;
    for (size_t i = 0; i < big->n_bytes; ++i) lazy_ok &= big->data[i] == i % 251;
    EXPECT_TRUE(lazy_ok);
    const TensorInfo* zeros = (*f)->FindTensor("zeros");
    ASSERT_NE(zeros, nullptr);
    EXPECT_THAT(std::vector<uint8_t>(zeros->data, zeros->data + 20), ::testing::Each(0));
    std::filesystem::remove(path);
  }
}

TEST(GgufWriter, ExplicitAlignmentKeyIsKept) {
  Writer w(Writer::Params{.alignment = 64});
  ASSERT_TRUE(w.Set("general.alignment", OwnedValue::U32(64)).ok());
  absl::StatusOr<std::vector<uint8_t>> bytes = w.ToBytes();
  ASSERT_TRUE(bytes.ok());
  absl::StatusOr<std::unique_ptr<File>> f = File::FromBuffer("a.gguf", *bytes);
  ASSERT_TRUE(f.ok()) << f.status();  // not written twice (that would be a duplicate key)
  EXPECT_EQ((*f)->metadata().size(), 1u);
  EXPECT_EQ((*f)->alignment(), 64u);

  Writer mismatch(Writer::Params{.alignment = 64});
  ASSERT_TRUE(mismatch.Set("general.alignment", OwnedValue::U32(32)).ok());
  EXPECT_THAT(std::string(mismatch.ToBytes().status().message()),
              HasSubstr("general.alignment must be a u32 equal to Params::alignment (64)"));
}

TEST(GgufWriter, RejectsInconsistentInput) {
  Writer w;
  ASSERT_TRUE(w.Set("k", OwnedValue::U8(1)).ok());
  EXPECT_THAT(std::string(w.Set("k", OwnedValue::U8(2)).message()), HasSubstr("duplicate key 'k'"));
  OwnedValue mixed = OwnedValue::Arr(ValueType::kInt32, {OwnedValue::I32(1), OwnedValue::U8(2)});
  EXPECT_THAT(std::string(w.Set("mixed", mixed).message()),
              HasSubstr("holds data of another type"));
  OwnedValue lying{ValueType::kString, ValueType::kUint8, uint64_t{3}};
  EXPECT_FALSE(w.Set("lying", lying).ok());

  EXPECT_THAT(w.AddTensor("q", TensorType::kQ4_K, {100}, std::vector<uint8_t>(144)).message(),
              HasSubstr("row length 100 is not a whole number of Q4_K blocks"));
  EXPECT_THAT(w.AddTensor("f", TensorType::kF32, {4}, std::vector<uint8_t>(15)).message(),
              HasSubstr("data has 15 bytes, shape needs 16"));
  ASSERT_TRUE(w.AddTensor("f", TensorType::kF32, {4}, std::vector<uint8_t>(16)).ok());
  EXPECT_THAT(w.AddTensor("f", TensorType::kF32, {4}, std::vector<uint8_t>(16)).message(),
              HasSubstr("duplicate tensor name"));
  EXPECT_FALSE(w.AddTensor("g", TensorType::kF32, {1, 1, 1, 1, 1}, std::vector<uint8_t>(4)).ok());
  EXPECT_FALSE(w.AddTensor("h", static_cast<TensorType>(3), {32}, std::vector<uint8_t>(20)).ok());
  // The failed adds left nothing behind: the file has exactly one tensor at offset 0.
  absl::StatusOr<std::vector<uint8_t>> bytes = w.ToBytes();
  ASSERT_TRUE(bytes.ok());
  absl::StatusOr<std::unique_ptr<File>> f = File::FromBuffer("w.gguf", *bytes);
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ((*f)->tensors().size(), 1u);
  EXPECT_EQ((*f)->tensors()[0].offset, 0u);

  Writer bad_version(Writer::Params{.version = 1});
  EXPECT_THAT(std::string(bad_version.ToBytes().status().message()),
              HasSubstr("version 1 unsupported"));
  Writer bad_align(Writer::Params{.alignment = 24});
  EXPECT_THAT(std::string(bad_align.ToBytes().status().message()), HasSubstr("alignment 24"));
  EXPECT_FALSE(w.WriteFile("/nonexistent-dir/x.gguf").ok());
}

// Writes tests/engine/gguf/cpp_written.gguf under the build dir for gguf_python_reads_cpp
// (check_cpp_written.py reads it with the independent Python reader; keep the two in sync).
TEST(GgufWriter, WritesSampleForPythonReader) {
  Writer w(Writer::Params{.version = 3, .alignment = 64});
  ASSERT_TRUE(w.Set("general.architecture", OwnedValue::Str("llama")).ok());
  ASSERT_TRUE(w.Set("u8", OwnedValue::U8(250)).ok());
  ASSERT_TRUE(w.Set("i16", OwnedValue::I16(-300)).ok());
  ASSERT_TRUE(w.Set("u64", OwnedValue::U64(1ull << 40)).ok());
  ASSERT_TRUE(w.Set("f32", OwnedValue::F32(0.25f)).ok());
  ASSERT_TRUE(w.Set("f64", OwnedValue::F64(-1.5)).ok());
  ASSERT_TRUE(w.Set("bool", OwnedValue::Bool(true)).ok());
  ASSERT_TRUE(w.Set("strs", OwnedValue::StrArr({"a", "", "\xc3\xa9"})).ok());
  ASSERT_TRUE(w.Set("empty", OwnedValue::Arr(ValueType::kFloat32, {})).ok());
  ASSERT_TRUE(w.Set("nested", OwnedValue::Arr(ValueType::kArray,
                                              {OwnedValue::I32Arr({1, -2}),
                                               OwnedValue::Arr(ValueType::kInt32, {})}))
                  .ok());
  std::vector<uint8_t> q(144 * 2);
  for (size_t i = 0; i < q.size(); ++i) q[i] = static_cast<uint8_t>(i * 13);
  ASSERT_TRUE(w.AddTensor("q", TensorType::kQ4_K, {256, 2}, q).ok());
  std::vector<uint8_t> f(4 * 3);
  const float vals[3] = {1.0f, -2.5f, 1e-3f};
  std::memcpy(f.data(), vals, sizeof(vals));
  ASSERT_TRUE(w.AddTensor("f", TensorType::kF32, {3}, f).ok());
  const std::string dir = std::string(CACHEWIRE_BINARY_DIR) + "/tests/engine/gguf";
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(w.WriteFile(dir + "/cpp_written.gguf").ok());
}

}  // namespace
}  // namespace cachewire::gguf
