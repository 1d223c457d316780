// libFuzzer target for the GGUF reader: File::FromBuffer on arbitrary bytes, then every getter
// on every key, every tensor's geometry, and the first row of every tensor dequantised. Any
// crash, sanitizer report or broken invariant (checked with __builtin_trap) is a bug.
// Built and run by tests/fuzz/run_gguf_fuzz.sh (clang++ -fsanitize=fuzzer,address,undefined).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/gguf/dequantize.h"
#include "engine/gguf/gguf_file.h"

namespace {

using namespace cachewire::gguf;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

// Walks a value so that every string view is read (ASan catches views past the buffer).
size_t Touch(const Value& v, int depth) {
  Check(depth <= 16);
  size_t sum = 0;
  if (const auto* s = std::get_if<std::string_view>(&v.data)) {
    for (char c : *s) sum += static_cast<unsigned char>(c);
  } else if (const auto* a = std::get_if<Array>(&v.data)) {
    for (const Value& item : a->Items()) {
      Check(item.type == a->elem_type);
      sum += Touch(item, depth + 1);
    }
  }
  return sum;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::StatusOr<std::unique_ptr<File>> opened =
      File::FromBuffer("fuzz.gguf", std::span<const uint8_t>(data, size));
  if (!opened.ok()) {
    Check(!opened.status().message().empty());
    return 0;
  }
  const File& f = **opened;
  Check(f.version() == 2 || f.version() == 3);
  Check(f.alignment() > 0 && (f.alignment() & (f.alignment() - 1)) == 0);
  volatile size_t sink = 0;
  for (const MetadataEntry& e : f.metadata()) {
    Check(f.Find(e.key) == &e.value);
    sink = sink + Touch(e.value, 0);
    (void)f.GetString(e.key);
    (void)f.GetUint(e.key);
    (void)f.GetInt(e.key);
    (void)f.GetFloat(e.key);
    (void)f.GetBool(e.key);
    (void)f.GetStringArray(e.key);
    (void)f.GetFloatArray(e.key);
    (void)f.GetIntArray(e.key);
  }
  std::vector<float> row;
  for (const TensorInfo& t : f.tensors()) {
    Check(f.FindTensor(t.name) == &t);
    Check(t.offset % f.alignment() == 0);
    Check(t.n_elements() >= 0);
    const int64_t n_row = t.shape.empty() ? 1 : t.shape[0];
    const std::optional<size_t> row_bytes = RowBytes(t.type, n_row);
    Check(row_bytes.has_value());
    if (t.n_bytes == 0 || n_row > (1 << 20)) continue;  // keep each run cheap
    Check(*row_bytes <= t.n_bytes);
    // Read the whole tensor's first and last byte: both must lie inside the buffer.
    sink = sink + t.data[0] + t.data[t.n_bytes - 1];
    row.resize(static_cast<size_t>(n_row));
    Check(DequantizeRow(t.type, t.data, row.data(), n_row).ok());
  }
  (void)sink;
  return 0;
}
