// The validating GGUF parser. Layout (v2 and v3 are identical apart from the version field):
//
//   header   : "GGUF" | u32 version | u64 n_tensors | u64 n_kv
//   metadata : n_kv x ( string key | u32 value type | value )
//   tensors  : n_tensors x ( string name | u32 n_dims | u64 dims[n_dims] | u32 type | u64 offset )
//   padding  : to general.alignment (default 32)
//   data     : each tensor at data_start + offset, offset a multiple of the alignment
//
// string = u64 length + bytes; array = u32 element type | u64 count | count values.
// Every read goes through Cursor, which refuses to step past the end; counts are checked
// against the bytes left before anything is reserved, and arithmetic on file-supplied numbers
// is overflow-checked. Errors read "<path>: <field>: <what is wrong>".
#include "engine/gguf/gguf_parser.h"

#include <bit>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_join.h"
#include "engine/gguf/str_cat.h"

namespace cachewire::gguf {
namespace {

static_assert(std::endian::native == std::endian::little,
              "GGUF is little-endian; so is this reader");

constexpr uint32_t kMagic = 0x46554747;              // "GGUF" read as a little-endian u32
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;          // empty key, type, 1-byte value
constexpr uint64_t kMinTensorBytes = 8 + 4 + 4 + 8;  // empty name, n_dims = 0, type, offset

// Bounds-checked little-endian reads over [base, base + size).
class Cursor {
 public:
  Cursor(const uint8_t* base, size_t size) : base_(base), size_(size) {}
  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }
  bool Take(uint64_t n, const uint8_t** out) {
    if (n > remaining()) return false;
    *out = base_ + pos_;
    pos_ += static_cast<size_t>(n);
    return true;
  }
  template <typename T>
  bool Read(T* out) {
    const uint8_t* p = nullptr;
    if (!Take(sizeof(T), &p)) return false;
    std::memcpy(out, p, sizeof(T));
    return true;
  }

 private:
  const uint8_t* base_;
  size_t size_;
  size_t pos_ = 0;
};

// Keys and names come from the file: escape them and cap their length in messages.
std::string Quote(std::string_view s) {
  constexpr size_t kMax = 80;
  const std::string_view head = s.substr(0, kMax);
  std::string out = Cat("'", absl::CHexEscape(absl::string_view(head.data(), head.size())), "'");
  if (s.size() > kMax) out += "...";
  return out;
}

bool KnownValueType(uint32_t id) { return id <= static_cast<uint32_t>(ValueType::kFloat64); }

}  // namespace

class Parser::Impl {
 public:
  explicit Impl(File& file) : f_(file), cur_(file.base_, file.size_) {}

  absl::Status Run() {
    uint64_t n_tensors = 0, n_kv = 0;
    if (absl::Status s = ReadHeader(&n_tensors, &n_kv); !s.ok()) return s;
    f_.metadata_.reserve(n_kv);  // bounded by the file size (checked in ReadHeader)
    for (uint64_t i = 0; i < n_kv; ++i) {
      if (absl::Status s = ReadMetadataEntry(i); !s.ok()) return s;
    }
    if (absl::Status s = ReadAlignment(); !s.ok()) return s;
    f_.tensors_.reserve(n_tensors);
    for (uint64_t i = 0; i < n_tensors; ++i) {
      if (absl::Status s = ReadTensorInfo(i); !s.ok()) return s;
    }
    return PlaceTensors();
  }

 private:
  absl::Status Error(std::string_view field, std::string_view what) const {
    return absl::InvalidArgumentError(Cat(f_.path_, ": ", field, ": ", what));
  }
  absl::Status Truncated(std::string_view field, uint64_t need) const {
    return Error(field, Cat("truncated: needs ", need, " bytes at offset ", cur_.pos(), ", only ",
                            cur_.remaining(), " left in the file"));
  }
  template <typename T>
  absl::Status ReadField(std::string_view field, T* out) {
    if (!cur_.Read(out)) return Truncated(field, sizeof(T));
    return absl::OkStatus();
  }

