// Test helper: a copy of an adapter file with one field changed (a key or tensor dropped, a
// tensor one row short, another architecture, another layer map), for the loaders' error tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/gguf/gguf_file.h"
#include "engine/gguf/gguf_writer.h"

namespace cachewire::adapter::testing {

// One change to an adapter file, so each malformed copy differs from it in one field.
struct AdapterChange {
  std::string drop_key = "";
  std::string drop_tensor = "";
  std::string shorten_tensor = "";     // one row fewer
  std::string architecture = "";          // replaces general.architecture when not empty
  std::vector<uint32_t> layer_map = {};  // replaces the file's when not empty
};

// Writes `source` with `change` applied to CACHEWIRE_BINARY_DIR/out_name; returns that path.
inline std::string RewriteAdapter(const std::string& source, const std::string& out_name,
                                  const AdapterChange& change) {
  auto file = gguf::File::Open(source);
  EXPECT_TRUE(file.ok());
  gguf::Writer w;
  for (const gguf::MetadataEntry& e : (*file)->metadata()) {
    const std::string key(e.key);
    if (key == change.drop_key) continue;
    gguf::OwnedValue value;
    if (key == "general.architecture" && !change.architecture.empty()) {
      value = gguf::OwnedValue::Str(change.architecture);
    } else if (e.value.type == gguf::ValueType::kString) {
      value = gguf::OwnedValue::Str(std::string(std::get<std::string_view>(e.value.data)));
    } else if (e.value.type == gguf::ValueType::kArray) {
      std::vector<gguf::OwnedValue> items;
      auto ints = (*file)->GetIntArray(key);
      EXPECT_TRUE(ints.ok()) << key;
      for (int64_t x : *ints) items.push_back(gguf::OwnedValue::U32(static_cast<uint32_t>(x)));
      if (key == "cachewire.c2c.layer_map" && !change.layer_map.empty()) {
        items.clear();
        for (uint32_t x : change.layer_map) items.push_back(gguf::OwnedValue::U32(x));
      }
      value = gguf::OwnedValue::Arr(gguf::ValueType::kUint32, std::move(items));
    } else {
      value = gguf::OwnedValue::U32(static_cast<uint32_t>(std::get<uint64_t>(e.value.data)));
    }
    EXPECT_TRUE(w.Set(key, std::move(value)).ok()) << key;
  }
  for (const gguf::TensorInfo& t : (*file)->tensors()) {
    if (t.name == change.drop_tensor) continue;
    std::vector<int64_t> shape = t.shape;
    std::vector<uint8_t> data(t.data, t.data + t.n_bytes);
    if (t.name == change.shorten_tensor) {
      data.resize(data.size() - data.size() / static_cast<size_t>(shape.back()));
      shape.back() -= 1;
    }
    EXPECT_TRUE(w.AddTensor(std::string(t.name), t.type, shape, data).ok());
  }
  const std::string path = std::string(CACHEWIRE_BINARY_DIR) + "/" + out_name;
  EXPECT_TRUE(w.WriteFile(path).ok());
  return path;
}

}  // namespace cachewire::adapter::testing
