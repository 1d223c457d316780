// Writer implementation: serialises OwnedValue metadata and tensors in the layout documented at
// the top of gguf_parser.cc. Tensors are placed back to back, each at an aligned offset; the
// file ends padded to the alignment (as gguf-py and tools/gguf/gguf_io.py do).
#include "engine/gguf/gguf_writer.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <memory>

#include "engine/gguf/str_cat.h"

namespace cachewire::gguf {

OwnedValue OwnedValue::StrArr(const std::vector<std::string>& items) {
  std::vector<OwnedValue> v;
  v.reserve(items.size());
  for (const std::string& s : items) v.push_back(Str(s));
  return Arr(ValueType::kString, std::move(v));
}

OwnedValue OwnedValue::F32Arr(const std::vector<float>& items) {
  std::vector<OwnedValue> v;
  v.reserve(items.size());
  for (float f : items) v.push_back(F32(f));
  return Arr(ValueType::kFloat32, std::move(v));
}

OwnedValue OwnedValue::I32Arr(const std::vector<int32_t>& items) {
  std::vector<OwnedValue> v;
  v.reserve(items.size());
  for (int32_t i : items) v.push_back(I32(i));
  return Arr(ValueType::kInt32, std::move(v));
}

namespace {

// Checks that the variant alternative matches the declared type, recursively for arrays.
bool Consistent(const OwnedValue& v) {
  switch (v.type) {
    case ValueType::kUint8:
    case ValueType::kUint16:
    case ValueType::kUint32:
    case ValueType::kUint64: return std::holds_alternative<uint64_t>(v.data);
    case ValueType::kInt8:
    case ValueType::kInt16:
    case ValueType::kInt32:
    case ValueType::kInt64: return std::holds_alternative<int64_t>(v.data);
    case ValueType::kFloat32:
    case ValueType::kFloat64: return std::holds_alternative<double>(v.data);
    case ValueType::kBool: return std::holds_alternative<bool>(v.data);
    case ValueType::kString: return std::holds_alternative<std::string>(v.data);
    case ValueType::kArray: {
      const auto* items = std::get_if<std::vector<OwnedValue>>(&v.data);
      if (items == nullptr) return false;
      return std::all_of(items->begin(), items->end(), [&](const OwnedValue& item) {
        return item.type == v.elem_type && Consistent(item);
      });
    }
  }
  return false;
}

// Appends raw bytes. resize + memcpy rather than vector::insert, which trips a GCC 12 -O3
// -Wstringop-overflow false positive.
void PutBytes(std::vector<uint8_t>& out, const void* p, size_t n) {
  if (n == 0) return;
  const size_t at = out.size();
  out.resize(at + n);
  std::memcpy(out.data() + at, p, n);
}

template <typename T>
void Put(std::vector<uint8_t>& out, T v) {
  PutBytes(out, &v, sizeof(T));
}

void PutString(std::vector<uint8_t>& out, std::string_view s) {
  Put<uint64_t>(out, s.size());
  PutBytes(out, s.data(), s.size());
}

void PutValue(std::vector<uint8_t>& out, const OwnedValue& v) {
  switch (v.type) {
    case ValueType::kUint8: Put(out, static_cast<uint8_t>(std::get<uint64_t>(v.data))); break;
    case ValueType::kUint16: Put(out, static_cast<uint16_t>(std::get<uint64_t>(v.data))); break;
    case ValueType::kUint32: Put(out, static_cast<uint32_t>(std::get<uint64_t>(v.data))); break;
    case ValueType::kUint64: Put(out, std::get<uint64_t>(v.data)); break;
    case ValueType::kInt8: Put(out, static_cast<int8_t>(std::get<int64_t>(v.data))); break;
    case ValueType::kInt16: Put(out, static_cast<int16_t>(std::get<int64_t>(v.data))); break;
    case ValueType::kInt32: Put(out, static_cast<int32_t>(std::get<int64_t>(v.data))); break;
    case ValueType::kInt64: Put(out, std::get<int64_t>(v.data)); break;
    case ValueType::kFloat32: Put(out, static_cast<float>(std::get<double>(v.data))); break;
    case ValueType::kFloat64: Put(out, std::get<double>(v.data)); break;
    case ValueType::kBool: Put<uint8_t>(out, std::get<bool>(v.data) ? 1 : 0); break;
    case ValueType::kString: PutString(out, std::get<std::string>(v.data)); break;
    case ValueType::kArray: {
      const auto& items = std::get<std::vector<OwnedValue>>(v.data);
      Put(out, static_cast<uint32_t>(v.elem_type));
      Put<uint64_t>(out, items.size());
      for (const OwnedValue& item : items) PutValue(out, item);
      break;
    }
  }
}

// Alignments are validated powers of two <= 2^31 and sizes stay far below 2^63: no wrap.
uint64_t AlignUp(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

}  // namespace

absl::Status Writer::Set(std::string key, OwnedValue value) {
  if (!Consistent(value)) {
    return absl::InvalidArgumentError(Cat("gguf writer: key '", key, "': value of type ",
                                          ValueTypeName(value.type),
                                          " holds data of another type"));
  }
  if (!keys_.insert(key).second) {
    return absl::InvalidArgumentError(Cat("gguf writer: duplicate key '", key, "'"));
  }
  metadata_.emplace_back(std::move(key), std::move(value));
  return absl::OkStatus();
}

absl::StatusOr<Writer::Tensor> Writer::MakeTensor(std::string name, TensorType type,
                                                  std::vector<int64_t> shape) {
  const std::string where = Cat("gguf writer: tensor '", name, "'");
  if (!TraitsOf(static_cast<uint32_t>(type))) {
    return absl::InvalidArgumentError(Cat(where, ": unsupported type"));
  }
  if (shape.size() > 4) return absl::InvalidArgumentError(Cat(where, ": n_dims > 4"));
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(n, d, &n)) {
      return absl::InvalidArgumentError(Cat(where, ": bad shape"));
    }
  }
  const int64_t row = shape.empty() ? 1 : shape[0];
  std::optional<size_t> n_bytes = RowBytes(type, n);
  if (!RowBytes(type, row) || !n_bytes) {
    return absl::InvalidArgumentError(Cat(where, ": row length ", row, " is not a whole ",
                                          "number of ", TensorTypeName(type), " blocks"));
  }
  if (tensor_names_.contains(name)) {
    return absl::InvalidArgumentError(Cat(where, ": duplicate tensor name"));
  }
  return Tensor{std::move(name), type, std::move(shape), *n_bytes, 0, {}, nullptr};
}

