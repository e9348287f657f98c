// Autoregressive generation with a KV cache and the usual sampling controls, applied in this
// order to the next-token logits (as Hugging Face does):
//   temperature:  logits / T            (T = 0: greedy, argmax)
//   top-k:        keep the k largest logits
//   top-p:        keep the smallest set of most probable tokens whose probability sums to >= p
//                 (nucleus sampling, Holtzman et al. 2019)
// then one token is drawn from softmax(logits) with a seeded CPU torch::Generator, so the same
// seed gives the same text on every device.
#pragma once
#include <torch/torch.h>

#include <functional>

#include "lmlab/model/transformer.h"

namespace lmlab::eval {

// The smallest temperature besides 0 (greedy), so that logits / T stays far from float32
// overflow (T = 1e-45 gives inf logits, then NaN probabilities); for a near-deterministic choice
// use 0.
constexpr double kMinTemperature = 1e-3;

struct SamplingOptions {
  double temperature = 1.0;  // 0 = greedy, else finite and >= kMinTemperature
  int64_t top_k = 0;         // 0 = off
  double top_p = 1.0;        // in (0, 1]; 1 = off
  // > 0: only ids below it are drawn (the tokenizer's vocabulary, when the model's vocab_size is
  // padded beyond it and an id past it could not be decoded); 0 = every id of the model.
  int64_t vocab_limit = 0;
};

// logits: (B, V). Tokens outside the k largest (ties broken by index) become -inf.
torch::Tensor mask_top_k(const torch::Tensor& logits, int64_t k);
// logits: (B, V). Tokens outside the nucleus of probability p become -inf; the most probable
// token always stays.
torch::Tensor mask_top_p(const torch::Tensor& logits, double p);
// logits: (B, V) -> next token ids (B,) int64 on the logits' device.
torch::Tensor sample_next(const torch::Tensor& logits, const SamplingOptions& opts, torch::Generator& gen);

// A CPU generator for sample_next, seeded.
torch::Generator make_generator(uint64_t seed);

struct GenerateOptions {
  int64_t max_new_tokens = 64;
  SamplingOptions sampling;
  int64_t stop_token = -1;  // stop once every row has produced it (-1 = never)
};

// prompt: (B, T0) int64 on the model's device, T0 >= 1 -> (B, T0 + n) with n <= max_new_tokens.
// Feeds the prompt once, then one token per step through next_token_logits and the KV cache;
// once the sequence no longer fits in max_seq_len the window slides (the last max_seq_len tokens
// are recomputed each step, without a cache, since every position changes), as nanoGPT crops its
// context. Rows that produced stop_token keep repeating it. `on_token(step, tokens (B,))` is
// called after each new token (for streaming output). Runs under InferenceMode, the model in
// eval mode (no dropout), and restores its mode afterwards.
torch::Tensor generate(model::TransformerImpl& model, const torch::Tensor& prompt, const GenerateOptions& opts,
                       torch::Generator& gen,
                       const std::function<void(int64_t, const torch::Tensor&)>& on_token = nullptr);

}  // namespace lmlab::eval
