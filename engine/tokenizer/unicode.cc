// UTF-8 decoding, NFC and the GPT-2 byte map (see unicode.h).
#include "engine/tokenizer/unicode.h"

#include <cstdlib>

#include "utf8proc.h"

namespace cachewire::tokenizer {

namespace {

bool IsCont(unsigned char c) { return (c & 0xC0) == 0x80; }

// Byte values GPT-2 keeps as themselves: printable Latin-1 minus space and soft hyphen.
bool KeepsItself(int b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct ByteMaps {
  std::array<std::string, 256> to_unicode;
  std::array<int, 512> from_unicode;  // every code point of the map is < 0x144
  ByteMaps() {
    from_unicode.fill(-1);
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      uint32_t cp = KeepsItself(b) ? static_cast<uint32_t>(b) : static_cast<uint32_t>(256 + n++);
      AppendUtf8(cp, &to_unicode[b]);
      from_unicode[cp] = b;
    }
  }
};

const ByteMaps& Maps() {
  static const ByteMaps* maps = new ByteMaps();
  return *maps;
}

}  // namespace

size_t Utf8SeqLen(std::string_view text, size_t pos) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  const unsigned char c = s[pos];
  if (c < 0x80) return 1;
  if (c < 0xC2) return 1;  // continuation byte or overlong 2-byte lead
  if (c < 0xE0) return (pos + 1 < n && IsCont(s[pos + 1])) ? 2 : 1;
  if (c < 0xF0) {
    if (pos + 2 >= n || !IsCont(s[pos + 1]) || !IsCont(s[pos + 2])) return 1;
    if (c == 0xE0 && s[pos + 1] < 0xA0) return 1;   // overlong
    if (c == 0xED && s[pos + 1] >= 0xA0) return 1;  // surrogate
    return 3;
  }
  if (c < 0xF5) {
    if (pos + 3 >= n || !IsCont(s[pos + 1]) || !IsCont(s[pos + 2]) || !IsCont(s[pos + 3])) {
      return 1;
    }
    if (c == 0xF0 && s[pos + 1] < 0x90) return 1;   // overlong
    if (c == 0xF4 && s[pos + 1] >= 0x90) return 1;  // > U+10FFFF
    return 4;
  }
  return 1;
}

uint32_t DecodeUtf8(std::string_view text, size_t pos, size_t* len) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data()) + pos;
  const size_t l = Utf8SeqLen(text, pos);
  *len = l;
  switch (l) {
    case 1:
      return s[0] < 0x80 ? s[0] : kInvalidCodepoint;
    case 2:
      return (uint32_t{s[0] & 0x1Fu} << 6) | (s[1] & 0x3Fu);
    case 3:
      return (uint32_t{s[0] & 0x0Fu} << 12) | (uint32_t{s[1] & 0x3Fu} << 6) | (s[2] & 0x3Fu);
    default:
      return (uint32_t{s[0] & 0x07u} << 18) | (uint32_t{s[1] & 0x3Fu} << 12) |
             (uint32_t{s[2] & 0x3Fu} << 6) | (s[3] & 0x3Fu);
  }
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

size_t IncompleteUtf8Tail(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  // Find the last lead byte within 3 bytes of the end; the bytes after it are continuations.
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const unsigned char c = s[n - back];
    if (IsCont(c)) continue;
    const size_t need = c >= 0xC2 && c < 0xE0 ? 2 : c >= 0xE0 && c < 0xF0 ? 3
                        : c >= 0xF0 && c < 0xF5 ? 4 : 1;
    if (need <= back) return 0;  // complete (or invalid): nothing to wait for
    if (back >= 2) {             // the second byte's range depends on the lead
      const unsigned char c1 = s[n - back + 1];
      if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0) ||
          (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 >= 0x90)) {
        return 0;
      }
    }
    return back;
  }
  return 0;
}

bool IsAscii(std::string_view text) {
  for (char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

void AppendNfc(std::string_view text, std::string* out) {
  size_t pos = 0;
  while (pos < text.size()) {
    // Copy ASCII and invalid bytes straight through; hand each valid non-ASCII run (with the
    // ASCII byte before it, which a combining mark could attach to) to utf8proc.
    size_t run_start = pos;
    size_t run_end = pos;
    bool non_ascii = false;
    while (run_end < text.size()) {
      size_t len = Utf8SeqLen(text, run_end);
      if (len == 1 && static_cast<unsigned char>(text[run_end]) >= 0x80) break;  // invalid
      non_ascii |= len > 1;
      run_end += len;
    }
    std::string_view run = text.substr(run_start, run_end - run_start);
    if (!non_ascii) {
      out->append(run);
    } else {
      utf8proc_uint8_t* dst = nullptr;
      utf8proc_ssize_t m = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(run.data()),
                                        static_cast<utf8proc_ssize_t>(run.size()), &dst,
                                        static_cast<utf8proc_option_t>(UTF8PROC_STABLE |
                                                                       UTF8PROC_COMPOSE));
      if (m >= 0 && dst != nullptr) {
        out->append(reinterpret_cast<const char*>(dst), static_cast<size_t>(m));
      } else {
        out->append(run);  // cannot happen for valid input; keep the text rather than drop it
      }
      std::free(dst);
    }
    pos = run_end;
    if (pos < text.size()) out->push_back(text[pos++]);  // the invalid byte
  }
}

const std::array<std::string, 256>& ByteToUnicode() { return Maps().to_unicode; }

int UnicodeToByte(uint32_t cp) { return cp < 512 ? Maps().from_unicode[cp] : -1; }

}  // namespace cachewire::tokenizer
