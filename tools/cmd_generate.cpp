// lmlab generate --checkpoint DIR --prompt TEXT [--max-tokens N] [--temperature T] [--top-k K]
//                [--top-p P] [--seed S] [--ignore-eos] [--ids] [--timing] [--threads N]: samples a
// continuation with the KV-cache generator and streams it as it comes.
#include <ATen/Parallel.h>

#include <chrono>
#include <cmath>
#include <iostream>
#include <sstream>

#include "commands.h"
#include "lmlab/common/error.h"
#include "lmlab/eval/generate.h"
#include "lmlab/eval/text_stream.h"
#include "lmlab/tokenizer/tokenizer.h"
#include "lmlab/train/checkpoint.h"
#include "lmlab/train/device.h"

namespace lmlab::cli {

namespace {

struct GenerateCliOptions {
  std::string checkpoint, prompt, device = "auto";
  int64_t max_tokens = 100, top_k = 0, seed = 1337, threads = 0;
  double temperature = 0.8, top_p = 1.0;
  bool ignore_eos = false, ids = false, timing = false;
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

// "lmlab generate: N tokens in S s = R tokens/s (...)" on stderr: the time from the prompt's
// forward to the last token, the measure bench/generate_bench.sh compares.
void print_timing(int64_t prompt_tokens, int64_t new_tokens, double seconds, double first_token_s) {
  std::ostringstream s;
  s.setf(std::ios::fixed);
  s.precision(4);
  s << "lmlab generate: " << new_tokens << " tokens in " << seconds << " s = ";
  s.precision(1);
  s << (seconds > 0 ? static_cast<double>(new_tokens) / seconds : 0.0) << " tokens/s (prompt " << prompt_tokens
    << " tokens, first token after " << first_token_s * 1e3 << " ms, " << at::get_num_threads() << " threads)\n";
  std::cerr << s.str();
}

void run_generate(const GenerateCliOptions& o) {
  check_sampling(o);
  if (o.threads > 0) at::set_num_threads(static_cast<int>(o.threads));
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
  g.stop_token = eot && !o.ignore_eos ? static_cast<int64_t>(*eot) : -1;
  torch::Generator gen = eval::make_generator(static_cast<uint64_t>(o.seed));
  if (!o.ids) std::cout << o.prompt << std::flush;
  // Stream each token's newly complete UTF-8 bytes (a character split across tokens comes out
  // whole, once); the stop token itself is not printed.
  eval::TextStream text(tok);
  int64_t generated = 0;
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  double first_token_s = 0;
  eval::generate(*m.model, idx, g, gen, [&](int64_t step, const torch::Tensor& next) {
    if (step == 0) first_token_s = std::chrono::duration<double>(clock::now() - start).count();
    ++generated;
    const auto id = static_cast<uint32_t>(next[0].item<int64_t>());
    if (o.ids) {
      std::cout << (step == 0 ? "" : " ") << id;
    } else if (!(eot && id == *eot && g.stop_token >= 0)) {
      std::cout << text.push(id) << std::flush;
    }
  });
  const double seconds = std::chrono::duration<double>(clock::now() - start).count();
  std::cout << (o.ids ? "" : text.finish()) << "\n" << std::flush;
  if (o.timing) print_timing(static_cast<int64_t>(prompt.size()), generated, seconds, first_token_s);
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
  sub->add_flag("--ignore-eos", o->ignore_eos, "Do not stop at <|endoftext|>: exactly --max-tokens tokens (benchmarks)");
  sub->add_flag("--ids", o->ids, "Print the generated token ids (space separated) instead of the text");
  sub->add_flag("--timing", o->timing, "Print the tokens/s of the generation (prompt included) on stderr");
  sub->add_option("--threads", o->threads, "Intra-op threads (0 = libtorch's default)")->check(CLI::NonNegativeNumber);
  sub->callback([o] { run_generate(*o); });
}

}  // namespace lmlab::cli
