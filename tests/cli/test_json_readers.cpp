// Issue #23 class 5: every JSON file lmlab reads (tokenizer.json, meta.json, trainer.json, the
// safetensors header, eval task files) refuses a wrong type, a number out of range or one no
// double holds with one line naming the file and the field, exit 2 (these were exit 1 with a raw
// nlohmann message naming no file, or an allocation until bad_alloc, or garbage weights, exit 0).
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "expect_error.h"
#include "testing.h"
#include "tiny_run.h"

namespace fs = std::filesystem;
using lmlab::test::expect_one_error_line;
using lmlab::test::read_text;
using lmlab::test::run_lmlab;
using lmlab::test::write_text;
using nlohmann::json;

namespace {

// `path` with `edit` applied to its JSON, written to `out`.
template <class Edit>
void edit_json(const std::string& path, const std::string& out, Edit edit) {
  json j = json::parse(read_text(path));
  edit(j);
  write_text(out, j.dump(1));
}

std::string first_checkpoint(const lmlab::test::TinyRun& run) { return run.file("run/checkpoints/step_00000003"); }

}  // namespace

TEST(JsonReaders, TokenizerJsonNamesTheFileAndTheField) {
  lmlab::test::TinyRun run;
  const std::string tok = run.file("tok.json"), text = run.file("stories.txt");
  auto encode = [&](const std::string& t) { return run_lmlab("tokenizer encode --tokenizer " + t + " --input " + text); };
  // A number no double holds, anywhere in the file.
  std::string body = read_text(tok);
  write_text(run.file("overflow.json"), "{\"x\": 1e400," + body.substr(body.find('{') + 1));
  expect_one_error_line(encode(run.file("overflow.json")), {run.file("overflow.json") + ":1:7:", "number overflow parsing '1e400'"});
  // An id the vocabulary bound refuses before anything is sized by it (2^31 - 1 allocated until bad_alloc).
  edit_json(tok, run.file("id.json"), [](json& j) { j["model"]["vocab"]["zzz"] = 2147483647; });
  expect_one_error_line(encode(run.file("id.json")), {run.file("id.json"), "model.vocab[\"zzz\"]", "2147483647"});
  // A wrong type where the reader takes a default: still the file, and what was wrong.
  edit_json(tok, run.file("type.json"), [](json& j) { j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = 5; });
  expect_one_error_line(encode(run.file("type.json")), {run.file("type.json"), "must be string, but is number"});
  // A split pattern that backtracks past PCRE2's match limit names the file it came from.
  edit_json(tok, run.file("regex.json"), [](json& j) { j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(a+)+\\d"; });
  write_text(run.file("aaa.txt"), std::string(64, 'a'));
  expect_one_error_line(run_lmlab("tokenizer encode --tokenizer " + run.file("regex.json") + " --input " + run.file("aaa.txt")),
                        {run.file("regex.json") + ": pre-tokenizer pattern", "backtracks too much"});
}

TEST(JsonReaders, MetaJsonAndTrainerJsonFieldsAreCheckedWhenRead) {
  lmlab::test::TinyRun run;
  const std::string meta = run.file("data/meta.json"), original = read_text(meta);
  const std::string train = "train --config " + run.file("t.toml") + " --set run.out_dir=" + run.file("other");
  edit_json(meta, meta, [](json& j) { j["vocab_size"] = "300"; });
  expect_one_error_line(run_lmlab(train), {meta, "vocab_size: expected an integer in [1, 16777216], got a string"});
  edit_json(meta, meta, [](json& j) { j["vocab_size"] = 300; j["eot_id"] = -1; });
  expect_one_error_line(run_lmlab(train), {meta, "eot_id: expected an integer in [0, 16777215], got -1"});
  edit_json(meta, meta, [](json& j) { j["eot_id"] = 0; j["val"] = "val.bin"; });
  expect_one_error_line(run_lmlab(train), {meta, "val: expected an object, got a string"});
  write_text(meta, original);

  const std::string trainer = first_checkpoint(run) + "/trainer.json", saved = read_text(trainer);
  const std::string resume = "train --config " + run.file("t.toml") + " --resume --set train.steps=5";
  edit_json(trainer, trainer, [](json& j) { j["step"] = "3"; });
  expect_one_error_line(run_lmlab(resume), {trainer, "step: expected an integer"});
  edit_json(trainer, trainer, [](json& j) { j["step"] = 3; j["loader"] = 7; });
  expect_one_error_line(run_lmlab(resume), {trainer, "loader: expected an object, got an integer"});
  edit_json(trainer, trainer, [](json& j) { j["loader"] = json::object(); });  // right type, fields missing
  expect_one_error_line(run_lmlab(resume), {trainer});
  write_text(trainer, saved);
  EXPECT_EQ(run_lmlab(resume).exit_code, 0);  // the restored file resumes
}

TEST(JsonReaders, ASafetensorsDtypeMustMatchTheModelsParameter) {
  lmlab::test::TinyRun run;
  const std::string weights = first_checkpoint(run) + "/model.safetensors";
  std::string bytes = read_text(weights);
  const size_t at = bytes.find("\"F32\"");
  ASSERT_NE(at, std::string::npos);
  bytes.replace(at, 5, "\"I32\"");  // same width: the file stays valid, its floats read as ints
  write_text(weights, bytes);
  const auto r = run_lmlab("generate --checkpoint " + first_checkpoint(run) + " --prompt the --max-tokens 1");
  expect_one_error_line(r, {weights, "is Int, the model needs Float"});
}

TEST(JsonReaders, AnEvalTaskLineWithANumberNoDoubleHoldsNamesItsLine) {
  lmlab::test::TempDir dir;
  fs::create_directories(dir.file("eval/copa"));
  write_text(dir.file("eval/copa/copa.mosaic.jsonl"), "{\"query\": \"a\", \"gold\": 1e400}\n");
  const auto r = run_lmlab("eval --checkpoint " + dir.file("none") + " --tasks copa", "", "LMLAB_DATA=" + dir.path() + " ");
  expect_one_error_line(r, {dir.file("eval/copa/copa.mosaic.jsonl") + ":1:", "number overflow parsing '1e400'"});
}
