// Parsers for the zero-shot task files; the prompt layouts are listed in task_data.h.
#include "lmlab/eval/task_data.h"

#include <nlohmann/json.hpp>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/common/json_text.h"

namespace lmlab::eval {

namespace {

using nlohmann::json;

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = end + 1;
  }
  return lines;
}

bool reached(const TaskData& t, int64_t limit) { return limit > 0 && static_cast<int64_t>(t.items.size()) >= limit; }

// One JSON object per non-empty line; `fn(object, line_number)` for each.
template <class Fn>
void for_each_json_line(const std::string& path, int64_t limit, const TaskData& t, Fn fn) {
  std::vector<std::string> lines = split_lines(read_file(path));
  for (size_t i = 0; i < lines.size() && !reached(t, limit); ++i) {
    if (lines[i].find_first_not_of(" \t") == std::string::npos) continue;
    const int64_t line_no = static_cast<int64_t>(i) + 1;
    const json obj = parse_json(lines[i], SourcePos{path, line_no, 1, -1});
    if (!obj.is_object()) throw_user_error(SourcePos{path, line_no, 1, -1}, "expected a JSON object");
    fn(obj, line_no);
  }
}

const json& field(const json& obj, const char* key, json::value_t type, const SourcePos& pos) {
  auto it = obj.find(key);
  bool ok = it != obj.end() && (it->type() == type || (type == json::value_t::number_integer &&
                                                       it->type() == json::value_t::number_unsigned));
  if (!ok) {
    const char* what = type == json::value_t::string ? "string" : type == json::value_t::array ? "array" : "integer";
    throw_user_error(pos, std::string("missing or non-") + what + " field '" + key + "'");
  }
  return *it;
}

std::string string_field(const json& obj, const char* key, const SourcePos& pos) {
  return field(obj, key, json::value_t::string, pos).get<std::string>();
}

Choice make_choice(std::string context, const std::string& choice) {
  return Choice{Request{std::move(context), " " + choice}, utf8_length(choice)};
}

int64_t parse_index(const std::string& text, int64_t n, const SourcePos& pos) {
  if (text.empty() || text.size() > 3 || text.find_first_not_of("0123456789") != std::string::npos)
    throw_user_error(pos, "expected an answer index, got '" + text + "'");
  int64_t v = std::stoll(text);
  if (v >= n) throw_user_error(pos, "answer index " + text + " out of range (" + std::to_string(n) + " choices)");
  return v;
}

}  // namespace

int64_t utf8_length(const std::string& text) {
  int64_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

std::string hellaswag_preprocess(const std::string& text) {
  size_t b = text.find_first_not_of(" \t\n\r\f\v"), e = text.find_last_not_of(" \t\n\r\f\v");
  std::string s = b == std::string::npos ? "" : text.substr(b, e - b + 1);
  for (size_t p; (p = s.find(" [title]")) != std::string::npos;) s.replace(p, 8, ". ");
  std::string no_brackets;
  for (size_t i = 0; i < s.size(); ++i) {
    size_t close = s[i] == '[' ? s.find(']', i) : std::string::npos;
    if (close != std::string::npos) {
      i = close;  // re.sub("\\[.*?\\]", "", text): the shortest bracketed span
    } else {
      no_brackets += s[i];
    }
  }
  std::string out;  // Python's str.replace("  ", " "): one left-to-right pass
  for (size_t i = 0; i < no_brackets.size(); ++i) {
    out += no_brackets[i];
    if (no_brackets[i] == ' ' && i + 1 < no_brackets.size() && no_brackets[i + 1] == ' ') ++i;
  }
  return out;
}

std::string hellaswag_capitalize_ctx_b(const std::string& context) {
  size_t start = 0;  // just after the last ". ", "! " or "? "
  for (size_t i = 0; i + 1 < context.size(); ++i)
    if ((context[i] == '.' || context[i] == '!' || context[i] == '?') && context[i + 1] == ' ') start = i + 2;
  if (start == 0 || start >= context.size()) return context;
  const char first = context[start], last = context.back();
  if (first < 'a' || first > 'z' || last == '.' || last == '!' || last == '?') return context;
  std::string out = context;
  out[start] = static_cast<char>(first - 'a' + 'A');
  return out;
}

TaskData parse_hellaswag(const std::string& path, int64_t limit) {
  TaskData t{"hellaswag", TaskMetrics::kAccAndNorm, {}, ""};
  std::vector<std::string> lines = split_lines(read_file(path));
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.size() % 6 != 0)
    throw_user_error(SourcePos{path, static_cast<int64_t>(lines.size()), 1, -1},
                     "expected 6 lines per item (context, gold index, 4 endings), file has " +
                         std::to_string(lines.size()) + " lines");
  for (size_t i = 0; i + 6 <= lines.size() && !reached(t, limit); i += 6) {
    Item item;
    std::string context = hellaswag_capitalize_ctx_b(hellaswag_preprocess(lines[i]));
    item.gold = parse_index(lines[i + 1], 4, SourcePos{path, static_cast<int64_t>(i) + 2, 1, -1});
    for (size_t k = 0; k < 4; ++k) item.choices.push_back(make_choice(context, hellaswag_preprocess(lines[i + 2 + k])));
    t.items.push_back(std::move(item));
  }
  return t;
}

