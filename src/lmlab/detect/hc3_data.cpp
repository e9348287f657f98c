// HC3 / HC3 Plus readers and the hash split (formats and rule in hc3_data.h).
#include "lmlab/detect/hc3_data.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/data/record_lines.h"

namespace lmlab::detect {

namespace {

using nlohmann::json;

std::string string_key(const json& record, const char* key, const SourcePos& at) {
  auto it = record.find(key);
  if (it == record.end()) throw_user_error(at, std::string("missing key '") + key + "'");
  if (!it->is_string()) throw_user_error(at, std::string("'") + key + "' must be a string, got " + data::json_type_name(*it));
  return it->get<std::string>();
}

void add_answers(const json& record, const char* key, int label, const std::string& question, const SourcePos& at,
                 std::vector<DetectExample>& out) {
  auto it = record.find(key);
  if (it == record.end()) throw_user_error(at, std::string("missing key '") + key + "' (an original HC3 line)");
  if (!it->is_array()) throw_user_error(at, std::string("'") + key + "' must be an array of strings, got " + data::json_type_name(*it));
  for (size_t i = 0; i < it->size(); ++i) {
    const json& a = (*it)[i];
    if (!a.is_string())
      throw_user_error(at, std::string("'") + key + "'[" + std::to_string(i) + "] must be a string, got " + data::json_type_name(a));
    if (a.get<std::string>().find_first_not_of(" \t\r\n") == std::string::npos) continue;  // HC3 has a few empty answers
    out.push_back({a.get<std::string>(), label, question});
  }
}

void read_line(const json& record, const SourcePos& line_at, std::vector<DetectExample>& out) {
  const SourcePos at{line_at.file, line_at.line, 0};
  if (record.contains("text") || record.contains("label")) {
    DetectExample ex;
    ex.text = string_key(record, "text", at);
    auto label = record.find("label");
    if (label == record.end()) throw_user_error(at, "missing key 'label'");
    if (!label->is_number_integer() || (label->get<int64_t>() != kHuman && label->get<int64_t>() != kModel))
      throw_user_error(at, "'label' must be 0 (human) or 1 (model), got " + label->dump());
    ex.label = label->get<int>();
    if (record.contains("question")) ex.question = string_key(record, "question", at);
    out.push_back(std::move(ex));
  } else if (record.contains("question")) {
    const std::string q = string_key(record, "question", at);
    add_answers(record, "human_answers", kHuman, q, at, out);
    add_answers(record, "chatgpt_answers", kModel, q, at, out);
  } else {
    throw_user_error(at, "expected {\"text\", \"label\"} (HC3 Plus) or {\"question\", \"human_answers\", "
                         "\"chatgpt_answers\"} (HC3)");
  }
}

double unit_interval(uint64_t h) { return static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0); }  // 53 bits

uint64_t mix(uint64_t h, uint64_t seed) {  // splitmix64 finaliser: the seed changes every bit
  h ^= seed + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

}  // namespace

std::vector<DetectExample> read_detect_text(const std::string& name, const std::string& text) {
  std::vector<DetectExample> out;
  data::for_each_json_line(name, text, [&](const json& record, const SourcePos& at) { read_line(record, at, out); });
  if (out.empty()) throw_user_error(name, "no examples");
  return out;
}

std::vector<DetectExample> read_detect_file(const std::string& path) { return read_detect_text(path, read_file(path)); }

std::string label_word(int label) { return label == kModel ? "model" : "human"; }

std::vector<DetectExample> read_detect_files(const std::vector<std::string>& paths) {
  std::vector<DetectExample> out;
  for (const auto& p : paths) {
    auto xs = read_detect_file(p);
    out.insert(out.end(), std::make_move_iterator(xs.begin()), std::make_move_iterator(xs.end()));
  }
  return out;
}

uint64_t fnv1a64(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

std::string split_of(const DetectExample& ex, double val_fraction, double test_fraction, uint64_t seed) {
  const double u = unit_interval(mix(fnv1a64(ex.question.empty() ? ex.text : ex.question), seed));
  if (u < val_fraction) return "val";
  if (u < val_fraction + test_fraction) return "test";
  return "train";
}

Split hash_split(const std::vector<DetectExample>& all, double val_fraction, double test_fraction, uint64_t seed) {
  if (val_fraction < 0 || test_fraction < 0 || val_fraction + test_fraction >= 1)
    throw UserError("split fractions: val " + std::to_string(val_fraction) + " + test " + std::to_string(test_fraction) +
                    " must be >= 0 and leave some training data (< 1)");
  Split s;
  for (const auto& ex : all) {
    const std::string side = split_of(ex, val_fraction, test_fraction, seed);
    (side == "val" ? s.val : side == "test" ? s.test : s.train).push_back(ex);
  }
  return s;
}

std::vector<DetectExample> subsample(const std::vector<DetectExample>& xs, int64_t max, uint64_t seed) {
  if (max <= 0 || static_cast<int64_t>(xs.size()) <= max) return xs;
  std::vector<std::pair<uint64_t, size_t>> keyed;
  for (size_t i = 0; i < xs.size(); ++i) keyed.push_back({mix(fnv1a64(xs[i].text), seed ^ 0x5eedULL), i});
  std::nth_element(keyed.begin(), keyed.begin() + max, keyed.end());
  std::vector<size_t> keep;
  for (int64_t i = 0; i < max; ++i) keep.push_back(keyed[i].second);
  std::sort(keep.begin(), keep.end());
  std::vector<DetectExample> out;
  for (size_t i : keep) out.push_back(xs[i]);
  return out;
}

void write_detect_jsonl(const std::string& path, const std::vector<DetectExample>& xs) {
  std::string out;
  for (const auto& ex : xs) {
    json j = {{"text", ex.text}, {"label", ex.label}};
    if (!ex.question.empty()) j["question"] = ex.question;
    out += j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  }
  write_file_atomic(path, out);
}

std::string utf8_prefix(const std::string& s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t n = max_bytes;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // s[n] continues a character
  return s.substr(0, n);
}

}  // namespace lmlab::detect
