// UTF-8 helpers the tokenizers share: decoding that never fails (invalid bytes come back as
// one-byte units so callers can carry them through), NFC normalisation through utf8proc, and the
// GPT-2 byte <-> unicode map that byte-level BPE vocabularies are written in.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cachewire::tokenizer {

// Length in bytes of the UTF-8 sequence starting at text[pos]: 1..4 for a well-formed sequence
// (no overlongs, no surrogates, <= U+10FFFF), and 1 for an invalid or truncated one, so that an
// invalid byte is a unit of its own.
size_t Utf8SeqLen(std::string_view text, size_t pos);

// The code point at text[pos] and its length; an invalid byte yields kInvalidCodepoint, len 1.
inline constexpr uint32_t kInvalidCodepoint = 0xFFFFFFFF;
uint32_t DecodeUtf8(std::string_view text, size_t pos, size_t* len);

// Appends the UTF-8 encoding of `cp` (must be <= U+10FFFF).
void AppendUtf8(uint32_t cp, std::string* out);

// Number of bytes at the end of `text` that start a well-formed sequence which is not complete
// yet (0..3): what a streaming decoder holds back until more bytes arrive.
size_t IncompleteUtf8Tail(std::string_view text);

// Appends NFC(text) to *out. Maximal valid runs are normalised, invalid bytes are copied
// unchanged (utf8proc rejects invalid input as a whole; we must not lose the rest).
void AppendNfc(std::string_view text, std::string* out);

// True when every byte is ASCII (NFC is then the identity).
bool IsAscii(std::string_view text);

// GPT-2's reversible map from the 256 byte values to printable code points, as UTF-8 strings
// ("Ġ" for ' ', "Ċ" for '\n'); byte-level BPE vocabularies spell tokens with these.
const std::array<std::string, 256>& ByteToUnicode();
// Inverse map: the byte a code point stands for, or -1 when it is not one of the 256.
int UnicodeToByte(uint32_t cp);

}  // namespace cachewire::tokenizer
