// tokenizer.json reader and writer (format in tokenizer_json.h). Every rejection names the field.
#include "lmlab/tokenizer/tokenizer_json.h"

#include <nlohmann/json.hpp>
#include <set>
#include <string_view>
#include <type_traits>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/common/json_text.h"
#include "lmlab/common/limits.h"
#include "lmlab/tokenizer/byte_unicode.h"
#include "lmlab/tokenizer/pretokenizer.h"
#include "lmlab/tokenizer/string_id_map.h"
#include "lmlab/tokenizer/tokenizer_json_scan.h"

namespace lmlab::tokenizer {
namespace {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

struct Reader {
  const std::string& name;
  const LargeFields* large = nullptr;  // model.vocab and model.merges, when scanned from the text

  [[noreturn]] void fail(const std::string& field, const std::string& problem) const {
    throw UserError(name + ": " + field + ": " + problem);
  }
  const json& need(const json& obj, const std::string& key, const std::string& field) const {
    if (!obj.is_object()) fail(field, "expected an object");
    auto it = obj.find(key);
    if (it == obj.end()) fail(field + "." + key, "missing");
    return *it;
  }
  bool flag(const json& obj, const std::string& key, bool fallback, const std::string& field) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) fail(field + "." + key, "expected true or false");
    return it->get<bool>();
  }
  std::string text(const json& v, const std::string& field) const {
    if (!v.is_string()) fail(field, "expected a string");
    return v.get<std::string>();
  }
  // `field` is the field's name or, where building it for every entry of a 100k vocabulary would
  // cost more than the check, a function that returns it (called only to fail).
  template <class Field>
  uint32_t id(const json& v, const Field& field) const {
    // The bound comes before anything is sized by the id (2^31 - 1 used to allocate until bad_alloc).
    if (!v.is_number_unsigned() || v.get<uint64_t>() >= static_cast<uint64_t>(kMaxVocabSize))
      fail(name_of(field), "expected a token id (an integer in [0, " + std::to_string(kMaxVocabSize - 1) + "]), got " + v.dump());
    return v.get<uint32_t>();
  }
  template <class Field>
  static std::string name_of(const Field& field) {
    if constexpr (std::is_invocable_v<Field>) return field();
    else return field;
  }

  // The three pre-tokenizer steps we support, in this order: the split regex, the optional
  // single-digit split, the byte-level mapping.
  void pre_tokenizer(const json& pt, Model& m) const {
    const std::string field = "pre_tokenizer";
    if (pt.is_null()) fail(field, "missing (a byte-level BPE needs ByteLevel)");
    std::vector<std::pair<json, std::string>> steps;
    if (text(need(pt, "type", field), field + ".type") == "Sequence") {
      const json& list = need(pt, "pretokenizers", field);
      if (!list.is_array()) fail(field + ".pretokenizers", "expected an array");
      for (size_t i = 0; i < list.size(); ++i)
        steps.push_back({list[i], field + ".pretokenizers[" + std::to_string(i) + "]"});
    } else {
      steps.push_back({pt, field});
    }
    bool have_pattern = false, have_byte_level = false;
    for (const auto& [step, where] : steps) {
      std::string type = text(need(step, "type", where), where + ".type");
      if (have_byte_level) fail(where, "nothing may follow ByteLevel");
      if (type == "Split") {
        if (have_pattern) fail(where, "only one Split is supported");
        const json& pattern = need(step, "pattern", where);
        if (!pattern.is_object() || !pattern.contains("Regex"))
          fail(where + ".pattern", "only {\"Regex\": ...} patterns are supported");
        m.pattern = text(pattern["Regex"], where + ".pattern.Regex");
        if (step.value("behavior", "Isolated") != "Isolated") fail(where + ".behavior", "only Isolated is supported");
        if (flag(step, "invert", false, where)) fail(where + ".invert", "only false is supported");
        have_pattern = true;
      } else if (type == "Digits") {
        if (!have_pattern) fail(where, "Digits must follow the Split step");
        if (!flag(step, "individual_digits", false, where)) fail(where + ".individual_digits", "only true is supported");
        m.split_digits = true;
      } else if (type == "ByteLevel") {
        if (flag(step, "add_prefix_space", false, where)) fail(where + ".add_prefix_space", "only false is supported");
        bool use_regex = flag(step, "use_regex", true, where);
        if (use_regex && have_pattern) fail(where + ".use_regex", "must be false after a Split step");
        if (use_regex) m.pattern = pretokenizer_pattern("gpt2");
        if (!use_regex && !have_pattern) fail(where + ".use_regex", "false needs a Split step before it");
        have_byte_level = true;
      } else {
        fail(where + ".type", "'" + type + "' is not supported (Split, Digits, ByteLevel)");
      }
    }
    if (!have_byte_level) fail(field, "no ByteLevel step: not a byte-level BPE tokenizer");
  }

