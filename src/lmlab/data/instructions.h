// Instruction-tuning records in the Alpaca layout, with LLaMA-Factory's optional multi-turn
// "history" (LIMA): {"instruction": str, "input": str, "output": str,
// "history": [[user, assistant], ...]}. Other keys are ignored.
//
// The file is a JSON array when its first non-blank character is '[' (alpaca_5000.json,
// lima.json), else JSONL (one object per line). Errors name the line of a JSONL record, and
// the record number (from 1) of an array element: "lima.json: record 17: ...".
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace lmlab::data {

struct Instruction {
  std::string instruction;  // the (last) user turn
  std::string input;        // optional context for it; "" when absent
  std::string output;       // the assistant's answer to learn
  std::vector<std::pair<std::string, std::string>> history;  // earlier (user, assistant) turns, oldest first
};

// "instruction" and "output" are required strings; "input" an optional string; "history" an
// optional array of 2-string arrays (null counts as empty).
std::vector<Instruction> read_instructions(const std::string& path);

}  // namespace lmlab::data
