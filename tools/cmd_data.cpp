// lmlab data prepare --tokenizer tok.json --input F... --output DIR [--val-fraction X]
#include <iostream>

#include "commands.h"
#include "lmlab/data/prepare.h"

namespace lmlab::cli {

void add_data_commands(CLI::App& app) {
  auto* data = app.add_subcommand("data", "Prepare token shards for training");
  data->require_subcommand(1);
  auto o = std::make_shared<data::PrepareOptions>();
  auto* sub = data->add_subcommand("prepare", "Tokenize text files into token shards (train.bin, val.bin, meta.json)");
  sub->add_option("--tokenizer", o->tokenizer, "tokenizer.json")->required();
  sub->add_option("--input", o->inputs, "Text files (.gz is decompressed)")->required();
  sub->add_option("--output", o->output, "Output directory")->required();
  sub->add_option("--val-fraction", o->val_fraction, "Fraction of the documents held out for validation (the last ones)");
  sub->add_option("--val-input", o->val_inputs, "Validation text files (instead of --val-fraction)");
  sub->add_option("--doc-split", o->doc_split,
                  "How files split into documents: eot (<|endoftext|> markers), line, file, auto (eot if present)")
      ->check(CLI::IsMember({"auto", "eot", "line", "file"}));
  sub->add_option("--threads", o->threads, "Tokenizer threads (0 = all cores)");
  sub->callback([o] {
    nlohmann::json meta = data::prepare_data(*o);
    std::cout << "wrote " << o->output << "/train.bin (" << meta["train"]["tokens"] << " tokens, "
              << meta["train"]["documents"] << " documents), val.bin (" << meta["val"]["tokens"]
              << " tokens), meta.json, tokenizer.json\n";
  });
}

}  // namespace lmlab::cli