  Model model(const json& root) const {
    Model m;
    if (!root.is_object()) fail("(top level)", "expected an object");
    if (root.contains("normalizer") && !root["normalizer"].is_null()) fail("normalizer", "only null is supported");
    const json& model = need(root, "model", "(top level)");
    if (model.contains("type") && text(model["type"], "model.type") != "BPE")
      fail("model.type", "'" + model["type"].get<std::string>() + "' is not supported (only BPE)");
    if (model.contains("dropout") && !model["dropout"].is_null()) fail("model.dropout", "only null is supported");
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
      if (model.contains(key) && !model[key].is_null() && model[key] != "")
        fail(std::string("model.") + key, "only null is supported");
    if (flag(model, "byte_fallback", false, "model")) fail("model.byte_fallback", "only false is supported");
    m.ignore_merges = flag(model, "ignore_merges", false, "model");

    const json& vocab = need(model, "vocab", "model");
    if (!vocab.is_object()) fail("model.vocab", "expected an object {token: id}");
    std::set<std::string, std::less<>> added_contents;  // added tokens may sit in the vocab under their raw text
    if (root.contains("added_tokens") && root["added_tokens"].is_array())
      for (const json& a : root["added_tokens"])
        if (a.is_object() && a.contains("content") && a["content"].is_string()) added_contents.insert(a["content"].get<std::string>());
    // Keys point into the DOM's or the scanned text's strings, which outlive the map; the field
    // names of the 100k entries and 230k merges of a large vocabulary are built only to fail.
    StringIdMap id_of(large ? large->vocab.size() : vocab.size());
    auto add_token = [&](std::string_view key, uint32_t id, const auto& where) {
      auto bytes = unicode_to_bytes(key);
      if (!bytes && added_contents.count(key)) bytes = std::string(key);
      if (!bytes || bytes->empty()) fail(where(), "not a byte-level token (a character outside the GPT-2 byte map)");
      if (id >= m.tokens.size()) m.tokens.resize(id + 1);
      if (!m.tokens[id].empty()) fail(where(), "id " + std::to_string(id) + " is used twice");
      m.tokens[id] = std::move(*bytes);
      // A DOM object has each key once; the scanned text may not (and the DOM keeps the last).
      if (!id_of.insert(key, id)) fail(where(), "listed twice");
    };
    if (large) {
      for (const auto& [key, id] : large->vocab)
        add_token(key, id, [&] { return "model.vocab[" + json(std::string(key)).dump() + "]"; });
    } else {
      for (auto it = vocab.begin(); it != vocab.end(); ++it) {
        auto where = [&] { return "model.vocab[" + json(it.key()).dump() + "]"; };
        add_token(it.key(), this->id(it.value(), where), where);
      }
    }

    const json& merges = need(model, "merges", "model");
    if (!merges.is_array()) fail("model.merges", "expected an array");
    m.merges.reserve(large ? large->merges.size() : merges.size());
    std::string joined;
    auto add_merge = [&](std::string_view left, std::string_view right, const auto& where) {
      auto find = [&](std::string_view token) {
        const uint32_t id = id_of.find(token);
        if (id == StringIdMap::kMissing) fail(where(), "'" + std::string(token) + "' is not in model.vocab");
        return id;
      };
      joined.assign(left).append(right);
      m.merges.push_back({find(left), find(right), find(joined)});
    };
    for (size_t i = 0; i < (large ? large->merges.size() : merges.size()); ++i) {
      auto where = [&] { return "model.merges[" + std::to_string(i) + "]"; };
      if (large) {
        add_merge(large->merges[i].first, large->merges[i].second, where);
      } else if (merges[i].is_string()) {
        const std::string& s = merges[i].get_ref<const std::string&>();
        size_t space = s.find(' ');
        if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
          fail(where(), "expected \"left right\"");
        add_merge(std::string_view(s).substr(0, space), std::string_view(s).substr(space + 1), where);
      } else if (merges[i].is_array() && merges[i].size() == 2) {
        const std::string left = text(merges[i][0], where() + "[0]");
        add_merge(left, text(merges[i][1], where() + "[1]"), where);
      } else {
        fail(where(), "expected \"left right\" or [left, right]");
      }
    }

    m.scaffold.assign(m.tokens.size(), 0);
    if (root.contains("added_tokens") && !root["added_tokens"].is_null()) {
      const json& added = root["added_tokens"];
      if (!added.is_array()) fail("added_tokens", "expected an array");
      for (size_t i = 0; i < added.size(); ++i) {
        std::string where = "added_tokens[" + std::to_string(i) + "]";
        uint32_t id = this->id(need(added[i], "id", where), where + ".id");
        std::string content = text(need(added[i], "content", where), where + ".content");
        if (content.empty()) fail(where + ".content", "empty");
        if (id >= m.tokens.size()) m.tokens.resize(id + 1);
        // HF lists an added token in the vocab too, under its own text; an id that is another
        // token's would make that token decode as this one (found by tests/fuzz).
        if (!m.tokens[id].empty() && m.tokens[id] != content)
          fail(where + ".id", std::to_string(id) + " is already model.vocab's token " + json(bytes_to_unicode(m.tokens[id])).dump());
        m.tokens[id] = content;
        m.specials.push_back({content, id});
      }
    }
    m.scaffold.assign(m.tokens.size(), 0);
    m.scaffold_count.assign(m.tokens.size(), 0);
    if (root.contains("lmlab")) {
      const json& ext = root["lmlab"];
      if (!ext.is_object()) fail("lmlab", "expected an object");
      if (ext.contains("algo")) m.algo = text(ext["algo"], "lmlab.algo");
      if (ext.contains("scaffold_tokens")) {
        const json& ids = ext["scaffold_tokens"];
        const json counts = ext.value("scaffold_counts", json::array());
        if (!ids.is_array()) fail("lmlab.scaffold_tokens", "expected an array of ids");
        for (size_t i = 0; i < ids.size(); ++i) {
          std::string where = "lmlab.scaffold_tokens[" + std::to_string(i) + "]";
          uint32_t id = this->id(ids[i], where);
          if (id >= m.tokens.size() || m.tokens[id].size() < 2) fail(where, "not a merged token of model.vocab");
          m.scaffold[id] = 1;
          if (i < counts.size() && counts[i].is_number_unsigned()) m.scaffold_count[id] = counts[i].get<uint64_t>();
        }
      }
    }
    pre_tokenizer(need(root, "pre_tokenizer", "(top level)"), m);
    for (int b = 0; b < 256; ++b) {
      std::string token = bytes_to_unicode(std::string(1, static_cast<char>(b)));
      if (id_of.find(token) == StringIdMap::kMissing) fail("model.vocab", "byte " + std::to_string(b) + " ('" + token + "') is missing");
    }
    return m;
  }
};

}  // namespace

