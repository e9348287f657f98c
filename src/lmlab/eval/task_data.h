// Zero-shot task files (shared/data/eval, MANIFEST.md section 5) -> log-likelihood requests laid
// out as lm-evaluation-harness 0.4.x formats them (docs/eval.md lists every prompt and what
// the llm-foundry copies of the data still leave different: BoolQ's passage titles).
//   hellaswag   "{label}: {ctx_a} {Ctx_b}" (cleaned)    + " " + ending
//   piqa        "Question: {goal}\nAnswer:"            + " " + sol
//   winogrande  sentence[:blank] + option              + " " + sentence[blank+1:].strip()
//   arc_*       "{query}\nAnswer:"  (query = "Question: ...")  + " " + choice
//   openbookqa  "{query}"                              + " " + choice
//   copa        "{premise minus period} therefore"     + "  " + choice   (two spaces)
//   boolq       "{passage}\nQuestion: {question}?\nAnswer:" + " " + "no"/"yes"
//   lambada     "{context}"                            + " " + last word
// A malformed file is a UserError "file:line:col: problem".
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lmlab/common/error.h"
#include "lmlab/eval/scorer.h"

namespace lmlab::eval {

struct Choice {
  Request request;
  int64_t norm_chars = 0;  // length in characters of the choice text (no delimiter), for acc_norm
};

struct Item {
  std::vector<Choice> choices;
  int64_t gold = 0;
};

// Which metrics lm-evaluation-harness reports for a task.
enum class TaskMetrics {
  kAccAndNorm,  // acc, acc_norm
  kAcc,         // acc only (winogrande, copa, boolq)
  kLastWord,    // one choice per item: acc = greedy, perplexity = exp(-mean log-likelihood)
};

struct TaskData {
  std::string name;
  TaskMetrics metrics = TaskMetrics::kAccAndNorm;
  std::vector<Item> items;
  std::string note;  // how the requests still differ from lm-eval's, "" when they do not
};

// The task names `lmlab eval --tasks` accepts besides "ppl", in the order results are shown.
const std::vector<std::string>& task_names();

// Loads task `name` from `eval_dir` (the shared data's eval/ directory); limit > 0 keeps the
// first `limit` items. UserError for an unknown name (with a suggestion) or a bad file.
TaskData load_task(const std::string& name, const std::string& eval_dir, int64_t limit = 0);

// The parsers, one per file layout (exposed for tests).
TaskData parse_hellaswag(const std::string& path, int64_t limit = 0);
TaskData parse_piqa(const std::string& jsonl_path, const std::string& labels_path, int64_t limit = 0);
TaskData parse_winogrande(const std::string& path, int64_t limit = 0);
// llm-foundry {"query", "choices", "gold"}; `suffix` is appended to the query ("\nAnswer:"), then
// `fix` (when set) rewrites each item into lm-eval's layout (UserError at `pos` when it cannot).
using ItemFix = std::function<void(Item& item, const SourcePos& pos)>;
TaskData parse_mosaic_choices(const std::string& name, const std::string& path, const std::string& suffix,
                              TaskMetrics metrics, int64_t limit = 0, const ItemFix& fix = {});
TaskData parse_copa(const std::string& path, int64_t limit = 0);
TaskData parse_boolq(const std::string& path, int64_t limit = 0);
TaskData parse_lambada(const std::string& path, int64_t limit = 0);

// lm-eval's HellaSwag text cleanup: strip, " [title]" -> ". ", drop "[...]", "  " -> " ".
std::string hellaswag_preprocess(const std::string& text);
// lm-eval builds the context from ctx_a + " " + ctx_b.capitalize(); the data file joined them
// with ctx_b as it is (lower case). ctx_b is taken to be the text after the last ". ", "! " or
// "? " when it starts with a lower-case ASCII letter and does not itself end a sentence (which
// excludes "u.s. citizens."-like WikiHow sentences); its first letter is upper-cased.
std::string hellaswag_capitalize_ctx_b(const std::string& context);
// Number of Unicode code points in UTF-8 text (Python's len()).
int64_t utf8_length(const std::string& text);

}  // namespace lmlab::eval
