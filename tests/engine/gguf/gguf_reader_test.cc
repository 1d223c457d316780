// File reader: typed getters and their errors, nested/empty arrays, alignment, versions, and
// Open() over a real mapping. Inputs are built with the C++ Writer (the Python-written fixtures
// are checked in gguf_fixture_test.cc, the broken corpus in gguf_broken_test.cc).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "engine/gguf/gguf_file.h"
#include "engine/gguf/gguf_writer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cachewire::gguf {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::unique_ptr<File> Parse(const Writer& w, std::string name = "mem.gguf") {
  absl::StatusOr<std::vector<uint8_t>> bytes = w.ToBytes();
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  absl::StatusOr<std::unique_ptr<File>> f = File::FromBuffer(std::move(name), *bytes);
  EXPECT_TRUE(f.ok()) << f.status();
  return f.ok() ? *std::move(f) : nullptr;
}

Writer MetadataWriter() {
  Writer w;
  EXPECT_TRUE(w.Set("general.architecture", OwnedValue::Str("llama")).ok());
  EXPECT_TRUE(w.Set("u8", OwnedValue::U8(200)).ok());
  EXPECT_TRUE(w.Set("i8", OwnedValue::I8(-5)).ok());
  EXPECT_TRUE(w.Set("u16", OwnedValue::U16(60000)).ok());
  EXPECT_TRUE(w.Set("i16", OwnedValue::I16(-30000)).ok());
  EXPECT_TRUE(w.Set("u32", OwnedValue::U32(4000000000u)).ok());
  EXPECT_TRUE(w.Set("i32", OwnedValue::I32(-2000000000)).ok());
  EXPECT_TRUE(w.Set("u64", OwnedValue::U64(UINT64_MAX)).ok());
  EXPECT_TRUE(w.Set("i64", OwnedValue::I64(INT64_MIN)).ok());
  EXPECT_TRUE(w.Set("f32", OwnedValue::F32(0.1f)).ok());
  EXPECT_TRUE(w.Set("f64", OwnedValue::F64(0.1)).ok());
  EXPECT_TRUE(w.Set("bool", OwnedValue::Bool(true)).ok());
  EXPECT_TRUE(w.Set("str", OwnedValue::Str(std::string("a\0b", 3))).ok());
  EXPECT_TRUE(w.Set("strs", OwnedValue::StrArr({"x", "", "yz"})).ok());
  EXPECT_TRUE(w.Set("f32s", OwnedValue::F32Arr({1.5f, -2.0f})).ok());
  EXPECT_TRUE(w.Set("i32s", OwnedValue::I32Arr({-1, 0, 7})).ok());
  EXPECT_TRUE(w.Set("u64s", OwnedValue::Arr(ValueType::kUint64,
                                            {OwnedValue::U64(1), OwnedValue::U64(UINT64_MAX)}))
                  .ok());
  EXPECT_TRUE(w.Set("empty_strs", OwnedValue::Arr(ValueType::kString, {})).ok());
  EXPECT_TRUE(
      w.Set("nested", OwnedValue::Arr(ValueType::kArray, {OwnedValue::I32Arr({1, 2}),
                                                          OwnedValue::Arr(ValueType::kInt32, {})}))
          .ok());
  return w;
}

TEST(GgufReader, ScalarGetters) {
  std::unique_ptr<File> f = Parse(MetadataWriter());
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->alignment(), 32u);
  EXPECT_EQ(*f->GetString("general.architecture"), "llama");
  EXPECT_EQ(*f->GetUint("u8"), 200u);
  EXPECT_EQ(*f->GetInt("i8"), -5);
  EXPECT_EQ(*f->GetUint("u16"), 60000u);
  EXPECT_EQ(*f->GetInt("i16"), -30000);
  EXPECT_EQ(*f->GetUint("u32"), 4000000000u);
  EXPECT_EQ(*f->GetInt("u32"), 4000000000);  // unsigned converts to int64 when in range
  EXPECT_EQ(*f->GetInt("i32"), -2000000000);
  EXPECT_EQ(*f->GetUint("u64"), UINT64_MAX);
  EXPECT_EQ(*f->GetInt("i64"), INT64_MIN);
  EXPECT_EQ(*f->GetFloat("f32"), static_cast<double>(0.1f));
  EXPECT_EQ(*f->GetFloat("f64"), 0.1);
  EXPECT_EQ(*f->GetFloat("i8"), -5.0);  // any numeric type reads as float
  EXPECT_EQ(*f->GetFloat("u64"), static_cast<double>(UINT64_MAX));
  EXPECT_TRUE(*f->GetBool("bool"));
  EXPECT_EQ(*f->GetString("str"), std::string_view("a\0b", 3));  // strings are not C strings
  EXPECT_EQ(f->Find("u8")->type, ValueType::kUint8);
  EXPECT_EQ(f->Find("missing"), nullptr);
}