Model parse_tokenizer_json(const std::string& text, const std::string& name) {
  Model m = [&] {
    if (auto large = split_large_fields(text, static_cast<uint64_t>(kMaxVocabSize))) {
      try {
        const json rest = parse_json(large->rest, SourcePos{name, 1, 1});
        return reading_json(name, [&] { return Reader{name, &*large}.model(rest); });
      } catch (const UserError&) {
        // Read again below as a whole: its error is the one to report (positions, entry order).
      }
    }
    const json root = parse_json(text, SourcePos{name, 1, 1});
    return reading_json(name, [&] { return Reader{name}.model(root); });
  }();
  PreTokenizer check(m.pattern, m.split_digits);  // a bad regex is reported now, naming the file
  (void)check;
  return m;
}

Model read_tokenizer_json(const std::string& path) { return parse_tokenizer_json(read_file(path), path); }

std::string to_tokenizer_json(const Model& m) {
  auto key = [&](uint32_t id) {
    for (const auto& [content, sid] : m.specials)
      if (sid == id) return content;
    return bytes_to_unicode(m.tokens[id]);
  };
  ordered_json root;
  root["version"] = "1.0";
  root["truncation"] = nullptr;
  root["padding"] = nullptr;
  root["added_tokens"] = ordered_json::array();
  for (const auto& [content, id] : m.specials)
    root["added_tokens"].push_back({{"id", id}, {"content", content}, {"single_word", false}, {"lstrip", false},
                                    {"rstrip", false}, {"normalized", false}, {"special", true}});
  root["normalizer"] = nullptr;
  ordered_json steps = ordered_json::array();
  steps.push_back({{"type", "Split"}, {"pattern", {{"Regex", m.pattern}}}, {"behavior", "Isolated"}, {"invert", false}});
  if (m.split_digits) steps.push_back({{"type", "Digits"}, {"individual_digits", true}});
  steps.push_back({{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}});
  root["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", steps}};
  root["post_processor"] = nullptr;
  root["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
  json vocab = json::object();  // std::map-backed: ordered_json's linear lookups are quadratic here
  for (uint32_t id = 0; id < m.tokens.size(); ++id)
    if (!m.tokens[id].empty()) vocab[key(id)] = id;
  ordered_json merges = ordered_json::array();
  // A pair merged a second time (possible once another merge re-created one of its parts) is
  // written once: encoders use its first rank, and HF would otherwise keep the last one.
  std::set<std::pair<uint32_t, uint32_t>> written;
  for (const Merge& mg : m.merges)
    if (written.insert({mg.left, mg.right}).second) merges.push_back(key(mg.left) + " " + key(mg.right));
  root["model"] = {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr},
                   {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr},
                   {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", m.ignore_merges},
                   {"vocab", vocab}, {"merges", merges}};
  // HF tokenizers refuses unknown top-level keys (0.23.2: "expected `,` or `}`"), so a plain-BPE
  // file carries no extension and loads there unchanged; a Scaffold-BPE file must not (HF would
  // encode by plain BPE over E, emitting scaffold ids no model saw).
  if (m.algo == "bpe" && m.scaffold_size() == 0) return root.dump(2) + "\n";
  ordered_json ext = {{"algo", m.algo}, {"pretokenizer", pretokenizer_name(m.pattern)}};
  if (m.scaffold_size() > 0) {
    ordered_json ids = ordered_json::array(), counts = ordered_json::array();
    for (uint32_t id = 0; id < m.scaffold.size(); ++id)
      if (m.scaffold[id]) {
        ids.push_back(id);
        counts.push_back(id < m.scaffold_count.size() ? m.scaffold_count[id] : 0);
      }
    ext["scaffold_tokens"] = ids;
    ext["scaffold_counts"] = counts;
  }
  root["lmlab"] = ext;
  return root.dump(2) + "\n";
}

}  // namespace lmlab::tokenizer
