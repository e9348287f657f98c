// lmlab detect: human-vs-model text detection (HC3 Plus, docs/hc3.md). split / sft-data prepare
// the data, train fits or assembles a detector, eval scores labelled files (table + JSON),
// predict labels one text per line. The logic is in src/lmlab/detect/.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/common/output_dir.h"
#include "lmlab/config/config.h"
#include "lmlab/detect/detector.h"
#include "lmlab/detect/run_detect.h"
#include "lmlab/train/device.h"

namespace lmlab::cli {

namespace {

std::string fmt(const nlohmann::json& v) {
  if (v.is_null()) return "n/a";
  std::ostringstream s;
  s << std::fixed << std::setprecision(4) << v.get<double>();
  return s.str();
}

std::string eval_table(const detect::EvalReport& r) {
  std::ostringstream out;
  out << "detector: " << r.detector["detector"].get<std::string>() << "\n";
  out << std::left << std::setw(28) << "file" << std::right << std::setw(8) << "texts" << std::setw(9) << "acc"
      << std::setw(11) << "F1(model)" << std::setw(9) << "AUROC" << "   confusion [[h->h, h->m], [m->h, m->m]]\n";
  for (const auto& f : r.files) {
    const auto& m = f.metrics;
    out << std::left << std::setw(28) << std::filesystem::path(f.path).filename().string() << std::right << std::setw(8)
        << m["records"].get<int64_t>() << std::setw(9) << fmt(m["acc"]) << std::setw(11) << fmt(m["f1_model"])
        << std::setw(9) << fmt(m["auroc"]) << "   " << m["confusion"].dump() << "\n";
  }
  return out.str();
}

void add_split(CLI::App& detect) {
  auto o = std::make_shared<detect::SplitOptions>();
  auto* sub = detect.add_subcommand("split", "Hash-split HC3 / HC3 Plus files by question into train/val/test JSONL");
  sub->add_option("--input", o->inputs, "HC3 Plus {text,label} or HC3 {question,human_answers,chatgpt_answers} JSONL")->required();
  sub->add_option("--output-prefix", o->prefix, "writes PREFIX.{train,val,test}.jsonl and PREFIX.train.txt")->required();
  sub->add_option("--val", o->val, "share of questions (texts without one) for validation")->capture_default_str();
  sub->add_option("--test", o->test, "share for test")->capture_default_str();
  sub->add_option("--seed", o->seed, "hash seed")->capture_default_str();
  sub->add_option("--max-train", o->max_train, "keep at most N training examples (0 = all)");
  sub->add_option("--max-val", o->max_val, "keep at most N validation examples (0 = all)");
  sub->add_option("--max-test", o->max_test, "keep at most N test examples (0 = all)");
  sub->callback([o] { std::cout << detect::split_to_files(*o).dump() << "\n"; });
}

void add_sft_data(CLI::App& detect) {
  struct Opts {
    std::vector<std::string> inputs;
    std::string templates, output;
    int64_t text_bytes = 600, seed = 1;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = detect.add_subcommand("sft-data", "Instruction-detector SFT records: template + text -> human|model");
  sub->add_option("--input", o->inputs, "labelled JSONL (either HC3 layout)")->required();
  sub->add_option("--templates", o->templates, "template JSONL (configs/hc3/templates/<lang>.jsonl)")->required();
  sub->add_option("--output", o->output, "instruction JSONL for `lmlab train` with run.task = \"sft\"")->required();
  sub->add_option("--text-bytes", o->text_bytes, "cut each text to this many bytes")->capture_default_str();
  sub->add_option("--seed", o->seed, "template choice seed")->capture_default_str();
  sub->callback([o] {
    const int64_t n = detect::write_sft_data(o->inputs, o->templates, o->output, o->text_bytes, o->seed);
    std::cerr << "detect sft-data: wrote " << n << " records to " << o->output << "\n";
  });
}

void add_train(CLI::App& detect) {
  struct Opts {
    std::string config;
    std::vector<std::string> sets;
    bool print_config = false, force = false;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = detect.add_subcommand("train", "Fit a detector (ngram, lm_stats) or wrap a trained checkpoint (encoder, instruct)");
  sub->add_option("--config", o->config, "TOML with a [detect] section");
  sub->add_option("--set", o->sets, "override: detect.key=value (repeatable)");
  sub->add_flag("--print-config", o->print_config, "print every [detect] key with its default and help, then exit");
  sub->add_flag("--force", o->force, "write into detect.out_dir even when it holds files that are not a detector's");
  sub->callback([o] {
    detect::DetectFile f;
    if (o->print_config) {
      std::cout << config::describe(config::Schema::of(f));
      return;
    }
    if (o->config.empty() && o->sets.empty()) throw UserError("detect train: give --config F.toml (and/or --set)");
    config::load(f, o->config, o->sets);
    const detect::DetectConfig& d = f.detect;
    std::vector<NamedPath> inputs = {{"detect.checkpoint", d.checkpoint}};
    for (const auto& p : d.train_files) inputs.push_back({"detect.train_files", p});
    for (const auto& p : d.val_files) inputs.push_back({"detect.val_files", p});
    check_output_dir({{"detect.out_dir", d.out_dir}, inputs, detect::detector_dir_files(), o->force});
    const nlohmann::json meta = detect::train_detector(f.detect);
    std::cerr << "detect train: wrote " << f.detect.out_dir << "/detector.json (" << meta["detector"].get<std::string>()
              << ", " << std::fixed << std::setprecision(1) << meta["train_seconds"].get<double>() << " s)\n";
  });
}

void add_eval(CLI::App& detect) {
  struct Opts {
    std::string dir, output, results_dir, variant, group_prefix, decisions, device = "cpu";
    std::vector<std::string> files;
    int64_t max = 0;
  };
  auto o = std::make_shared<Opts>();
  auto* sub = detect.add_subcommand("eval", "Accuracy, F1(model), AUROC and confusion of a detector per labelled file");
  sub->add_option("--checkpoint", o->dir, "detector directory (`lmlab detect train`)")->required();
  sub->add_option("--data", o->files, "labelled JSONL files (either HC3 layout), each scored on its own")->required();
  sub->add_option("--max", o->max, "score at most N examples per file, chosen by text hash (0 = all)");
  sub->add_option("--output", o->output, "write the metrics as JSON");
  sub->add_option("--decisions", o->decisions, "write 'label<TAB>P(model)' per example, files in order");
  sub->add_option("--results-dir", o->results_dir, "write one results-table JSON per file here");
  sub->add_option("--variant", o->variant, "results: the row name (default: the detector kind)");
  sub->add_option("--group-prefix", o->group_prefix, "results: prefix of the group (e.g. 'en/')");
  sub->add_option("--device", o->device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  sub->callback([o] {
    const detect::EvalReport r = detect::evaluate_detector(o->dir, o->files, train::pick_device(o->device), o->max);
    std::cout << eval_table(r);
    if (!o->output.empty()) write_file_atomic(o->output, r.to_json().dump(2) + "\n");
    if (!o->decisions.empty()) {
      std::ostringstream d;
      for (const auto& f : r.files)
        for (double p : f.p_model) d << detect::label_word(detect::decide(p)) << "\t" << p << "\n";
      write_file_atomic(o->decisions, d.str());
    }
    if (!o->results_dir.empty())
      detect::write_results(r, o->results_dir, o->variant.empty() ? r.detector["detector"].get<std::string>() : o->variant,
                            o->group_prefix);
  });
}

void add_predict(CLI::App& detect) {
  struct Opts {
    std::string dir, input, output, format = "auto", device = "cpu";
  };
  auto o = std::make_shared<Opts>();
  auto* sub = detect.add_subcommand("predict", "Label texts: one text per input line -> 'human|model<TAB>P(model)'");
  sub->add_option("--checkpoint", o->dir, "detector directory (`lmlab detect train`)")->required();
  sub->add_option("--input", o->input, "input file (default stdin)");
  sub->add_option("--output", o->output, "output file (default stdout)");
  sub->add_option("--format", o->format, "text = one text per line; jsonl = HC3 / HC3 Plus records; auto = jsonl for *.jsonl")
      ->check(CLI::IsMember({"auto", "text", "jsonl"}));
  sub->add_option("--device", o->device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  sub->callback([o] {
    std::string format = o->format;
    if (format == "auto") format = o->input.size() > 6 && o->input.substr(o->input.size() - 6) == ".jsonl" ? "jsonl" : "text";
    std::ifstream file;
    if (!o->input.empty()) {
      file.open(o->input, std::ios::binary);
      if (!file) throw_user_error(o->input, "cannot open");
    }
    std::istream& in = o->input.empty() ? std::cin : file;
    const std::string name = o->input.empty() ? "<stdin>" : o->input;
    if (o->output.empty()) {
      detect::predict_stream(o->dir, in, name, format, std::cout, train::pick_device(o->device));
    } else {
      std::ostringstream out;
      detect::predict_stream(o->dir, in, name, format, out, train::pick_device(o->device));
      write_file_atomic(o->output, out.str());
    }
  });
}

}  // namespace

void add_detect_commands(CLI::App& app) {
  auto* detect = app.add_subcommand("detect", "Human-vs-model text detection (HC3 Plus): split, train, eval, predict");
  detect->require_subcommand(1);
  add_split(*detect);
  add_sft_data(*detect);
  add_train(*detect);
  add_eval(*detect);
  add_predict(*detect);
}

}  // namespace lmlab::cli
