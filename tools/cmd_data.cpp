// lmlab data prepare --tokenizer tok.json --input F... --output DIR [--val-fraction X]
// lmlab data check FILE... [--format auto|idx|cifar10|text-jsonl|response-tsv|instructions]
#include <algorithm>
#include <iostream>

#include "commands.h"
#include "lmlab/common/output_dir.h"
#include "lmlab/data/data_check.h"
#include "lmlab/data/documents.h"
#include "lmlab/data/prepare.h"

namespace lmlab::cli {

namespace {

void add_check_command(CLI::App& data) {
  auto files = std::make_shared<std::vector<std::string>>();
  auto format = std::make_shared<std::string>("auto");
  auto* sub = data.add_subcommand(
      "check", "Read data files with lmlab's readers and print one summary line per file; the first bad record "
               "stops it with file:line (or byte / record) and exit status 2");
  sub->add_option("files", *files, "Data files (.gz is decompressed)")->required();
  std::vector<std::string> formats{"auto"};
  for (const auto& f : data::data_formats()) formats.push_back(f);
  sub->add_option("--format", *format,
                  "auto (by name: *idx* -> idx, *cifar*.bin -> cifar10, .json -> instructions, .jsonl -> "
                  "instructions if the first record has \"instruction\" else text-jsonl, .txt/.tsv -> response-tsv)")
      ->check(CLI::IsMember(formats));
  sub->callback([files, format] {
    for (const auto& f : *files) std::cout << data::check_data_file(f, *format) << std::endl;
  });
}

// "heading" when every file used one rule, else "eot, heading (val: line)" in file order.
std::string split_rules(const nlohmann::json& doc_split) {
  auto list = [](const nlohmann::json& rules) {
    std::vector<std::string> seen;
    for (const auto& r : rules)
      if (std::find(seen.begin(), seen.end(), r) == seen.end()) seen.push_back(r);
    std::string out;
    for (const auto& r : seen) out += (out.empty() ? "" : ", ") + r;
    return out;
  };
  std::string train = list(doc_split["inputs"]), val = list(doc_split["val_inputs"]);
  return val.empty() || val == train ? train : train + " (val: " + val + ")";
}

}  // namespace

void add_data_commands(CLI::App& app) {
  auto* data = app.add_subcommand("data", "Prepare token shards for training and check data files");
  data->require_subcommand(1);
  auto o = std::make_shared<data::PrepareOptions>();
  auto force = std::make_shared<bool>(false);
  auto* sub = data->add_subcommand("prepare", "Tokenize text files into token shards (train.bin, val.bin, meta.json)");
  sub->add_option("--tokenizer", o->tokenizer, "tokenizer.json")->required();
  sub->add_option("--input", o->inputs, "Text files (.gz is decompressed)")->required();
  sub->add_option("--output", o->output, "Output directory")->required();
  sub->add_option("--val-fraction", o->val_fraction, "Fraction of the documents held out for validation (the last ones)");
  sub->add_option("--val-input", o->val_inputs, "Validation text files (instead of --val-fraction)");
  sub->add_option("--doc-split", o->doc_split,
                  "How each file splits into documents: eot (<|endoftext|> markers), heading (a WikiText '= Title =' "
                  "line starts one), blank (blank lines between), line, file, auto (the first of eot, heading, "
                  "blank the file shows, else file)")
      ->check(CLI::IsMember(data::doc_split_names()));
  sub->add_option("--threads", o->threads, "Tokenizer threads, also within one file (0 = all cores)");
  sub->add_flag("--force", *force, "Write into --output even when it holds files that are not prepared data");
  sub->callback([o, force] {
    std::vector<NamedPath> inputs = {{"--tokenizer", o->tokenizer}};
    for (const auto& f : o->inputs) inputs.push_back({"--input", f});
    for (const auto& f : o->val_inputs) inputs.push_back({"--val-input", f});
    check_output_dir({{"--output", o->output}, inputs, data::prepare_output_files(), *force});
    nlohmann::json meta = data::prepare_data(*o);
    std::cout << "wrote " << o->output << "/train.bin (" << meta["train"]["tokens"] << " tokens, "
              << meta["train"]["documents"] << " documents), val.bin (" << meta["val"]["tokens"] << " tokens, "
              << meta["val"]["documents"] << " documents), meta.json, tokenizer.json; documents split by "
              << split_rules(meta["doc_split"]) << "\n";
  });
  add_check_command(*data);
  add_rsel_build_command(*data);
}

}  // namespace lmlab::cli