  absl::Status ReadString(std::string_view field, std::string_view* out) {
    uint64_t len = 0;
    if (!cur_.Read(&len)) return Truncated(field, 8);
    const uint8_t* p = nullptr;
    if (!cur_.Take(len, &p)) {
      return Error(field, Cat("truncated string: length ", len, " at offset ", cur_.pos() - 8,
                              " exceeds the ", cur_.remaining(), " bytes left in the file"));
    }
    *out = std::string_view(reinterpret_cast<const char*>(p), static_cast<size_t>(len));
    return absl::OkStatus();
  }

  absl::Status ReadHeader(uint64_t* n_tensors, uint64_t* n_kv) {
    uint32_t magic = 0;
    if (absl::Status s = ReadField("header.magic", &magic); !s.ok()) return s;
    if (magic != kMagic) {
      return Error("header.magic", Cat("bad magic 0x", absl::Hex(magic, absl::kZeroPad8),
                                       ", not a GGUF file (expected \"GGUF\")"));
    }
    if (absl::Status s = ReadField("header.version", &f_.version_); !s.ok()) return s;
    if (f_.version_ != 2 && f_.version_ != 3) {
      std::string hint = f_.version_ == 1 ? " (v1 used 32-bit counts; re-convert the model)"
                         : (f_.version_ & 0xFFFF) == 0 ? " (byte-swapped: a big-endian file?)"
                                                       : "";
      return Error("header.version",
                   Cat("unsupported version ", f_.version_, ", this reader handles 2 and 3", hint));
    }
    if (absl::Status s = ReadField("header.n_tensors", n_tensors); !s.ok()) return s;
    if (absl::Status s = ReadField("header.n_kv", n_kv); !s.ok()) return s;
    if (*n_kv > cur_.remaining() / kMinKvBytes) {
      return Error("header.n_kv", Cat("count ", *n_kv, " cannot fit in the ", cur_.remaining(),
                                      " bytes left in the file"));
    }
    if (*n_tensors > cur_.remaining() / kMinTensorBytes) {
      return Error("header.n_tensors", Cat("count ", *n_tensors, " cannot fit in the ",
                                           cur_.remaining(), " bytes left in the file"));
    }
    return absl::OkStatus();
  }

  absl::Status ReadMetadataEntry(uint64_t index) {
    std::string_view key;
    if (absl::Status s = ReadString(Cat("metadata entry #", index, " key"), &key); !s.ok()) {
      return s;
    }
    const std::string field = Cat("metadata key ", Quote(key));
    auto [it, inserted] = f_.key_index_.emplace(key, f_.metadata_.size());
    if (!inserted) {
      return Error(field,
                   Cat("duplicate key (entry #", index, " repeats entry #", it->second, ")"));
    }
    uint32_t type_id = 0;
    if (absl::Status s = ReadField(field, &type_id); !s.ok()) return s;
    if (!KnownValueType(type_id)) return Error(field, Cat("unknown value type ", type_id));
    Value value;
    if (absl::Status s = ReadValue(static_cast<ValueType>(type_id), field, 1, &value); !s.ok()) {
      return s;
    }
    f_.metadata_.push_back(MetadataEntry{key, std::move(value)});
    return absl::OkStatus();
  }

  // `depth` counts enclosing arrays + 1, so a top-level array's items are read at depth 2.
  absl::Status ReadValue(ValueType type, const std::string& field, int depth, Value* out) {
    out->type = type;
    switch (type) {
      case ValueType::kUint8: return ReadScalar<uint8_t, uint64_t>(field, out);
      case ValueType::kUint16: return ReadScalar<uint16_t, uint64_t>(field, out);
      case ValueType::kUint32: return ReadScalar<uint32_t, uint64_t>(field, out);
      case ValueType::kUint64: return ReadScalar<uint64_t, uint64_t>(field, out);
      case ValueType::kInt8: return ReadScalar<int8_t, int64_t>(field, out);
      case ValueType::kInt16: return ReadScalar<int16_t, int64_t>(field, out);
      case ValueType::kInt32: return ReadScalar<int32_t, int64_t>(field, out);
      case ValueType::kInt64: return ReadScalar<int64_t, int64_t>(field, out);
      case ValueType::kFloat32: return ReadScalar<float, double>(field, out);
      case ValueType::kFloat64: return ReadScalar<double, double>(field, out);
      case ValueType::kBool: {
        uint8_t b = 0;
        if (absl::Status s = ReadField(field, &b); !s.ok()) return s;
        out->data = b != 0;
        return absl::OkStatus();
      }
      case ValueType::kString: {
        std::string_view s;
        if (absl::Status st = ReadString(field, &s); !st.ok()) return st;
        out->data = s;
        return absl::OkStatus();
      }
      case ValueType::kArray: return ReadArray(field, depth, out);
    }
    return Error(field, Cat("unknown value type ", static_cast<uint32_t>(type)));
  }

