// `lmlab data rsel-build`: a response-selection set in the Ubuntu/E-commerce TSV layout
// (text_records.h: `label \t u_1 \t ... \t u_k \t response`) built from real conversations:
//   LIMA      each conversation: its history turns (user, assistant, ...) then instruction, output
//   HC3       question, the first human answer                       (open_qa, medicine)
//   Alpaca    instruction (+ " " + input), output
// Every dialogue is normalised (tabs/newlines -> spaces, runs of spaces collapsed, each
// utterance cut to max_chars bytes at a UTF-8 boundary), dialogues with an empty turn are
// dropped, and of dialogues with the same context (all but the last turn) only the first is kept.
// Split (disjoint by dialogue, hence by context): the kept dialogues are shuffled with `seed`;
// the first test_dialogues go to test, the next valid_dialogues to valid, the rest to train.
// Lines per dialogue, as the real sets:
//   train       1 positive + 1 negative                                (Ubuntu train: 1:1)
//   valid, test 1 positive first, then `negatives` negatives           (R10: 1 + 9)
// A negative is the last turn of another dialogue of the SAME split (so no test text leaks into
// train), drawn uniformly, never equal in text to the positive nor to another negative.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lmlab::data {

struct RselBuildOptions {
  std::string lima, alpaca;      // instruction JSON files ("" = not used)
  std::vector<std::string> hc3;  // HC3 {"question", "human_answers"} JSONL files
  std::string output;            // directory: train.tsv, valid.tsv, test.tsv, meta.json
  int64_t valid_dialogues = 300, test_dialogues = 500;
  int64_t negatives = 9;
  int64_t max_chars = 600;
  int64_t max_dialogues = 0;  // > 0: keep only this many after the shuffle (toy sets)
  uint64_t seed = 1;
};

// One conversation, oldest utterance first (>= 2 utterances).
struct Dialogue {
  std::string source;
  std::vector<std::string> turns;
};

// Tabs, "\r", "\n" -> space; runs of spaces collapsed; trimmed; cut to max_chars bytes without
// splitting a UTF-8 character.
std::string normalise_utterance(const std::string& text, int64_t max_chars);

// The dialogues of the sources, normalised and deduplicated, in source order.
std::vector<Dialogue> read_rsel_sources(const RselBuildOptions& o);

// The TSV lines of one split (see the header comment); `rng_seed` drives the negatives.
std::string rsel_lines(const std::vector<Dialogue>& split, int64_t negatives_per_context, uint64_t rng_seed);

// Builds the set and returns meta.json's content (counts per split and source, the options).
// UserError when a split would hold fewer than negatives + 1 dialogues.
nlohmann::json build_rsel_set(const RselBuildOptions& o);

// The files build_rsel_set writes into the output (a directory holding only these is an
// earlier set that may be overwritten; common/output_dir.h).
const std::vector<std::string>& rsel_output_files();

}  // namespace lmlab::data
