// GPT-2's byte <-> unicode map: the printable Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') map to
// themselves, the other 68 bytes to U+0100.. in byte order, so every token is printable text.
#include "lmlab/tokenizer/byte_unicode.h"

#include <array>
#include <cstdint>

namespace lmlab::tokenizer {
namespace {

struct Tables {
  std::array<uint32_t, 256> code_of_byte{};
  std::array<int16_t, 324> byte_of_code{};  // code points up to U+0143

  Tables() {
    byte_of_code.fill(-1);
    uint32_t next = 256;
    for (uint32_t b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      code_of_byte[b] = printable ? b : next++;
      byte_of_code[code_of_byte[b]] = static_cast<int16_t>(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else {  // the map only produces code points below U+0800
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

std::string bytes_to_unicode(std::string_view bytes) {
  const auto& t = tables();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) append_utf8(out, t.code_of_byte[c]);
  return out;
}

std::optional<std::string> unicode_to_bytes(std::string_view text) {
  const auto& t = tables();
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    uint32_t cp;
    if (c < 0x80) {
      cp = c;
      i += 1;
    } else if ((c & 0xE0) == 0xC0 && i + 1 < text.size() &&
               (static_cast<unsigned char>(text[i + 1]) & 0xC0) == 0x80) {
      cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(text[i + 1]) & 0x3Fu);
      i += 2;
    } else {
      return std::nullopt;
    }
    if (cp >= t.byte_of_code.size() || t.byte_of_code[cp] < 0) return std::nullopt;
    out += static_cast<char>(t.byte_of_code[cp]);
  }
  return out;
}

}  // namespace lmlab::tokenizer
