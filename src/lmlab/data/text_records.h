// Readers for labelled text records: JSONL text classification (HC3 / HC3 Plus) and
// response-selection TSV (Ubuntu, E-commerce, Douban). Each returns every record of the file
// and throws a UserError "file:line[:col]: problem" at the first bad one, so a file that
// reads is a file every record of which the tasks can use.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lmlab::data {

// One line `{"text": str, "label": int >= 0, ...}`; other keys are ignored, blank lines skipped.
struct TextExample {
  std::string text;
  int64_t label = 0;
};
std::vector<TextExample> read_text_jsonl(const std::string& path);

// One line `label \t utterance_1 \t ... \t utterance_k \t response` with label 0 or 1 and
// k >= 1. Fields may be empty (the Ubuntu sample has empty turns); "\r\n" endings and a last
// line without "\n" are accepted.
struct ResponseExample {
  int64_t label = 0;                 // 1: `response` is the true next turn, 0: a negative
  std::vector<std::string> context;  // the utterances, oldest first
  std::string response;
};
std::vector<ResponseExample> read_response_tsv(const std::string& path);

}  // namespace lmlab::data