TEST(GgufReader, ArrayGetters) {
  std::unique_ptr<File> f = Parse(MetadataWriter());
  ASSERT_NE(f, nullptr);
  EXPECT_THAT(*f->GetStringArray("strs"), ElementsAre("x", "", "yz"));
  EXPECT_THAT(*f->GetFloatArray("f32s"), ElementsAre(1.5f, -2.0f));
  EXPECT_THAT(*f->GetFloatArray("i32s"), ElementsAre(-1.0f, 0.0f, 7.0f));
  EXPECT_THAT(*f->GetIntArray("i32s"), ElementsAre(-1, 0, 7));
  EXPECT_TRUE(f->GetStringArray("empty_strs")->empty());
  const Value* nested = f->Find("nested");
  ASSERT_NE(nested, nullptr);
  const Array& outer = std::get<Array>(nested->data);
  EXPECT_EQ(outer.elem_type, ValueType::kArray);
  ASSERT_EQ(outer.nested.size(), 2u);
  const Array& first = std::get<Array>(outer.nested[0].data);
  EXPECT_EQ(first.elem_type, ValueType::kInt32);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(std::get<int64_t>(first.Item(1).data), 2);
  const Array& empty = std::get<Array>(outer.nested[1].data);
  EXPECT_EQ(empty.elem_type, ValueType::kInt32);  // empty arrays still say what they hold
  EXPECT_TRUE(empty.empty());
}

TEST(GgufReader, GetterErrorsNameFileKeyAndProblem) {
  std::unique_ptr<File> f = Parse(MetadataWriter(), "model-x.gguf");
  ASSERT_NE(f, nullptr);
  absl::StatusOr<std::string_view> missing = f->GetString("nope");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()),
              HasSubstr("model-x.gguf: metadata key 'nope' not found"));

  const auto expect_invalid = [](const absl::Status& s, std::string_view substr) {
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr("model-x.gguf: metadata key '"));
    EXPECT_THAT(std::string(s.message()), HasSubstr(substr));
  };
  expect_invalid(f->GetString("u8").status(), "'u8': expected string, found u8");
  expect_invalid(f->GetUint("i8").status(), "'i8': value -5 does not fit in an unsigned integer");
  expect_invalid(f->GetInt("u64").status(), "'u64': value 18446744073709551615 does not fit");
  expect_invalid(f->GetUint("str").status(), "'str': expected an integer, found string");
  expect_invalid(f->GetUint("f32").status(), "expected an integer, found f32");
  expect_invalid(f->GetFloat("bool").status(), "'bool': expected a number, found bool");
  expect_invalid(f->GetBool("u8").status(), "'u8': expected bool, found u8");
  expect_invalid(f->GetStringArray("i32s").status(),
                 "expected array of string, found array of i32");
  expect_invalid(f->GetStringArray("str").status(), "expected array of string, found string");
  expect_invalid(f->GetFloatArray("strs").status(),
                 "expected array of numbers, found array of string");
  expect_invalid(f->GetFloatArray("nested").status(), "found array of array");
  expect_invalid(f->GetIntArray("f32s").status(), "expected array of integers, found array of f32");
  expect_invalid(f->GetIntArray("u64s").status(),
                 "'u64s[1]': value 18446744073709551615 does not fit");
}

