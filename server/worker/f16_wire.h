// Latent slots on the wire: f32 values as IEEE binary16, little-endian (cachewire.v1.SummaryChunk
// carries them so). Halves the bytes a handoff moves; the LCF decoder's inputs are normed
// activations, far inside f16's range and well served by its 11-bit mantissa.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace cachewire::server::worker {

// Round to nearest, ties to even; beyond f16's range gives +-infinity, NaN stays NaN.
uint16_t Fp32ToFp16(float value);

// Appends `values` as 2 bytes each (low byte first) to `out`. Returns the index of the first
// value that is not finite in f16 (NaN, or out of range), or -1 when all are.
int64_t AppendF16(std::span<const float> values, std::string* out);

// Decodes bytes.size() / 2 values into `out` (room for them; an odd trailing byte is the
// caller's to refuse). Returns the index of the first non-finite value, or -1.
int64_t DecodeF16(std::string_view bytes, float* out);

}  // namespace cachewire::server::worker
