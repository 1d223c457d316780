// Writer: builds a GGUF (v2 or v3) in memory or streams it to disk. Tests, tools and the bench
// produce their files through it; the parser (gguf_parser.cc) reads what it writes.
// Metadata values own their data (OwnedValue), unlike File's Value which views a mapping.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/gguf/gguf_file.h"
#include "engine/gguf/tensor_type.h"

namespace cachewire::gguf {

// A metadata value built in memory. Arrays keep an element type (so empty arrays say what they
// hold) and may nest. Build with the factories: OwnedValue::U32(7), OwnedValue::Str("llama"),
// OwnedValue::Arr(ValueType::kArray, {OwnedValue::StrArr({"a"}), ...}).
struct OwnedValue {
  ValueType type = ValueType::kUint8;
  ValueType elem_type = ValueType::kUint8;  // arrays only
  std::variant<uint64_t, int64_t, double, bool, std::string, std::vector<OwnedValue>> data;

  static OwnedValue U8(uint8_t v) { return {ValueType::kUint8, ValueType::kUint8, uint64_t{v}}; }
  static OwnedValue U16(uint16_t v) { return {ValueType::kUint16, ValueType::kUint8, uint64_t{v}}; }
  static OwnedValue U32(uint32_t v) { return {ValueType::kUint32, ValueType::kUint8, uint64_t{v}}; }
  static OwnedValue U64(uint64_t v) { return {ValueType::kUint64, ValueType::kUint8, v}; }
  static OwnedValue I8(int8_t v) { return {ValueType::kInt8, ValueType::kUint8, int64_t{v}}; }
  static OwnedValue I16(int16_t v) { return {ValueType::kInt16, ValueType::kUint8, int64_t{v}}; }
  static OwnedValue I32(int32_t v) { return {ValueType::kInt32, ValueType::kUint8, int64_t{v}}; }
  static OwnedValue I64(int64_t v) { return {ValueType::kInt64, ValueType::kUint8, v}; }
  static OwnedValue F32(float v) { return {ValueType::kFloat32, ValueType::kUint8, double{v}}; }
  static OwnedValue F64(double v) { return {ValueType::kFloat64, ValueType::kUint8, v}; }
  static OwnedValue Bool(bool v) { return {ValueType::kBool, ValueType::kUint8, v}; }
  static OwnedValue Str(std::string v) {
    return {ValueType::kString, ValueType::kUint8, std::move(v)};
  }
  static OwnedValue Arr(ValueType elem_type, std::vector<OwnedValue> items) {
    return {ValueType::kArray, elem_type, std::move(items)};
  }
  static OwnedValue StrArr(const std::vector<std::string>& items);
  static OwnedValue F32Arr(const std::vector<float>& items);
  static OwnedValue I32Arr(const std::vector<int32_t>& items);
};

// Fills `out` with the tensor's bytes [offset, offset + out.size()); called in order while
// writing, so multi-GB tensors never sit in memory whole.
using TensorFiller = std::function<void(uint64_t offset, std::span<uint8_t> out)>;

class Writer {
 public:
  struct Params {
    uint32_t version = 3;     // 2 or 3 (same layout)
    uint64_t alignment = 32;  // written as general.alignment (u32) when not 32
  };
  Writer() : Writer(Params{}) {}
  explicit Writer(Params params) : params_(params) {}

  // Adds a key; InvalidArgument on a duplicate key or an array whose items do not match its
  // element type. Keys keep insertion order.
  absl::Status Set(std::string key, OwnedValue value);
  // Adds a tensor whose bytes are given now. `shape` is in ggml order (shape[0] = row length);
  // data.size() must equal the tensor's byte size.
  absl::Status AddTensor(std::string name, TensorType type, std::vector<int64_t> shape,
                         std::vector<uint8_t> data);
  // Adds a tensor whose bytes `fill` produces at write time (nullptr fills zeros).
  absl::Status AddTensorLazy(std::string name, TensorType type, std::vector<int64_t> shape,
                             TensorFiller fill);

  // The whole file image (small files: tests, fuzz seeds).
  absl::StatusOr<std::vector<uint8_t>> ToBytes() const;
  // Streams the file to `path` (truncating it).
  absl::Status WriteFile(const std::string& path) const;

 private:
  struct Tensor {
    std::string name;
    TensorType type;
    std::vector<int64_t> shape;
    uint64_t n_bytes;
    uint64_t offset;            // in the data section, aligned
    std::vector<uint8_t> data;  // when not lazy
    TensorFiller fill;          // when lazy
  };
  absl::Status Validate() const;
  // Checks a tensor's name, type and shape; Commit() then places it (no state changes before).
  absl::StatusOr<Tensor> MakeTensor(std::string name, TensorType type, std::vector<int64_t> shape);
  void Commit(Tensor t);
  // Header, metadata, tensor infos and the padding up to the data section.
  std::vector<uint8_t> Head() const;
  // Streams Head() and every tensor with padding through `sink`.
  absl::Status Emit(const std::function<absl::Status(std::span<const uint8_t>)>& sink) const;

  Params params_;
  std::vector<std::pair<std::string, OwnedValue>> metadata_;
  absl::flat_hash_set<std::string> keys_;
  std::vector<Tensor> tensors_;
  absl::flat_hash_set<std::string> tensor_names_;
  uint64_t data_size_ = 0;  // end of the last tensor, aligned
};

}  // namespace cachewire::gguf
