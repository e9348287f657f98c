// Streamed detokenizing (see text_stream.h).
#include "lmlab/eval/text_stream.h"

#include <vector>

namespace lmlab::eval {

namespace {

// Bytes of the sequence a lead byte starts (RFC 3629: C2..DF, E0..EF, F0..F4); 0 when it cannot
// start a multi-byte character (ASCII, a continuation byte, C0, C1, F5..FF).
int sequence_length(unsigned char lead) {
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// The range the byte after `lead` must be in; it excludes overlong forms and surrogates.
bool valid_second(unsigned char lead, unsigned char b) {
  switch (lead) {
    case 0xE0: return b >= 0xA0 && b <= 0xBF;
    case 0xED: return b >= 0x80 && b <= 0x9F;
    case 0xF0: return b >= 0x90 && b <= 0xBF;
    case 0xF4: return b >= 0x80 && b <= 0x8F;
    default: return b >= 0x80 && b <= 0xBF;
  }
}

bool continuation(unsigned char b) { return b >= 0x80 && b <= 0xBF; }

}  // namespace

size_t utf8_complete_prefix(std::string_view bytes) {
  const size_t n = bytes.size();
  // The last lead byte among the final 3 (a 4-byte character lacks at most 3 bytes).
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const auto lead = static_cast<unsigned char>(bytes[n - back]);
    if (continuation(lead)) continue;
    const int need = sequence_length(lead);
    if (need <= static_cast<int>(back)) return n;  // complete, or bytes no character can use
    for (size_t i = n - back + 1; i < n; ++i) {
      const auto b = static_cast<unsigned char>(bytes[i]);
      if (i == n - back + 1 ? !valid_second(lead, b) : !continuation(b)) return n;  // can never complete
    }
    return n - back;
  }
  return n;
}

std::string TextStream::push(uint32_t id) {
  held_ += tok_.decode(std::vector<uint32_t>{id});
  const size_t ready = utf8_complete_prefix(held_);
  std::string out = held_.substr(0, ready);
  held_.erase(0, ready);
  return out;
}

std::string TextStream::finish() {
  std::string out;
  out.swap(held_);
  return out;
}

}  // namespace lmlab::eval
