// GPT-2's reversible byte <-> unicode map used by byte-level BPE files (tokenizer.json stores
// every token as a string of these printable code points, one per byte).
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace lmlab::tokenizer {

// Raw token bytes -> the UTF-8 string stored in tokenizer.json ("Ġthe" for " the").
std::string bytes_to_unicode(std::string_view bytes);
// Inverse of bytes_to_unicode; nullopt when a code point is not one of the 256 mapped ones.
std::optional<std::string> unicode_to_bytes(std::string_view text);

}  // namespace lmlab::tokenizer