void Writer::Commit(Tensor t) {
  t.offset = AlignUp(data_size_, params_.alignment);
  data_size_ = t.offset + t.n_bytes;
  tensor_names_.insert(t.name);
  tensors_.push_back(std::move(t));
}

absl::Status Writer::AddTensor(std::string name, TensorType type, std::vector<int64_t> shape,
                               std::vector<uint8_t> data) {
  if (absl::Status s = Validate(); !s.ok()) return s;
  absl::StatusOr<Tensor> t = MakeTensor(name, type, std::move(shape));
  if (!t.ok()) return t.status();
  if (data.size() != t->n_bytes) {
    return absl::InvalidArgumentError(Cat("gguf writer: tensor '", name, "': data has ",
                                          data.size(), " bytes, shape needs ", t->n_bytes));
  }
  t->data = std::move(data);
  Commit(*std::move(t));
  return absl::OkStatus();
}

absl::Status Writer::AddTensorLazy(std::string name, TensorType type, std::vector<int64_t> shape,
                                   TensorFiller fill) {
  if (absl::Status s = Validate(); !s.ok()) return s;
  absl::StatusOr<Tensor> t = MakeTensor(std::move(name), type, std::move(shape));
  if (!t.ok()) return t.status();
  t->fill = fill ? std::move(fill) : [](uint64_t, std::span<uint8_t> out) {
    std::fill(out.begin(), out.end(), uint8_t{0});
  };
  Commit(*std::move(t));
  return absl::OkStatus();
}