TaskData parse_piqa(const std::string& jsonl_path, const std::string& labels_path, int64_t limit) {
  TaskData t{"piqa", TaskMetrics::kAccAndNorm, {}, ""};
  std::vector<std::string> labels = split_lines(read_file(labels_path));
  for_each_json_line(jsonl_path, limit, t, [&](const json& obj, int64_t line_no) {
    SourcePos pos{jsonl_path, line_no, 1, -1};
    std::string context = "Question: " + string_field(obj, "goal", pos) + "\nAnswer:";
    Item item;
    item.choices = {make_choice(context, string_field(obj, "sol1", pos)),
                    make_choice(context, string_field(obj, "sol2", pos))};
    const int64_t k = static_cast<int64_t>(t.items.size());  // labels align with items
    if (k >= static_cast<int64_t>(labels.size()))
      throw_user_error(SourcePos{labels_path, k + 1, 1, -1}, "missing label for " + jsonl_path + ":" + std::to_string(line_no));
    item.gold = parse_index(labels[k], 2, SourcePos{labels_path, k + 1, 1, -1});
    t.items.push_back(std::move(item));
  });
  return t;
}

TaskData parse_winogrande(const std::string& path, int64_t limit) {
  TaskData t{"winogrande", TaskMetrics::kAcc, {}, ""};
  for_each_json_line(path, limit, t, [&](const json& obj, int64_t line_no) {
    SourcePos pos{path, line_no, 1, -1};
    std::string sentence = string_field(obj, "sentence", pos);
    size_t blank = sentence.find('_');
    if (blank == std::string::npos) throw_user_error(pos, "sentence has no blank '_'");
    std::string rest = sentence.substr(blank + 1);
    size_t b = rest.find_first_not_of(" \t\n\r"), e = rest.find_last_not_of(" \t\n\r");
    rest = b == std::string::npos ? "" : rest.substr(b, e - b + 1);
    Item item;
    for (const char* key : {"option1", "option2"}) {
      std::string context = sentence.substr(0, blank) + string_field(obj, key, pos);
      // Partial scoring: every choice scores the same continuation after a different context.
      item.choices.push_back(Choice{Request{context, " " + rest}, utf8_length(context)});
    }
    std::string answer = string_field(obj, "answer", pos);
    if (answer != "1" && answer != "2") throw_user_error(pos, "answer must be \"1\" or \"2\", got \"" + answer + "\"");
    item.gold = answer == "1" ? 0 : 1;
    t.items.push_back(std::move(item));
  });
  return t;
}

TaskData parse_mosaic_choices(const std::string& name, const std::string& path, const std::string& suffix,
                              TaskMetrics metrics, int64_t limit, const ItemFix& fix) {
  TaskData t{name, metrics, {}, ""};
  for_each_json_line(path, limit, t, [&](const json& obj, int64_t line_no) {
    SourcePos pos{path, line_no, 1, -1};
    std::string context = string_field(obj, "query", pos) + suffix;
    const json& choices = field(obj, "choices", json::value_t::array, pos);
    if (choices.size() < 2) throw_user_error(pos, "'choices' needs at least 2 entries");
    Item item;
    for (const json& c : choices) {
      if (!c.is_string()) throw_user_error(pos, "'choices' must hold strings");
      item.choices.push_back(make_choice(context, c.get<std::string>()));
    }
    int64_t gold = field(obj, "gold", json::value_t::number_integer, pos).get<int64_t>();
    if (gold < 0 || gold >= static_cast<int64_t>(choices.size()))
      throw_user_error(pos, "'gold' " + std::to_string(gold) + " out of range (" + std::to_string(choices.size()) + " choices)");
    item.gold = gold;
    if (fix) fix(item, pos);
    t.items.push_back(std::move(item));
  });
  return t;
}

