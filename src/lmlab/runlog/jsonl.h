// Line-per-record JSON files of a run next to metrics.jsonl (position_loss.jsonl, ...).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace lmlab::runlog {

// Appends one record as a line, whole or not at all (AppendFile); UserError naming the file
// and errno when it cannot be written (a full disk).
void append_jsonl(const std::string& path, const nlohmann::json& record);

// The lines of `path` whose "step" (0 when absent) is <= `step`, each ending in "\n": what a
// resumed run keeps. A last line that is not a JSON object (a write cut short by a kill) is
// dropped; such a line before the last is a UserError naming the file and line.
std::string records_up_to(const std::string& path, int64_t step);

// Rewrites `path` (atomically) keeping records_up_to(path, step): a resumed run redoes the
// rest. A missing file is left missing.
void truncate_jsonl(const std::string& path, int64_t step);

}  // namespace lmlab::runlog
