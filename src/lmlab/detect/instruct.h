// The instruction detector (the paper's Tk-instruct method) on our decoder LM: fine-tuned with
// the `sft` task to answer "human" or "model" after an instruction template holding a definition
// and two examples (configs/hc3/templates/<lang>.jsonl, one template per line:
// {"definition": str, "examples": [{"input": str, "output": "human"|"model"}, x2]}).
//   instruction = "Definition: ..." + "Example 1 -\nInput: ...\nOutput: ..." x 2 + "Now complete ..."
//   input       = the text, cut to text_bytes;   output = "human" | "model"
// (wrapped in the sft task's Alpaca prompt, sft_examples.h). Training picks the template per
// example at random (seeded); prediction uses the template chosen by the text's hash, or with
// vote every template. The label-word probability is read from the first response token:
//   P(model) = softmax(logit[first token of "model"], logit[first token of "human"])[0]
// (the two words start with different tokens, checked at load). Vote: each template decides
// P >= 0.5, P(model) = share of templates voting model, so a tie (0.5) counts as model.
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "lmlab/data/instructions.h"
#include "lmlab/detect/hc3_data.h"

namespace lmlab::detect {

struct InstructTemplate {
  std::string definition;
  std::vector<std::pair<std::string, std::string>> examples;  // (input, output)
};

// UserError "file:line: ..." on a bad template; at least one template.
std::vector<InstructTemplate> read_templates(const std::string& path);

std::string render_instruction(const InstructTemplate& t);
data::Instruction instruct_example(const InstructTemplate& t, const DetectExample& ex, int64_t text_bytes);

// The template of text `text` at prediction (by hash).
size_t template_of(const std::string& text, size_t n_templates);

// Majority vote of per-template decisions (kHuman/kModel): a tie counts as model.
int majority_vote(const std::vector<int>& decisions);

// SFT training records: each example with a template drawn from `rng`.
std::vector<data::Instruction> instruct_training_set(const std::vector<InstructTemplate>& ts,
                                                     const std::vector<DetectExample>& xs, int64_t text_bytes,
                                                     uint64_t seed);
// As JSONL {"instruction","input","output"} (the sft task reads it).
void write_instructions_jsonl(const std::string& path, const std::vector<data::Instruction>& xs);

}  // namespace lmlab::detect
