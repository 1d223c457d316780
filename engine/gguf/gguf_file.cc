// File: owning the bytes of a GGUF image (a read-only private mmap, or a copy for FromBuffer),
// and the lookups and typed getters over what the parser (gguf_parser.cc) extracted.
#include "engine/gguf/gguf_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

#include "engine/gguf/gguf_parser.h"
#include "engine/gguf/str_cat.h"

namespace cachewire::gguf {

std::string_view ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kUint8: return "u8";
    case ValueType::kInt8: return "i8";
    case ValueType::kUint16: return "u16";
    case ValueType::kInt16: return "i16";
    case ValueType::kUint32: return "u32";
    case ValueType::kInt32: return "i32";
    case ValueType::kFloat32: return "f32";
    case ValueType::kBool: return "bool";
    case ValueType::kString: return "string";
    case ValueType::kArray: return "array";
    case ValueType::kUint64: return "u64";
    case ValueType::kInt64: return "i64";
    case ValueType::kFloat64: return "f64";
  }
  return "unknown";
}

uint64_t MinEncodedBytes(ValueType type) {
  switch (type) {
    case ValueType::kUint8:
    case ValueType::kInt8:
    case ValueType::kBool: return 1;
    case ValueType::kUint16:
    case ValueType::kInt16: return 2;
    case ValueType::kUint32:
    case ValueType::kInt32:
    case ValueType::kFloat32: return 4;
    case ValueType::kUint64:
    case ValueType::kInt64:
    case ValueType::kFloat64: return 8;
    case ValueType::kString: return 8;
    case ValueType::kArray: return 12;
  }
  return 1;
}

int64_t TensorInfo::n_elements() const {
  // The parser rejects shapes whose product overflows; unsigned math keeps hand-built infos
  // free of UB all the same.
  uint64_t n = 1;
  for (int64_t d : shape) n *= static_cast<uint64_t>(d);
  return static_cast<int64_t>(n);
}

// ---------------------------------------------------------------------------------------------
// Opening
// ---------------------------------------------------------------------------------------------

namespace {

absl::Status ErrnoError(int err, const std::string& path, std::string_view what) {
  std::string msg = Cat(path, ": ", what, ": ", std::strerror(err));
  if (err == ENOENT) return absl::NotFoundError(msg);
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(msg);
  return absl::UnavailableError(msg);
}

}  // namespace

absl::StatusOr<std::unique_ptr<File>> File::Open(const std::string& path) {
  std::unique_ptr<File> file(new File());
  file->path_ = path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, path, "open");
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return ErrnoError(err, path, "fstat");
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(Cat(path, ": not a regular file"));
  }
  file->size_ = static_cast<size_t>(st.st_size);
  if (file->size_ > 0) {  // mmap of length 0 fails; an empty file is reported by the parser
    void* m = ::mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
      const int err = errno;
      ::close(fd);
      return ErrnoError(err, path, "mmap");
    }
    file->mapping_ = m;
    file->base_ = static_cast<const uint8_t*>(m);
  }
  ::close(fd);  // the mapping keeps the file alive
  if (absl::Status s = Parser::Parse(*file); !s.ok()) return s;
  return file;
}

absl::StatusOr<std::unique_ptr<File>> File::FromBuffer(std::string name,
                                                       std::span<const uint8_t> bytes) {
  std::unique_ptr<File> file(new File());
  file->path_ = std::move(name);
  file->owned_.assign(bytes.begin(), bytes.end());
  file->base_ = file->owned_.data();
  file->size_ = file->owned_.size();
  if (absl::Status s = Parser::Parse(*file); !s.ok()) return s;
  return file;
}

File::~File() {
  if (mapping_ != nullptr) ::munmap(mapping_, size_);
}

// ---------------------------------------------------------------------------------------------
// Arrays: items decoded from the mapping on access (the parser validated them)
// ---------------------------------------------------------------------------------------------