absl::Status Writer::Validate() const {
  if (params_.version != 2 && params_.version != 3) {
    return absl::InvalidArgumentError(
        Cat("gguf writer: version ", params_.version, " unsupported (2 or 3)"));
  }
  if (!std::has_single_bit(params_.alignment) || params_.alignment > (1ull << 31)) {
    return absl::InvalidArgumentError(
        Cat("gguf writer: alignment ", params_.alignment, " is not a power of two <= 2^31"));
  }
  // An explicit general.alignment must agree with the alignment the data is laid out with.
  for (const auto& [key, value] : metadata_) {
    if (key != "general.alignment") continue;
    const uint64_t* a = std::get_if<uint64_t>(&value.data);
    if (value.type != ValueType::kUint32 || a == nullptr || *a != params_.alignment) {
      return absl::InvalidArgumentError(Cat("gguf writer: general.alignment must be a u32 equal ",
                                            "to Params::alignment (", params_.alignment, ")"));
    }
  }
  return absl::OkStatus();
}

std::vector<uint8_t> Writer::Head() const {
  const bool add_alignment = params_.alignment != 32 && !keys_.contains("general.alignment");
  std::vector<uint8_t> out;
  Put<uint32_t>(out, 0x46554747);  // "GGUF"
  Put<uint32_t>(out, params_.version);
  Put<uint64_t>(out, tensors_.size());
  Put<uint64_t>(out, metadata_.size() + (add_alignment ? 1 : 0));
  for (const auto& [key, value] : metadata_) {
    PutString(out, key);
    Put(out, static_cast<uint32_t>(value.type));
    PutValue(out, value);
  }
  if (add_alignment) {
    PutString(out, "general.alignment");
    Put(out, static_cast<uint32_t>(ValueType::kUint32));
    Put(out, static_cast<uint32_t>(params_.alignment));
  }
  for (const Tensor& t : tensors_) {
    PutString(out, t.name);
    Put(out, static_cast<uint32_t>(t.shape.size()));
    for (int64_t d : t.shape) Put(out, static_cast<uint64_t>(d));
    Put(out, static_cast<uint32_t>(t.type));
    Put(out, t.offset);
  }
  out.resize(AlignUp(out.size(), params_.alignment), 0);
  return out;
}

absl::Status Writer::Emit(const std::function<absl::Status(std::span<const uint8_t>)>& sink) const {
  if (absl::Status s = Validate(); !s.ok()) return s;
  const std::vector<uint8_t> head = Head();
  if (absl::Status s = sink(head); !s.ok()) return s;
  constexpr size_t kChunk = 4 << 20;
  std::vector<uint8_t> buf;
  uint64_t pos = 0;  // within the data section
  const auto pad_to = [&](uint64_t target) -> absl::Status {
    buf.assign(static_cast<size_t>(target - pos), 0);
    pos = target;
    return sink(buf);
  };
  for (const Tensor& t : tensors_) {
    if (absl::Status s = pad_to(t.offset); !s.ok()) return s;
    if (!t.fill) {
      if (absl::Status s = sink(t.data); !s.ok()) return s;
    } else {
      for (uint64_t done = 0; done < t.n_bytes;) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, t.n_bytes - done));
        buf.resize(n);
        t.fill(done, buf);
        if (absl::Status s = sink(buf); !s.ok()) return s;
        done += n;
      }
    }
    pos += t.n_bytes;
  }
  if (!tensors_.empty()) return pad_to(AlignUp(pos, params_.alignment));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<uint8_t>> Writer::ToBytes() const {
  std::vector<uint8_t> out;
  absl::Status s = Emit([&](std::span<const uint8_t> bytes) {
    out.insert(out.end(), bytes.begin(), bytes.end());
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::Status Writer::WriteFile(const std::string& path) const {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
  if (!f)
    return absl::UnavailableError(Cat(path, ": cannot open for writing: ", std::strerror(errno)));
  absl::Status s = Emit([&](std::span<const uint8_t> bytes) -> absl::Status {
    if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), f.get()) != bytes.size()) {
      return absl::UnavailableError(Cat(path, ": write failed: ", std::strerror(errno)));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (std::fclose(f.release()) != 0) {
    return absl::UnavailableError(Cat(path, ": close failed: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace cachewire::gguf
