// Labelled texts for human-vs-model detection, read from either HC3 layout, and the
// deterministic split that keeps every question's answers on one side.
//
//   HC3 Plus:     {"text": str, "label": 0|1}                       0 = human, 1 = model (ChatGPT)
//   original HC3: {"question": str, "human_answers": [str...], "chatgpt_answers": [str...]}
//                 -> one example per answer, label 0 / 1, the question kept as context.
// The layout is decided per line (a file may mix them). Other keys are ignored; an optional
// "question" string on a {"text","label"} line is kept too (our split files write it).
//
// Split: key = question when there is one, else the text; h = FNV-1a 64(key) mixed with the
// seed; u = h / 2^64 in [0, 1);  u < val -> "val", u < val + test -> "test", else "train".
// Equal keys always land together, so no question has answers on two sides.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lmlab::detect {

constexpr int kHuman = 0, kModel = 1;

struct DetectExample {
  std::string text;
  int label = kHuman;
  std::string question;  // "" when the source has none
};

// Every example of a file in either layout; UserError "file:line: problem" at the first bad line.
std::vector<DetectExample> read_detect_file(const std::string& path);
// The same on text already read (`name` is used in the errors, e.g. "<stdin>").
std::vector<DetectExample> read_detect_text(const std::string& name, const std::string& text);
std::vector<DetectExample> read_detect_files(const std::vector<std::string>& paths);

std::string label_word(int label);  // "human" | "model"
// Every detector decides "model" when P(model) >= 0.5 (a majority vote's tie counts as model).
inline int decide(double p_model) { return p_model >= 0.5 ? kModel : kHuman; }

uint64_t fnv1a64(const std::string& s);
// Which side an example's key falls on: "train", "val" or "test".
std::string split_of(const DetectExample& ex, double val_fraction, double test_fraction, uint64_t seed);

struct Split {
  std::vector<DetectExample> train, val, test;
};
Split hash_split(const std::vector<DetectExample>& all, double val_fraction, double test_fraction, uint64_t seed);

// At most `max` examples (max <= 0: all), chosen by the hash of their text (so the choice does
// not depend on the input order), kept in their input order.
std::vector<DetectExample> subsample(const std::vector<DetectExample>& xs, int64_t max, uint64_t seed);

// {"text","label"[,"question"]} per line, atomically.
void write_detect_jsonl(const std::string& path, const std::vector<DetectExample>& xs);

// The first `max_bytes` bytes of `s`, cut back to a whole UTF-8 character.
std::string utf8_prefix(const std::string& s, size_t max_bytes);

}  // namespace lmlab::detect
