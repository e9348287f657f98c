// Instruction detector: templates, prompts, the vote and the detector (see instruct.h).
#include "lmlab/detect/instruct.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/data/record_lines.h"
#include "lmlab/detect/detect_config.h"
#include "lmlab/detect/detector.h"
#include "lmlab/tokenizer/tokenizer.h"
#include "lmlab/train/checkpoint.h"
#include "lmlab/train/tasks/sft_examples.h"

namespace lmlab::detect {

using nlohmann::json;

std::vector<InstructTemplate> read_templates(const std::string& path) {
  std::vector<InstructTemplate> out;
  data::for_each_json_line(path, read_file(path), [&](const json& r, const SourcePos& line_at) {
    const SourcePos at{line_at.file, line_at.line, 0};
    InstructTemplate t;
    if (!r.contains("definition") || !r["definition"].is_string()) throw_user_error(at, "'definition' must be a string");
    t.definition = r["definition"];
    if (!r.contains("examples") || !r["examples"].is_array() || r["examples"].empty())
      throw_user_error(at, "'examples' must be a non-empty array of {\"input\", \"output\"}");
    for (const json& e : r["examples"]) {
      if (!e.is_object() || !e.contains("input") || !e["input"].is_string() || !e.contains("output") ||
          (e["output"] != "human" && e["output"] != "model"))
        throw_user_error(at, "each example needs a string 'input' and 'output' \"human\" or \"model\"");
      t.examples.push_back({e["input"], e["output"]});
    }
    out.push_back(std::move(t));
  });
  if (out.empty()) throw_user_error(path, "no templates");
  return out;
}

std::string render_instruction(const InstructTemplate& t) {
  std::string s = "Definition: " + t.definition + "\n\n";
  for (size_t i = 0; i < t.examples.size(); ++i)
    s += "Example " + std::to_string(i + 1) + " -\nInput: " + t.examples[i].first + "\nOutput: " + t.examples[i].second + "\n\n";
  return s + "Now complete the following example: is its input written by a human or a model?";
}

data::Instruction instruct_example(const InstructTemplate& t, const DetectExample& ex, int64_t text_bytes) {
  data::Instruction in;
  in.instruction = render_instruction(t);
  in.input = utf8_prefix(ex.text, static_cast<size_t>(std::max<int64_t>(1, text_bytes)));
  in.output = label_word(ex.label);
  return in;
}

size_t template_of(const std::string& text, size_t n_templates) {
  return static_cast<size_t>((fnv1a64(text) >> 17) % n_templates);
}

int majority_vote(const std::vector<int>& decisions) {
  const auto model = std::count(decisions.begin(), decisions.end(), kModel);
  return 2 * model >= static_cast<std::ptrdiff_t>(decisions.size()) ? kModel : kHuman;
}

std::vector<data::Instruction> instruct_training_set(const std::vector<InstructTemplate>& ts,
                                                     const std::vector<DetectExample>& xs, int64_t text_bytes,
                                                     uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, ts.size() - 1);
  std::vector<data::Instruction> out;
  for (const auto& ex : xs) out.push_back(instruct_example(ts[pick(rng)], ex, text_bytes));
  return out;
}

void write_instructions_jsonl(const std::string& path, const std::vector<data::Instruction>& xs) {
  std::string out;
  for (const auto& x : xs)
    out += json{{"instruction", x.instruction}, {"input", x.input}, {"output", x.output}}.dump(-1, ' ', false,
                                                                                                json::error_handler_t::replace) +
           "\n";
  write_file_atomic(path, out);
}

namespace {

class InstructDetector : public Detector {
 public:
  InstructDetector(const json& meta, const torch::Device& device)
      : inf_(train::load_for_inference(meta.at("checkpoint").get<std::string>(), device)),
        tok_(train::load_tokenizer(inf_)),
        templates_(read_templates(meta.at("templates"))),
        device_(device),
        vote_(meta.at("vote")),
        text_bytes_(meta.at("text_bytes")),
        batch_(meta.at("batch_size")) {
    human_ = first_token("human");
    model_ = first_token("model");
    if (human_ == model_) throw_user_error(inf_.tokenizer_path, "encodes \"human\" and \"model\" with the same first token");
  }

