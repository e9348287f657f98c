// The two fields that make a large tokenizer.json large (cl100k_base: 100,256 vocab entries and
// 233,378 merges, 5.5 MB) read straight from the text, without nlohmann's DOM: building and
// freeing a std::map node and a string per entry cost most of a 0.6 s load, which is start-up
// time of every `lmlab tokenizer` command. The rest of the file (a few KB) is still parsed by
// nlohmann. Only a strict subset of JSON is accepted here (plain integers, the common string
// escapes); anything else returns nullopt and the caller parses the whole text as before, so
// what is accepted and every error message stay those of the full parser (tokenizer_json.cpp).
#pragma once
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lmlab::tokenizer {

struct LargeFields {
  std::string rest;  // the text with model.vocab's value replaced by {} and model.merges' by []
  // Views into the scanned text, or into `unescaped` for strings that had escapes.
  std::vector<std::pair<std::string_view, uint32_t>> vocab;           // in file order
  std::vector<std::pair<std::string_view, std::string_view>> merges;  // "left right" or [left, right]
  std::deque<std::string> unescaped;
};

// nullopt unless `text` is an object whose "model" object holds both "vocab" (an object of
// token -> integer below `max_id`) and "merges" (strings with one space, or pairs of strings),
// each key once. `text` must outlive the result.
std::optional<LargeFields> split_large_fields(std::string_view text, uint64_t max_id);

}  // namespace lmlab::tokenizer
