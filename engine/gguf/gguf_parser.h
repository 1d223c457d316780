// The validating GGUF parser behind File::Open / File::FromBuffer (internal to engine/gguf).
// It fills a File's metadata and tensor tables from the bytes File already holds, checking every
// length, count and offset against the bytes that remain, so that no later access can overrun.
#pragma once

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "engine/gguf/gguf_file.h"

namespace cachewire::gguf {

// Limits that keep a hostile file from costing unbounded memory or stack.
inline constexpr int kMaxArrayDepth = 8;             // array nesting (an array of arrays is 2)
inline constexpr uint64_t kMaxArrayItems = 1 << 24;  // metadata array elements, whole file
inline constexpr uint32_t kMaxDims = 4;              // GGML_MAX_DIMS

class Parser {
 public:
  // Parses file.base_[0, file.size_) into `file`. On error `file` is left partly filled and
  // must be dropped; the message reads "<path>: <field>: <what is wrong>".
  static absl::Status Parse(File& file);

 private:
  class Impl;  // defined in gguf_parser.cc; as a member of the friend it may fill File
};

}  // namespace cachewire::gguf
