// lmlab generate --checkpoint DIR --prompt TEXT [--max-tokens N] [--temperature T] [--top-k K]
//                [--top-p P] [--seed S]: samples a continuation with the KV-cache generator.
#include <cmath>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "lmlab/common/error.h"
#include "lmlab/eval/generate.h"
#include "lmlab/tokenizer/tokenizer.h"
#include "lmlab/train/checkpoint.h"
#include "lmlab/train/device.h"

namespace lmlab::cli {

namespace {

struct GenerateCliOptions {
  std::string checkpoint, prompt, device = "auto";
  int64_t max_tokens = 100, top_k = 0, seed = 1337;
  double temperature = 0.8, top_p = 1.0;
};

// Values the options' types admit but sampling cannot use: NaN passes CLI11's range checks, and
// top-p 0 or a temperature of 1e-45 turn every probability into NaN inside libtorch.
void check_sampling(const GenerateCliOptions& o) {
  auto shown = [](double x) {
    std::ostringstream s;
    s << x;
    return s.str();
  };
  if (!(o.top_p > 0 && o.top_p <= 1)) throw_user_error("--top-p", "must be in (0, 1], got " + shown(o.top_p));
  const double t = o.temperature;
  if (t != 0 && !(std::isfinite(t) && t >= eval::kMinTemperature))
    throw_user_error("--temperature", "must be 0 (greedy) or a finite number >= " + shown(eval::kMinTemperature) +
                                          ", got " + shown(t));
}

void run_generate(const GenerateCliOptions& o) {
  check_sampling(o);
  const torch::Device device = train::pick_device(o.device);
  train::InferenceModel m = train::load_for_inference(o.checkpoint, device);
  tokenizer::Tokenizer tok = train::load_tokenizer(m);
  std::vector<uint32_t> ids = tok.encode(o.prompt);
  std::optional<uint32_t> eot = tok.special_id("<|endoftext|>");
  if (ids.empty()) {
    if (!eot) throw UserError("--prompt is empty and the tokenizer has no <|endoftext|> to start from");
    ids.push_back(*eot);  // an empty prompt starts a new document
  }
  std::vector<int64_t> prompt(ids.begin(), ids.end());
  torch::Tensor idx = torch::tensor(prompt, torch::kInt64).unsqueeze(0).to(device);  // (1, T0)
  eval::GenerateOptions g;
  g.max_new_tokens = o.max_tokens;
  g.sampling = {o.temperature, o.top_k, o.top_p, tok.vocab_size()};
  g.stop_token = eot ? static_cast<int64_t>(*eot) : -1;
  torch::Generator gen = eval::make_generator(static_cast<uint64_t>(o.seed));
  std::cout << o.prompt << std::flush;
  // Stream: decode the whole continuation each time and print what is new, so multi-token
  // UTF-8 characters come out whole.
  std::vector<uint32_t> generated;
  size_t printed = 0;
  eval::generate(*m.model, idx, g, gen, [&](int64_t, const torch::Tensor& next) {
    uint32_t id = static_cast<uint32_t>(next[0].item<int64_t>());
    if (eot && id == *eot) return;
    generated.push_back(id);
    std::string text = tok.decode(generated);
    std::cout << text.substr(std::min(printed, text.size())) << std::flush;
    printed = text.size();
  });
  std::cout << "\n";
}

}  // namespace

void add_generate_command(CLI::App& app) {
  auto o = std::make_shared<GenerateCliOptions>();
  auto* sub = app.add_subcommand("generate", "Sample text from a checkpoint");
  sub->add_option("--checkpoint", o->checkpoint, "Checkpoint directory, or a run directory (its latest)")->required();
  sub->add_option("--prompt", o->prompt, "Text to continue")->required();
  sub->add_option("--max-tokens", o->max_tokens, "Tokens to generate")->check(CLI::NonNegativeNumber);
  sub->add_option("--temperature", o->temperature, "Sampling temperature: 0 = greedy, else >= 0.001");
  sub->add_option("--top-k", o->top_k, "Keep only the k most likely tokens (0 = off)")->check(CLI::NonNegativeNumber);
  sub->add_option("--top-p", o->top_p, "Nucleus sampling probability in (0, 1] (1 = off)");
  sub->add_option("--seed", o->seed, "Random seed");
  sub->add_option("--device", o->device, "auto, cpu or cuda")->check(CLI::IsMember(train::device_choices()));
  sub->callback([o] { run_generate(*o); });
}

}  // namespace lmlab::cli