  template <typename OnDisk, typename Stored>
  absl::Status ReadScalar(const std::string& field, Value* out) {
    OnDisk v{};
    if (absl::Status s = ReadField(field, &v); !s.ok()) return s;
    out->data = static_cast<Stored>(v);
    return absl::OkStatus();
  }

  absl::Status ReadArray(const std::string& field, int depth, Value* out) {
    if (depth > kMaxArrayDepth) {
      return Error(field, Cat("arrays nested deeper than ", kMaxArrayDepth, " levels"));
    }
    uint32_t elem_id = 0;
    uint64_t count = 0;
    if (absl::Status s = ReadField(field, &elem_id); !s.ok()) return s;
    if (!KnownValueType(elem_id)) {
      return Error(field, Cat("unknown array element type ", elem_id));
    }
    if (absl::Status s = ReadField(field, &count); !s.ok()) return s;
    const ValueType elem = static_cast<ValueType>(elem_id);
    if (count > cur_.remaining() / MinEncodedBytes(elem)) {
      return Error(field, Cat("array count ", count, " of ", ValueTypeName(elem),
                              " cannot fit in the ", cur_.remaining(), " bytes left in the file"));
    }
    if (count > kMaxArrayItems - items_seen_) {
      return Error(field, Cat("array count ", count, " exceeds the limit of ", kMaxArrayItems,
                              " array elements per file"));
    }
    items_seen_ += count;
    Array array{elem, count, {}, {}};
    if (elem == ValueType::kArray) {
      array.nested.resize(static_cast<size_t>(count));
      for (Value& item : array.nested) {
        if (absl::Status s = ReadValue(elem, field, depth + 1, &item); !s.ok()) return s;
      }
    } else {
      // Scalars and strings stay in the mapping; strings are walked once to validate lengths.
      const size_t start = cur_.pos();
      if (elem == ValueType::kString) {
        for (uint64_t i = 0; i < count; ++i) {
          std::string_view ignored;
          if (absl::Status s = ReadString(field, &ignored); !s.ok()) return s;
        }
      } else {
        const uint8_t* p = nullptr;
        if (!cur_.Take(count * MinEncodedBytes(elem), &p)) {
          return Truncated(field, count * MinEncodedBytes(elem));
        }
      }
      array.raw = std::span<const uint8_t>(f_.base_ + start, cur_.pos() - start);
    }
    out->data = std::move(array);
    return absl::OkStatus();
  }

  absl::Status ReadAlignment() {
    auto it = f_.key_index_.find("general.alignment");
    if (it == f_.key_index_.end()) return absl::OkStatus();
    const Value& v = f_.metadata_[it->second].value;
    const std::string field = "metadata key 'general.alignment'";
    uint64_t a = 0;
    if (const uint64_t* u = std::get_if<uint64_t>(&v.data)) {
      a = *u;
    } else if (const int64_t* i = std::get_if<int64_t>(&v.data); i != nullptr && *i >= 0) {
      a = static_cast<uint64_t>(*i);
    } else {
      return Error(field,
                   Cat("alignment must be a non-negative integer, got ", ValueTypeName(v.type)));
    }
    if (a == 0 || !std::has_single_bit(a) || a > std::numeric_limits<uint32_t>::max()) {
      return Error(field, Cat("bad alignment ", a, ": must be a power of two between 1 and 2^31"));
    }
    f_.alignment_ = static_cast<size_t>(a);
    return absl::OkStatus();
  }