TEST(GgufReader, TensorsAlignmentAndData) {
  Writer w(Writer::Params{.version = 2, .alignment = 256});
  std::vector<uint8_t> a(4 * 6), b(18 * 2);
  for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<uint8_t>(i);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<uint8_t>(100 + i);
  ASSERT_TRUE(w.AddTensor("a", TensorType::kF32, {3, 2}, a).ok());
  ASSERT_TRUE(w.AddTensor("b", TensorType::kQ4_0, {64}, b).ok());
  std::unique_ptr<File> f = Parse(w);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->version(), 2u);
  EXPECT_EQ(f->alignment(), 256u);
  EXPECT_EQ(*f->GetUint("general.alignment"), 256u);
  ASSERT_EQ(f->tensors().size(), 2u);
  const TensorInfo* ta = f->FindTensor("a");
  const TensorInfo* tb = f->FindTensor("b");
  ASSERT_TRUE(ta != nullptr && tb != nullptr);
  EXPECT_EQ(f->FindTensor("c"), nullptr);
  EXPECT_THAT(ta->shape, ElementsAre(3, 2));
  EXPECT_EQ(ta->n_elements(), 6);
  EXPECT_EQ(ta->n_rows(), 2);
  EXPECT_EQ(ta->n_bytes, 24u);
  EXPECT_EQ(ta->offset, 0u);
  EXPECT_EQ(tb->type, TensorType::kQ4_0);
  EXPECT_EQ(tb->offset, 256u);  // next aligned offset after 24 bytes
  EXPECT_EQ(tb->n_bytes, 36u);
  EXPECT_EQ(tb->n_rows(), 1);
  // Data pointers are aligned relative to the start of the image and hold the written bytes.
  EXPECT_EQ(std::vector<uint8_t>(ta->data, ta->data + ta->n_bytes), a);
  EXPECT_EQ(std::vector<uint8_t>(tb->data, tb->data + tb->n_bytes), b);
  EXPECT_EQ(tb->data - ta->data, 256);
  EXPECT_EQ(f->size_bytes() % 256, 0u);  // the writer pads the file to the alignment
}

TEST(GgufReader, OpenMapsFileAndReportsMissingFile) {
  Writer w = MetadataWriter();
  ASSERT_TRUE(w.AddTensor("t", TensorType::kF32, {2}, std::vector<uint8_t>(8, 0x3f)).ok());
  const std::string path = ::testing::TempDir() + "/reader_open.gguf";
  ASSERT_TRUE(w.WriteFile(path).ok());
  absl::StatusOr<std::unique_ptr<File>> f = File::Open(path);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ((*f)->path(), path);
  EXPECT_EQ((*f)->size_bytes(), std::filesystem::file_size(path));
  EXPECT_EQ(*(*f)->GetString("general.architecture"), "llama");
  EXPECT_EQ((*f)->FindTensor("t")->data[7], 0x3f);
  std::filesystem::remove(path);

  absl::StatusOr<std::unique_ptr<File>> missing = File::Open(path + ".nope");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr(path + ".nope: open: "));

  absl::StatusOr<std::unique_ptr<File>> dir = File::Open(::testing::TempDir());
  EXPECT_FALSE(dir.ok());
  EXPECT_THAT(std::string(dir.status().message()), HasSubstr("not a regular file"));

  const std::string empty = ::testing::TempDir() + "/reader_empty.gguf";
  std::ofstream(empty).close();
  absl::StatusOr<std::unique_ptr<File>> e = File::Open(empty);
  EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(e.status().message()), HasSubstr(empty + ": header.magic: truncated"));
  std::filesystem::remove(empty);
}

TEST(GgufReader, EveryPrefixOfAValidFileFailsCleanly) {
  // Truncation anywhere before the end of the tensor data is an error naming the file.
  Writer w = MetadataWriter();
  ASSERT_TRUE(w.AddTensor("t", TensorType::kQ8_0, {32, 2}, std::vector<uint8_t>(68, 1)).ok());
  absl::StatusOr<std::vector<uint8_t>> bytes = w.ToBytes();
  ASSERT_TRUE(bytes.ok());
  int ok_count = 0;
  for (size_t n = 0; n <= bytes->size(); ++n) {
    absl::StatusOr<std::unique_ptr<File>> f =
        File::FromBuffer("prefix.gguf", std::span<const uint8_t>(bytes->data(), n));
    if (f.ok()) {
      ++ok_count;
    } else {
      EXPECT_THAT(std::string(f.status().message()), HasSubstr("prefix.gguf: ")) << n;
    }
  }
  // The image ends with the 68 tensor bytes padded to 96; prefixes that still hold every tensor
  // byte are valid files (trailing padding is optional), all shorter ones are errors.
  EXPECT_EQ(ok_count, 96 - 68 + 1);
}

}  // namespace
}  // namespace cachewire::gguf