namespace {

template <typename OnDisk>
OnDisk Load(const uint8_t* p) {
  OnDisk v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// One scalar item of the given type at p; strings are handled by the callers.
Value DecodeScalar(ValueType t, const uint8_t* p) {
  switch (t) {
    case ValueType::kUint8: return {t, uint64_t{Load<uint8_t>(p)}};
    case ValueType::kUint16: return {t, uint64_t{Load<uint16_t>(p)}};
    case ValueType::kUint32: return {t, uint64_t{Load<uint32_t>(p)}};
    case ValueType::kUint64: return {t, Load<uint64_t>(p)};
    case ValueType::kInt8: return {t, int64_t{Load<int8_t>(p)}};
    case ValueType::kInt16: return {t, int64_t{Load<int16_t>(p)}};
    case ValueType::kInt32: return {t, int64_t{Load<int32_t>(p)}};
    case ValueType::kInt64: return {t, Load<int64_t>(p)};
    case ValueType::kFloat32: return {t, double{Load<float>(p)}};
    case ValueType::kFloat64: return {t, Load<double>(p)};
    case ValueType::kBool: return {t, p[0] != 0};
    default: return {t, uint64_t{0}};
  }
}

// Calls fn(string_view) for each item of an encoded string array.
template <typename Fn>
void ForEachString(std::span<const uint8_t> raw, uint64_t count, Fn&& fn) {
  size_t pos = 0;
  for (uint64_t i = 0; i < count && pos + 8 <= raw.size(); ++i) {
    const uint64_t len = Load<uint64_t>(raw.data() + pos);
    pos += 8;
    fn(std::string_view(reinterpret_cast<const char*>(raw.data() + pos), static_cast<size_t>(len)));
    pos += static_cast<size_t>(len);
  }
}

}  // namespace

Value Array::Item(size_t i) const {
  if (elem_type == ValueType::kArray) return nested.at(i);
  if (elem_type == ValueType::kString) {
    Value out{ValueType::kString, std::string_view()};
    size_t k = 0;
    ForEachString(raw, count, [&](std::string_view s) {
      if (k++ == i) out.data = s;
    });
    return out;
  }
  return DecodeScalar(elem_type, raw.data() + i * MinEncodedBytes(elem_type));
}

std::vector<Value> Array::Items() const {
  if (elem_type == ValueType::kArray) return nested;
  std::vector<Value> out;
  out.reserve(size());
  if (elem_type == ValueType::kString) {
    ForEachString(raw, count, [&](std::string_view s) { out.push_back({ValueType::kString, s}); });
  } else {
    for (size_t i = 0; i < size(); ++i) out.push_back(Item(i));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Lookups and typed getters
// ---------------------------------------------------------------------------------------------

const Value* File::Find(std::string_view key) const {
  auto it = key_index_.find(key);
  return it == key_index_.end() ? nullptr : &metadata_[it->second].value;
}

const TensorInfo* File::FindTensor(std::string_view name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

namespace {

absl::Status TypeError(const std::string& path, std::string_view key, std::string_view want,
                       const Value& v) {
  std::string found(ValueTypeName(v.type));
  if (const Array* a = std::get_if<Array>(&v.data)) {
    found += Cat(" of ", ValueTypeName(a->elem_type));
  }
  return absl::InvalidArgumentError(
      Cat(path, ": metadata key '", key, "': expected ", want, ", found ", found));
}
absl::Status RangeError(const std::string& path, std::string_view key, std::string_view want,
                        std::string_view value) {
  return absl::InvalidArgumentError(
      Cat(path, ": metadata key '", key, "': value ", value, " does not fit in ", want));
}

bool IsInteger(ValueType t) {
  switch (t) {
    case ValueType::kUint8:
    case ValueType::kInt8:
    case ValueType::kUint16:
    case ValueType::kInt16:
    case ValueType::kUint32:
    case ValueType::kInt32:
    case ValueType::kUint64:
    case ValueType::kInt64: return true;
    default: return false;
  }
}

// Conversions of one scalar; nullopt with *why set when the type or range does not fit.
enum class Why { kType, kRange };

std::optional<uint64_t> AsUint(const Value& v, Why* why) {
  if (const uint64_t* u = std::get_if<uint64_t>(&v.data)) return *u;
  if (const int64_t* i = std::get_if<int64_t>(&v.data)) {
    if (*i >= 0) return static_cast<uint64_t>(*i);
    *why = Why::kRange;
    return std::nullopt;
  }
  *why = Why::kType;
  return std::nullopt;
}

std::optional<int64_t> AsInt(const Value& v, Why* why) {
  if (const int64_t* i = std::get_if<int64_t>(&v.data)) return *i;
  if (const uint64_t* u = std::get_if<uint64_t>(&v.data)) {
    if (*u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return static_cast<int64_t>(*u);
    }
    *why = Why::kRange;
    return std::nullopt;
  }
  *why = Why::kType;
  return std::nullopt;
}

std::optional<double> AsFloat(const Value& v) {
  if (const double* d = std::get_if<double>(&v.data)) return *d;
  if (const uint64_t* u = std::get_if<uint64_t>(&v.data)) return static_cast<double>(*u);
  if (const int64_t* i = std::get_if<int64_t>(&v.data)) return static_cast<double>(*i);
  return std::nullopt;
}

std::string Describe(const Value& v) {
  if (const uint64_t* u = std::get_if<uint64_t>(&v.data)) return Cat(*u);
  if (const int64_t* i = std::get_if<int64_t>(&v.data)) return Cat(*i);
  return std::string(ValueTypeName(v.type));
}

}  // namespace

// Finds `key` or returns NotFound naming the file and key.
#define CACHEWIRE_GGUF_FIND(v, key)                                                 \
  const Value* v = Find(key);                                                       \
  if (v == nullptr) {                                                               \
    return absl::NotFoundError(Cat(path_, ": metadata key '", key, "' not found")); \
  }

absl::StatusOr<std::string_view> File::GetString(std::string_view key) const {
  CACHEWIRE_GGUF_FIND(v, key);
  if (const std::string_view* s = std::get_if<std::string_view>(&v->data)) return *s;
  return TypeError(path_, key, "string", *v);
}

absl::StatusOr<uint64_t> File::GetUint(std::string_view key) const {
  CACHEWIRE_GGUF_FIND(v, key);
  Why why = Why::kType;
  if (std::optional<uint64_t> u = AsUint(*v, &why)) return *u;
  if (why == Why::kRange) return RangeError(path_, key, "an unsigned integer", Describe(*v));
  return TypeError(path_, key, "an integer", *v);
}

absl::StatusOr<int64_t> File::GetInt(std::string_view key) const {
  CACHEWIRE_GGUF_FIND(v, key);
  Why why = Why::kType;
  if (std::optional<int64_t> i = AsInt(*v, &why)) return *i;
  if (why == Why::kRange) return RangeError(path_, key, "int64", Describe(*v));
  return TypeError(path_, key, "an integer", *v);
}

absl::StatusOr<double> File::GetFloat(std::string_view key) const {
  CACHEWIRE_GGUF_FIND(v, key);
  if (std::optional<double> d = AsFloat(*v)) return *d;
  return TypeError(path_, key, "a number", *v);
}

absl::StatusOr<bool> File::GetBool(std::string_view key) const {
  CACHEWIRE_GGUF_FIND(v, key);
  if (const bool* b = std::get_if<bool>(&v->data)) return *b;
  return TypeError(path_, key, "bool", *v);
}

absl::StatusOr<std::vector<std::string_view>> File::GetStringArray(std::string_view key) const {
  CACHEWIRE_GGUF_FIND(v, key);
  const Array* a = std::get_if<Array>(&v->data);
  if (a == nullptr || a->elem_type != ValueType::kString) {
    return TypeError(path_, key, "array of string", *v);
  }
  std::vector<std::string_view> out;
  out.reserve(a->size());
  ForEachString(a->raw, a->count, [&](std::string_view s) { out.push_back(s); });
  return out;
}

absl::StatusOr<std::vector<float>> File::GetFloatArray(std::string_view key) const {
  CACHEWIRE_GGUF_FIND(v, key);
  const Array* a = std::get_if<Array>(&v->data);
  if (a == nullptr || !(IsInteger(a->elem_type) || a->elem_type == ValueType::kFloat32 ||
                        a->elem_type == ValueType::kFloat64)) {
    return TypeError(path_, key, "array of numbers", *v);
  }
  std::vector<float> out(a->size());
  if (a->elem_type == ValueType::kFloat32) {  // the common case (scores): one copy
    if (!out.empty()) std::memcpy(out.data(), a->raw.data(), out.size() * sizeof(float));
    return out;
  }
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(*AsFloat(a->Item(i)));
  return out;
}

absl::StatusOr<std::vector<int64_t>> File::GetIntArray(std::string_view key) const {
  CACHEWIRE_GGUF_FIND(v, key);
  const Array* a = std::get_if<Array>(&v->data);
  if (a == nullptr || !IsInteger(a->elem_type))
    return TypeError(path_, key, "array of integers", *v);
  std::vector<int64_t> out(a->size());
  for (size_t i = 0; i < out.size(); ++i) {
    const Value item = a->Item(i);
    Why why = Why::kType;
    std::optional<int64_t> x = AsInt(item, &why);
    if (!x) return RangeError(path_, Cat(key, "[", i, "]"), "int64", Describe(item));
    out[i] = *x;
  }
  return out;
}

#undef CACHEWIRE_GGUF_FIND

}  // namespace cachewire::gguf