namespace {

// COPA: "{premise without its period}, because|therefore" -> lm-eval's "... because" (no comma),
// and each choice " x" (lm-eval's doc_to_choice) after the " " delimiter: "  x".
void copa_as_lm_eval(Item& item, const SourcePos& pos) {
  for (Choice& c : item.choices) {
    std::string& q = c.request.context;
    const size_t comma = q.rfind(", ");
    const std::string connector = comma == std::string::npos ? "" : q.substr(comma + 2);
    if (connector != "because" && connector != "therefore")
      throw_user_error(pos, "COPA query must end in \", because\" or \", therefore\"");
    q.erase(comma, 1);
    c.request.continuation = " " + c.request.continuation;
    c.norm_chars += 1;
  }
}

// llm-foundry's BoolQ conversion turned every " question" of the text into "\nQuestion"
// (22 of 3,270 passages have one); this undoes it.
std::string undo_question_newlines(std::string text) {
  for (size_t p; (p = text.find("\nQuestion")) != std::string::npos;) text.replace(p, 9, " question");
  return text;
}

// BoolQ: "Passage: {p}\nQuestion: {q}?" -> lm-eval's "{p}\nQuestion: {q}?\nAnswer:".
void boolq_as_lm_eval(Item& item, const SourcePos& pos) {
  const std::string prefix = "Passage: ", sep = "\nQuestion: ";
  const std::string& q = item.choices[0].request.context;
  const size_t cut = q.rfind(sep);
  if (q.compare(0, prefix.size(), prefix) != 0 || cut == std::string::npos || cut < prefix.size() || q.back() != '?')
    throw_user_error(pos, "BoolQ query must read \"Passage: ...\\nQuestion: ...?\"");
  const std::string context = undo_question_newlines(q.substr(prefix.size(), cut - prefix.size())) + sep +
                              undo_question_newlines(q.substr(cut + sep.size())) + "\nAnswer:";
  for (Choice& c : item.choices) c.request.context = context;
}

}  // namespace

TaskData parse_copa(const std::string& path, int64_t limit) {
  return parse_mosaic_choices("copa", path, "", TaskMetrics::kAcc, limit, copa_as_lm_eval);
}

TaskData parse_boolq(const std::string& path, int64_t limit) {
  TaskData t = parse_mosaic_choices("boolq", path, "", TaskMetrics::kAcc, limit, boolq_as_lm_eval);
  t.note = "passages lack the Wikipedia title lm-eval's start with (\"Title -- \"), which the data file does not have";
  return t;
}

TaskData parse_lambada(const std::string& path, int64_t limit) {
  TaskData t{"lambada", TaskMetrics::kLastWord, {}, ""};
  for_each_json_line(path, limit, t, [&](const json& obj, int64_t line_no) {
    SourcePos pos{path, line_no, 1, -1};
    Item item;
    item.choices = {make_choice(string_field(obj, "context", pos), string_field(obj, "continuation", pos))};
    t.items.push_back(std::move(item));
  });
  return t;
}

const std::vector<std::string>& task_names() {
  static const std::vector<std::string> names = {"hellaswag",  "piqa", "winogrande", "arc_easy", "arc_challenge",
                                                 "openbookqa", "copa", "boolq",      "lambada"};
  return names;
}

namespace {

// A task file with no items would score "acc 0.0 ± 0.0"; it is an error instead.
TaskData non_empty(TaskData t, const std::string& path) {
  if (t.items.empty()) throw_user_error(path, "holds no items: nothing to score");
  return t;
}

}  // namespace

TaskData load_task(const std::string& name, const std::string& eval_dir, int64_t limit) {
  const std::string d = eval_dir + "/";
  auto mosaic = [&](const std::string& file, const char* suffix, TaskMetrics m) {
    return non_empty(parse_mosaic_choices(name, d + file, suffix, m, limit), d + file);
  };
  auto with = [&](const std::string& file, TaskData (*parse)(const std::string&, int64_t)) {
    return non_empty(parse(d + file, limit), d + file);
  };
  if (name == "hellaswag") return with("hellaswag/hellaswag_val_full.txt.gz", parse_hellaswag);
  if (name == "piqa") return non_empty(parse_piqa(d + "piqa/valid.jsonl", d + "piqa/valid-labels.lst", limit), d + "piqa/valid.jsonl");
  if (name == "winogrande") return with("winogrande/dev.jsonl", parse_winogrande);
  if (name == "arc_easy") return mosaic("arc/arc_easy_test.mosaic.jsonl", "\nAnswer:", TaskMetrics::kAccAndNorm);
  if (name == "arc_challenge") return mosaic("arc/arc_challenge_test.mosaic.jsonl", "\nAnswer:", TaskMetrics::kAccAndNorm);
  if (name == "openbookqa") return mosaic("openbookqa/openbookqa_test.mosaic.jsonl", "", TaskMetrics::kAccAndNorm);
  if (name == "copa") return with("copa/copa.mosaic.jsonl", parse_copa);
  if (name == "boolq") return with("boolq/boolq_dev.mosaic.jsonl", parse_boolq);
  if (name == "lambada") return with("lambada/lambada_openai_test.mosaic.jsonl", parse_lambada);
  std::vector<std::string> all = task_names();
  all.push_back("ppl");
  throw UserError("unknown task '" + name + "'" + did_you_mean(name, all));
}

}  // namespace lmlab::eval
