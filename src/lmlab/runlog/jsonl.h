// Line-per-record JSON files of a run next to metrics.jsonl (position_loss.jsonl, ...).
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace lmlab::runlog {

// Appends one record as a line and flushes; std::runtime_error when the file cannot be written.
void append_jsonl(const std::string& path, const nlohmann::json& record);
// Rewrites `path` (atomically) keeping only records whose "step" is <= `step`: a resumed run
// redoes the rest. A missing file is left missing.
void truncate_jsonl(const std::string& path, int64_t step);

}  // namespace lmlab::runlog
