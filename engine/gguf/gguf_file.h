// Read-only view of a GGUF file (v2/v3) over mmap: metadata, tensor infos, tensor data.
// Every offset, count and length is validated against the mapping before use, so a hostile
// file yields an absl::Status naming the file and the field, never a read past the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/gguf/tensor_type.h"

namespace cachewire::gguf {

// On-disk metadata value type ids.
enum class ValueType : uint32_t {
  kUint8 = 0, kInt8 = 1, kUint16 = 2, kInt16 = 3, kUint32 = 4, kInt32 = 5, kFloat32 = 6,
  kBool = 7, kString = 8, kArray = 9, kUint64 = 10, kInt64 = 11, kFloat64 = 12,
};
std::string_view ValueTypeName(ValueType type);
// Smallest encoding of one value of `type`: the exact size of a scalar, the length prefix of a
// string (8), the element type and count of an array (12).
uint64_t MinEncodedBytes(ValueType type);

struct Value;
// An array keeps its element type so that empty arrays still say what they hold.
//
// Arrays of scalars and strings stay encoded in the mapping (`raw`) and are decoded on access:
// a vocabulary of 262k tokens, scores and types is three arrays, and expanding them into Value
// objects at open used to cost ~100 ms of allocation and page faults. The parser validated
// every item (string lengths included), so decoding needs no further checks. Arrays of arrays
// are rare and small: they are parsed into `nested` at open.
struct Array {
  ValueType elem_type;
  uint64_t count = 0;
  std::span<const uint8_t> raw;  // encoded items (scalar or string arrays)
  std::vector<Value> nested;     // items of an array of arrays
  size_t size() const { return static_cast<size_t>(count); }
  bool empty() const { return count == 0; }
  // Every item decoded (strings view the mapping): O(count) and allocating, for callers that
  // want generic access (inspect, tests); the typed getters of File avoid it.
  std::vector<Value> Items() const;
  // Item i of a scalar array in O(1), or of any array in O(i) for strings.
  Value Item(size_t i) const;
};
// Strings are views into the mapping (valid while the File lives).
struct Value {
  ValueType type;
  std::variant<uint64_t, int64_t, double, bool, std::string_view, Array> data;
};

struct MetadataEntry {
  std::string_view key;
  Value value;
};

struct TensorInfo {
  std::string_view name;
  std::vector<int64_t> shape;  // ggml order: shape[0] is the contiguous (row) dimension
  TensorType type;
  uint64_t offset;             // relative to the data section
  size_t n_bytes;
  const uint8_t* data;         // points into the mapping
  int64_t n_elements() const;
  int64_t n_rows() const { return shape.empty() || shape[0] == 0 ? 0 : n_elements() / shape[0]; }
};

class File {
 public:
  // Maps `path` read-only and parses it.
  static absl::StatusOr<std::unique_ptr<File>> Open(const std::string& path);
  // Parses an in-memory image (tests, fuzzing); `name` stands in for the path in errors.
  static absl::StatusOr<std::unique_ptr<File>> FromBuffer(std::string name,
                                                          std::span<const uint8_t> bytes);
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  size_t alignment() const { return alignment_; }
  size_t size_bytes() const { return size_; }
  const std::vector<MetadataEntry>& metadata() const { return metadata_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }

  // Lookup; nullptr when absent.
  const Value* Find(std::string_view key) const;
  const TensorInfo* FindTensor(std::string_view name) const;

  // Typed getters. NotFound when absent; InvalidArgument naming the file and key when the
  // stored type does not fit (integers convert when the value is in range).
  absl::StatusOr<std::string_view> GetString(std::string_view key) const;
  absl::StatusOr<uint64_t> GetUint(std::string_view key) const;
  absl::StatusOr<int64_t> GetInt(std::string_view key) const;
  absl::StatusOr<double> GetFloat(std::string_view key) const;  // any numeric type
  absl::StatusOr<bool> GetBool(std::string_view key) const;
  absl::StatusOr<std::vector<std::string_view>> GetStringArray(std::string_view key) const;
  absl::StatusOr<std::vector<float>> GetFloatArray(std::string_view key) const;
  absl::StatusOr<std::vector<int64_t>> GetIntArray(std::string_view key) const;

 private:
  File() = default;
  std::string path_;
  uint32_t version_ = 0;
  size_t alignment_ = 32;
  const uint8_t* base_ = nullptr;
  size_t size_ = 0;
  void* mapping_ = nullptr;       // munmap'd in the destructor when Open() mapped the file
  std::vector<uint8_t> owned_;    // FromBuffer keeps its own copy
  std::vector<MetadataEntry> metadata_;
  std::vector<TensorInfo> tensors_;
  // Name -> index into metadata_ / tensors_, built by the parser (which also rejects duplicates).
  absl::flat_hash_map<std::string_view, size_t> key_index_;
  absl::flat_hash_map<std::string_view, size_t> tensor_index_;
  friend class Parser;
};

}  // namespace cachewire::gguf