  std::vector<double> p_model(const std::vector<DetectExample>& xs) override {
    std::vector<std::pair<size_t, size_t>> jobs;  // (example, template)
    for (size_t i = 0; i < xs.size(); ++i) {
      if (vote_)
        for (size_t t = 0; t < templates_.size(); ++t) jobs.push_back({i, t});
      else
        jobs.push_back({i, template_of(xs[i].text, templates_.size())});
    }
    std::vector<double> p = score(xs, jobs);
    if (!vote_) return p;
    std::vector<double> out;
    for (size_t i = 0; i < xs.size(); ++i) {
      std::vector<int> d;
      for (size_t t = 0; t < templates_.size(); ++t) d.push_back(decide(p[i * templates_.size() + t]));
      out.push_back(static_cast<double>(std::count(d.begin(), d.end(), kModel)) / static_cast<double>(d.size()));
    }
    return out;
  }

  int64_t params() const { return inf_.model->total_params(); }

 private:
  int64_t first_token(const std::string& word) const {
    auto ids = tok_.encode(word);
    if (ids.empty()) throw_user_error(inf_.tokenizer_path, "encodes \"" + word + "\" as nothing");
    return ids[0];
  }

  // P(model) per job from the logits at the last prompt token (prompts left-cut to the model's length).
  std::vector<double> score(const std::vector<DetectExample>& xs, const std::vector<std::pair<size_t, size_t>>& jobs) {
    torch::NoGradGuard no_grad;
    const int64_t L = inf_.model->config().max_seq_len;
    std::vector<double> out;
    for (size_t start = 0; start < jobs.size(); start += static_cast<size_t>(batch_)) {
      std::vector<std::vector<int64_t>> seqs;
      int64_t T = 1;
      for (size_t j = start; j < std::min(jobs.size(), start + static_cast<size_t>(batch_)); ++j) {
        const auto& [i, t] = jobs[j];
        const std::string prompt = train::sft_text(instruct_example(templates_[t], xs[i], text_bytes_)).prompt;
        std::vector<int64_t> ids;
        for (uint32_t id : tok_.encode(prompt)) ids.push_back(id);
        if (static_cast<int64_t>(ids.size()) > L) ids.erase(ids.begin(), ids.end() - L);
        T = std::max<int64_t>(T, static_cast<int64_t>(ids.size()));
        seqs.push_back(std::move(ids));
      }
      const int64_t B = static_cast<int64_t>(seqs.size());
      torch::Tensor ids = torch::zeros({B, T}, torch::kInt64);
      std::vector<int64_t> last;
      for (int64_t b = 0; b < B; ++b) {
        ids[b].narrow(0, 0, static_cast<int64_t>(seqs[b].size())).copy_(torch::tensor(seqs[b], torch::kInt64));
        last.push_back(static_cast<int64_t>(seqs[b].size()) - 1);  // right padding never changes earlier positions
      }
      torch::Tensor logits = inf_.model->forward(ids.to(device_)).to(torch::kFloat32);  // (B, T, V)
      torch::Tensor at = logits.index({torch::arange(B), torch::tensor(last, torch::kInt64).to(device_)});  // (B, V)
      torch::Tensor two = torch::stack({at.select(1, model_), at.select(1, human_)}, 1);  // (B, 2)
      torch::Tensor p = torch::softmax(two, 1).select(1, 0).to(torch::kFloat64).cpu();
      for (int64_t b = 0; b < B; ++b) out.push_back(p[b].item<double>());
    }
    return out;
  }

  train::InferenceModel inf_;
  tokenizer::Tokenizer tok_;
  std::vector<InstructTemplate> templates_;
  torch::Device device_;
  bool vote_;
  int64_t text_bytes_, batch_, human_ = 0, model_ = 0;
};

json instruct_meta(const DetectConfig& cfg) {
  const InstructConfig& c = cfg.instruct;
  return {{"checkpoint", cfg.checkpoint}, {"templates", c.templates}, {"vote", c.vote},
          {"text_bytes", c.text_bytes}, {"batch_size", c.batch_size}};
}

}  // namespace

std::unique_ptr<Detector> make_instruct_detector(const std::string&, const json& meta, const torch::Device& device) {
  return std::make_unique<InstructDetector>(meta, device);
}

json train_instruct_detector(const DetectConfig& cfg, const torch::Device& device) {
  if (cfg.checkpoint.empty()) throw UserError("detect.checkpoint: the instruct detector wraps an sft run");
  if (cfg.instruct.templates.empty()) throw UserError("detect.instruct.templates: the template file the sft run was trained with");
  json meta = instruct_meta(cfg);
  InstructDetector d(meta, device);  // loads and checks checkpoint and templates
  meta["params"] = d.params();
  meta["templates_n"] = read_templates(cfg.instruct.templates).size();
  return meta;
}

}  // namespace lmlab::detect
