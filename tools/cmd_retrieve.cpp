// lmlab data rsel-build --lima F --hc3 F... --alpaca F --output DIR      (data/rsel_build.h)
// lmlab retrieve eval --checkpoint RUN FILE.tsv... [--output F.json] [--results-dir D --variant V --seed S]
// lmlab retrieve rank --checkpoint RUN --candidates FILE [--top K]   contexts on stdin, one a line,
//                     utterances separated by tabs; the candidates are embedded once.
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/common/output_dir.h"
#include "lmlab/data/rsel_build.h"
#include "lmlab/train/device.h"
#include "lmlab/train/tasks/retrieval_model.h"

namespace lmlab::cli {

void add_rsel_build_command(CLI::App& data) {
  auto o = std::make_shared<data::RselBuildOptions>();
  auto force = std::make_shared<bool>(false);
  auto* sub = data.add_subcommand(
      "rsel-build", "Build a response-selection set (Ubuntu/E-commerce TSV: 1 positive + 9 negatives per test context, "
                    "disjoint train/valid/test) from LIMA, HC3 and Alpaca conversations");
  sub->add_option("--lima", o->lima, "LIMA JSON (LLaMA-Factory layout, with history)");
  sub->add_option("--hc3", o->hc3, "HC3 JSONL files ({question, human_answers})");
  sub->add_option("--alpaca", o->alpaca, "Alpaca JSON");
  sub->add_option("--output", o->output, "Output directory: train.tsv valid.tsv test.tsv meta.json")->required();
  sub->add_option("--valid-dialogues", o->valid_dialogues, "Dialogues in valid");
  sub->add_option("--test-dialogues", o->test_dialogues, "Dialogues in test");
  sub->add_option("--negatives", o->negatives, "Negatives per valid/test context");
  sub->add_option("--max-chars", o->max_chars, "Cut each utterance to this many bytes (0 = no cut)");
  sub->add_option("--max-dialogues", o->max_dialogues, "Keep only this many dialogues after the shuffle (0 = all)");
  sub->add_option("--seed", o->seed, "Shuffle and negative sampling seed");
  sub->add_flag("--force", *force, "Write into --output even when it holds other files");
  sub->callback([o, force] {
    std::vector<NamedPath> inputs = {{"--lima", o->lima}, {"--alpaca", o->alpaca}};
    for (const auto& f : o->hc3) inputs.push_back({"--hc3", f});
    check_output_dir({{"--output", o->output}, inputs, data::rsel_output_files(), *force});
    nlohmann::json meta = data::build_rsel_set(*o);
    for (const auto& [name, s] : meta["splits"].items())
      std::cout << o->output << "/" << name << ".tsv: " << s["dialogues"] << " dialogues, " << s["lines"] << " lines "
                << s["by_source"].dump() << "\n";
  });
}

namespace {

struct RetrieveEvalOptions {
  std::string checkpoint, output, results_dir, variant, method = "dialmae", device = "auto";
  std::vector<std::string> files, settings;
  int64_t seed = 0;
};

void print_metrics_table(const nlohmann::json& files) {
  std::cout << std::left << std::setw(36) << "file" << std::right << std::setw(9) << "contexts" << std::setw(8)
            << "R10@1" << std::setw(8) << "R10@2" << std::setw(8) << "R10@5" << std::setw(8) << "MRR" << std::setw(8)
            << "R2@1" << "\n"
            << std::fixed << std::setprecision(3);
  for (const auto& [name, m] : files.items())
    std::cout << std::left << std::setw(36) << name << std::right << std::setw(9) << m["contexts"].get<int64_t>()
              << std::setw(8) << m["r10_1"].get<double>() << std::setw(8) << m["r10_2"].get<double>() << std::setw(8)
              << m["r10_5"].get<double>() << std::setw(8) << m["mrr"].get<double>() << std::setw(8)
              << m["r2_1"].get<double>() << "\n";
}

// One results JSON per file: {"method", "variant", "group": file, "seed", "settings", "metrics"}.
void write_results(const RetrieveEvalOptions& o, const nlohmann::json& files) {
  nlohmann::json settings = {{"checkpoint", o.checkpoint}};
  for (const auto& kv : o.settings) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos) throw UserError("--setting '" + kv + "': expected key=value");
    settings[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  make_dirs(o.results_dir);
  for (const auto& [name, m] : files.items()) {
    std::string stem = name;
    for (char& c : stem)
      if (c == '/' || c == '.') c = '_';
    nlohmann::json metrics = m;
    metrics.erase("skipped");
    nlohmann::json record = {{"method", o.method}, {"variant", o.variant}, {"group", name},
                             {"seed", o.seed},     {"settings", settings}, {"metrics", metrics}};
    write_file_atomic(o.results_dir + "/" + o.variant + "-s" + std::to_string(o.seed) + "-" + stem + ".json",
                      record.dump(2) + "\n");
  }
}

void add_eval(CLI::App& retrieve) {
  auto o = std::make_shared<RetrieveEvalOptions>();
  auto* sub = retrieve.add_subcommand("eval", "Score response-selection TSVs with a retrieval checkpoint: R10@1/2/5, "
                                              "MRR, R2@1 (ties count against the earlier candidate, docs/dialmae.md)");
  sub->add_option("--checkpoint", o->checkpoint, "Retrieval run or checkpoint directory")->required();
  sub->add_option("files", o->files, "Response-selection TSVs (label \\t utterances... \\t response)")->required();
  sub->add_option("--output", o->output, "Write {file: metrics} JSON here");
  sub->add_option("--results-dir", o->results_dir, "Write one results-table JSON per file here (needs --variant)");
  sub->add_option("--method", o->method, "results JSON: method");
  sub->add_option("--variant", o->variant, "results JSON: variant (row name)");
  sub->add_option("--seed", o->seed, "results JSON: seed");
  sub->add_option("--setting", o->settings, "results JSON: key=value settings to record");
  sub->add_option("--device", o->device, "auto, cpu or cuda")->check(CLI::IsMember(train::device_choices()));
  sub->callback([o] {
    if (!o->results_dir.empty() && o->variant.empty()) throw UserError("--results-dir needs --variant");
    const torch::Device device = train::pick_device(o->device);
    train::LoadedRetriever r = train::load_retriever(o->checkpoint, device);
    nlohmann::json files = nlohmann::json::object();
    for (const auto& f : o->files) {
      const std::filesystem::path p(f);
      files[p.parent_path().filename().string() + "/" + p.filename().string()] =
          train::score_rsel_file(*r.model, r.text, f, device).to_json();
    }
    print_metrics_table(files);
    if (!o->output.empty()) write_file_atomic(o->output, files.dump(2) + "\n");
    if (!o->results_dir.empty()) write_results(*o, files);
  });
}

void add_rank(CLI::App& retrieve) {
  auto checkpoint = std::make_shared<std::string>(), candidates = std::make_shared<std::string>();
  auto device_name = std::make_shared<std::string>("auto");
  auto top = std::make_shared<int64_t>(5);
  auto* sub = retrieve.add_subcommand(
      "rank", "Embed a file of candidate responses (one a line) once, then rank them for each context read from "
              "stdin (one a line, utterances separated by tabs)");
  sub->add_option("--checkpoint", *checkpoint, "Retrieval run or checkpoint directory")->required();
  sub->add_option("--candidates", *candidates, "Candidate responses, one a line")->required();
  sub->add_option("--top", *top, "How many to print per context");
  sub->add_option("--device", *device_name, "auto, cpu or cuda")->check(CLI::IsMember(train::device_choices()));
  sub->callback([=] {
    const torch::Device device = train::pick_device(*device_name);
    train::LoadedRetriever r = train::load_retriever(*checkpoint, device);
    std::vector<std::string> texts;
    std::vector<std::vector<int64_t>> seqs;
    std::istringstream in(read_file(*candidates));
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      texts.push_back(line);
      seqs.push_back(r.text.response(line));
    }
    if (texts.empty()) throw_user_error(*candidates, "holds no candidates");
    torch::Tensor zr = r.model->embed(seqs, false, r.text.sp, r.text.batch, device).cpu();  // (N, C)
    std::cerr << "embedded " << texts.size() << " candidates; type a context (utterances separated by tabs)\n";
    for (std::string line; std::getline(std::cin, line);) {
      std::vector<std::string> turns;
      std::istringstream fields(line);
      for (std::string u; std::getline(fields, u, '\t');) turns.push_back(u);
      if (turns.empty()) continue;
      torch::Tensor zc = r.model->embed({r.text.context(turns)}, true, r.text.sp, 1, device).cpu();  // (1, C)
      torch::Tensor scores = zc.matmul(zr.t()).squeeze(0);                                           // (N)
      const int64_t k = std::min<int64_t>(*top, scores.size(0));
      auto best = scores.topk(k);
      for (int64_t i = 0; i < k; ++i) {
        const int64_t j = std::get<1>(best)[i].item<int64_t>();
        std::cout << std::fixed << std::setprecision(3) << std::get<0>(best)[i].item<float>() << "\t" << texts[j] << "\n";
      }
      std::cout << std::endl;
    }
  });
}

}  // namespace

void add_retrieve_commands(CLI::App& app) {
  auto* retrieve = app.add_subcommand("retrieve", "Dialogue retrieval with a retrieval checkpoint: score test sets, "
                                                  "rank candidates for typed contexts");
  retrieve->require_subcommand(1);
  add_eval(*retrieve);
  add_rank(*retrieve);
}

}  // namespace lmlab::cli
