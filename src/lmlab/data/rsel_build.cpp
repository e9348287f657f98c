// Response-selection set builder (rules in rsel_build.h).
#include "lmlab/data/rsel_build.h"

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/data/instructions.h"
#include "lmlab/data/record_lines.h"

namespace lmlab::data {

std::string normalise_utterance(const std::string& text, int64_t max_chars) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
    if (space) {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  if (max_chars > 0 && static_cast<int64_t>(out.size()) > max_chars) {
    size_t cut = static_cast<size_t>(max_chars);
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
    out.resize(cut);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

namespace {

void add_dialogue(std::vector<Dialogue>& out, const std::string& source, const std::vector<std::string>& raw,
                  int64_t max_chars) {
  Dialogue d{source, {}};
  for (const auto& t : raw) {
    d.turns.push_back(normalise_utterance(t, max_chars));
    if (d.turns.back().empty()) return;  // a dialogue with an empty turn is dropped
  }
  out.push_back(std::move(d));
}

void read_instruction_dialogues(std::vector<Dialogue>& out, const std::string& path, const std::string& source,
                                int64_t max_chars) {
  for (const Instruction& r : read_instructions(path)) {
    std::vector<std::string> turns;
    for (const auto& [user, assistant] : r.history) {
      turns.push_back(user);
      turns.push_back(assistant);
    }
    turns.push_back(r.input.empty() ? r.instruction : r.instruction + " " + r.input);
    turns.push_back(r.output);
    add_dialogue(out, source, turns, max_chars);
  }
}

void read_hc3_dialogues(std::vector<Dialogue>& out, const std::string& path, int64_t max_chars) {
  for_each_json_line(path, read_file(path), [&](const nlohmann::json& r, const SourcePos& at) {
    auto q = r.find("question");
    auto a = r.find("human_answers");
    if (q == r.end() || !q->is_string()) throw_user_error(at, "'question' must be a string");
    if (a == r.end() || !a->is_array()) throw_user_error(at, "'human_answers' must be an array of strings");
    if (a->empty()) return;  // nothing to pair the question with
    if (!(*a)[0].is_string()) throw_user_error(at, "'human_answers' must be an array of strings");
    add_dialogue(out, "hc3", {q->get<std::string>(), (*a)[0].get<std::string>()}, max_chars);
  });
}

std::string context_key(const Dialogue& d) {
  std::string key;
  for (size_t i = 0; i + 1 < d.turns.size(); ++i) key += d.turns[i] + '\t';
  return key;
}

}  // namespace

std::vector<Dialogue> read_rsel_sources(const RselBuildOptions& o) {
  std::vector<Dialogue> all;
  if (!o.lima.empty()) read_instruction_dialogues(all, o.lima, "lima", o.max_chars);
  for (const auto& f : o.hc3) read_hc3_dialogues(all, f, o.max_chars);
  if (!o.alpaca.empty()) read_instruction_dialogues(all, o.alpaca, "alpaca", o.max_chars);
  std::set<std::string> seen;
  std::vector<Dialogue> out;
  for (auto& d : all)
    if (seen.insert(context_key(d)).second) out.push_back(std::move(d));
  return out;
}

std::string rsel_lines(const std::vector<Dialogue>& split, int64_t negatives_per_context, uint64_t rng_seed) {
  std::mt19937_64 rng(rng_seed);
  std::string out;
  auto line = [&](const Dialogue& d, const std::string& response, bool positive) {
    out += positive ? "1" : "0";
    for (size_t i = 0; i + 1 < d.turns.size(); ++i) out += "\t" + d.turns[i];
    out += "\t" + response + "\n";
  };
  const size_t n = split.size();
  for (size_t i = 0; i < n; ++i) {
    const std::string& positive = split[i].turns.back();
    line(split[i], positive, true);
    std::set<std::string> used = {positive};
    // Rejection sampling; bounded so that a split of near-identical responses cannot loop forever.
    for (int64_t k = 0, tries = 0; k < negatives_per_context; ++tries) {
      if (tries > 1000 * (negatives_per_context + 1))
        throw UserError("rsel-build: too few distinct responses to draw " + std::to_string(negatives_per_context) +
                        " negatives for a context");
      const size_t j = static_cast<size_t>(rng() % n);
      if (j == i || !used.insert(split[j].turns.back()).second) continue;
      line(split[i], split[j].turns.back(), false);
      ++k;
    }
  }
  return out;
}

const std::vector<std::string>& rsel_output_files() {
  static const std::vector<std::string> files = {"train.tsv", "valid.tsv", "test.tsv", "meta.json"};
  return files;
}

nlohmann::json build_rsel_set(const RselBuildOptions& o) {
  if (o.lima.empty() && o.alpaca.empty() && o.hc3.empty()) throw UserError("rsel-build: give at least one source");
  if (o.negatives < 1) throw UserError("rsel-build: --negatives must be >= 1");
  std::vector<Dialogue> all = read_rsel_sources(o);
  std::mt19937_64 rng(o.seed);
  for (size_t i = all.size(); i > 1; --i) std::swap(all[i - 1], all[rng() % i]);  // same on every platform
  if (o.max_dialogues > 0 && static_cast<int64_t>(all.size()) > o.max_dialogues) all.resize(o.max_dialogues);
  const int64_t n = static_cast<int64_t>(all.size());
  const int64_t n_test = std::min(o.test_dialogues, n), n_valid = std::min(o.valid_dialogues, n - n_test);
  const int64_t n_train = n - n_test - n_valid;
  using Count = std::pair<const char*, int64_t>;
  for (const auto& [name, size] : {Count{"test", n_test}, Count{"valid", n_valid}, Count{"train", n_train}})
    if (size < o.negatives + 1)
      throw UserError(std::string("rsel-build: the ") + name + " split would hold " + std::to_string(size) +
                      " dialogues (of " + std::to_string(n) + "); it needs at least " + std::to_string(o.negatives + 1));
  auto part = [&](int64_t from, int64_t count) {
    return std::vector<Dialogue>(all.begin() + from, all.begin() + from + count);
  };
  struct Split {
    std::string name;
    std::vector<Dialogue> dialogues;
    int64_t negatives;
  };
  std::vector<Split> splits = {{"train", part(n_test + n_valid, n_train), 1},
                               {"valid", part(n_test, n_valid), o.negatives},
                               {"test", part(0, n_test), o.negatives}};
  make_dirs(o.output);
  nlohmann::json meta = {{"format", "label \\t utterance_1 \\t ... \\t utterance_k \\t response"},
                         {"seed", o.seed},
                         {"max_chars", o.max_chars},
                         {"dialogues_after_dedup", n},
                         {"sources", {{"lima", o.lima}, {"alpaca", o.alpaca}, {"hc3", o.hc3}}}};
  for (size_t s = 0; s < splits.size(); ++s) {
    const Split& sp = splits[s];
    std::map<std::string, int64_t> by_source;
    for (const auto& d : sp.dialogues) ++by_source[d.source];
    write_file_atomic(o.output + "/" + sp.name + ".tsv", rsel_lines(sp.dialogues, sp.negatives, o.seed * 31 + s + 1));
    meta["splits"][sp.name] = {{"dialogues", sp.dialogues.size()},
                               {"negatives_per_context", sp.negatives},
                               {"lines", static_cast<int64_t>(sp.dialogues.size()) * (1 + sp.negatives)},
                               {"by_source", by_source}};
  }
  write_file_atomic(o.output + "/meta.json", meta.dump(2) + "\n");
  return meta;
}

}  // namespace lmlab::data