  absl::Status ReadTensorInfo(uint64_t index) {
    TensorInfo t{};
    if (absl::Status s = ReadString(Cat("tensor #", index, " name"), &t.name); !s.ok()) {
      return s;
    }
    const std::string field = Cat("tensor ", Quote(t.name));
    auto [it, inserted] = f_.tensor_index_.emplace(t.name, f_.tensors_.size());
    if (!inserted) {
      return Error(field, Cat("duplicate tensor name (tensor #", index, " repeats tensor #",
                              it->second, ")"));
    }
    uint32_t n_dims = 0;
    if (absl::Status s = ReadField(field, &n_dims); !s.ok()) return s;
    if (n_dims > kMaxDims) {
      return Error(field, Cat("n_dims ", n_dims, " is larger than ", kMaxDims));
    }
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t dim = 0;
      if (absl::Status s = ReadField(field, &dim); !s.ok()) return s;
      if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return Error(field, Cat("dimension ", d, " is ", dim, ", above INT64_MAX"));
      }
      t.shape.push_back(static_cast<int64_t>(dim));
    }
    uint32_t type_id = 0;
    if (absl::Status s = ReadField(field, &type_id); !s.ok()) return s;
    if (absl::Status s = ReadField(field, &t.offset); !s.ok()) return s;
    const std::optional<TensorTypeTraits> traits = TraitsOf(type_id);
    if (!traits) return Error(field, Cat("unknown or unsupported tensor type id ", type_id));
    t.type = static_cast<TensorType>(type_id);
    // Sizes must be representable even when a zero dimension makes the tensor empty, so that
    // row sizes and strides derived from any dimension never overflow: check the product of
    // the non-zero dimensions, in elements and in bytes.
    int64_t nonzero_elems = 1;
    bool has_zero_dim = false;
    for (int64_t dim : t.shape) {
      if (dim == 0) {
        has_zero_dim = true;
      } else if (__builtin_mul_overflow(nonzero_elems, dim, &nonzero_elems)) {
        return Error(field, Cat("shape [", absl::StrJoin(t.shape, ", "),
                                "] has more elements than fit in int64 (overflow)"));
      }
    }
    const int64_t row = t.shape.empty() ? 1 : t.shape[0];
    if (row % traits->block_elems != 0) {
      return Error(field, Cat("row length shape[0] = ", row, " is not a multiple of the ",
                              traits->name, " block size ", traits->block_elems));
    }
    // (Rounded down to whole blocks: with shape[0] == 0 the other dimensions need not be.)
    if (!RowBytes(t.type, nonzero_elems - nonzero_elems % traits->block_elems)) {
      return Error(field,
                   Cat("byte size of ", nonzero_elems, " ", traits->name, " elements overflows"));
    }
    const int64_t n_elems = has_zero_dim ? 0 : nonzero_elems;
    const std::optional<size_t> n_bytes = RowBytes(t.type, n_elems);
    if (!n_bytes) return Error(field, "byte size overflows");  // unreachable after the above
    t.n_bytes = *n_bytes;
    f_.tensors_.push_back(std::move(t));
    return absl::OkStatus();
  }

  // Data section starts at the first aligned offset after the tensor infos.
  absl::Status PlaceTensors() {
    const uint64_t a = f_.alignment_;
    const uint64_t data_start = (cur_.pos() + a - 1) / a * a;  // pos < 2^63, a <= 2^31: no wrap
    if (f_.tensors_.empty()) return absl::OkStatus();
    if (data_start > f_.size_) {
      return Error("header.data_start", Cat("tensor data would start at offset ", data_start,
                                            ", past the end of the file (", f_.size_, " bytes)"));
    }
    const uint64_t data_size = f_.size_ - data_start;
    for (TensorInfo& t : f_.tensors_) {
      const std::string field = Cat("tensor ", Quote(t.name));
      if (t.offset % a != 0) {
        return Error(field, Cat("offset ", t.offset, " is misaligned: not a multiple of ",
                                "the alignment ", a));
      }
      if (t.offset > data_size) {
        return Error(field, Cat("offset ", t.offset, " is past the end of the data ", "section (",
                                data_size, " bytes)"));
      }
      if (t.n_bytes > data_size - t.offset) {
        return Error(field, Cat("data [", t.offset, ", +", t.n_bytes, ") runs past the ",
                                "end of the data section (", data_size, " bytes)"));
      }
      t.data = f_.base_ + data_start + t.offset;
    }
    return absl::OkStatus();
  }

  File& f_;
  Cursor cur_;
  uint64_t items_seen_ = 0;
};

absl::Status Parser::Parse(File& file) { return Impl(file).Run(); }

}  // namespace cachewire::gguf
