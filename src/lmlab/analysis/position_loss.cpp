// Parses position_loss.jsonl line by line with errors that name the file, line and problem.
#include "lmlab/analysis/position_loss.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/common/json_text.h"

namespace lmlab::analysis {

namespace {

using json = nlohmann::json;

EvalPoint parse_line(const std::string& path, int64_t line_no, const std::string& line) {
  auto fail = [&](const std::string& problem, int64_t column = 1) {
    throw_user_error(SourcePos{path, line_no, column}, problem);
  };
  const json j = parse_json(line, SourcePos{path, line_no, 1});
  if (!j.is_object()) fail("expected a JSON object {\"step\": ..., \"position_loss\": [...]}");
  EvalPoint p;
  auto integer = [&](const char* key, bool required) -> int64_t {
    if (!j.contains(key)) {
      if (required) fail(std::string("missing \"") + key + "\"");
      return 0;
    }
    if (!j[key].is_number_integer() || j[key].get<int64_t>() < 0) {
      fail(std::string("\"") + key + "\" must be a non-negative integer, got " + j[key].dump());
    }
    return j[key].get<int64_t>();
  };
  auto finite = [&](const json& v, const std::string& what) {
    if (!v.is_number() || !std::isfinite(v.get<double>())) fail(what + " must be a finite number, got " + v.dump());
    return v.get<double>();
  };
  p.step = integer("step", true);
  p.tokens = integer("tokens", false);
  if (!j.contains("position_loss")) fail("missing \"position_loss\"");
  const json& losses = j["position_loss"];
  if (!losses.is_array() || losses.empty()) fail("\"position_loss\" must be a non-empty array of numbers");
  for (size_t i = 0; i < losses.size(); ++i) {
    p.position_loss.push_back(finite(losses[i], "position_loss[" + std::to_string(i) + "]"));
  }
  if (j.contains("position_se")) {
    const json& se = j["position_se"];
    if (!se.is_array() || se.size() != losses.size())
      fail("\"position_se\" must be an array as long as \"position_loss\" (" + std::to_string(losses.size()) + ")");
    for (size_t i = 0; i < se.size(); ++i) {
      double v = finite(se[i], "position_se[" + std::to_string(i) + "]");
      if (v < 0) fail("position_se[" + std::to_string(i) + "] must be >= 0, got " + se[i].dump());
      p.position_se.push_back(v);
    }
  }
  if (j.contains("loss")) {
    p.loss = finite(j["loss"], "\"loss\"");
  } else {
    for (double l : p.position_loss) p.loss += l / static_cast<double>(p.position_loss.size());
  }
  return p;
}

}  // namespace

std::vector<EvalPoint> read_position_loss(const std::string& path) {
  std::istringstream in(read_file(path));
  std::vector<EvalPoint> evals;
  std::string line;
  for (int64_t line_no = 1; std::getline(in, line); ++line_no) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    EvalPoint p = parse_line(path, line_no, line);
    if (!evals.empty() && p.position_loss.size() != evals.front().position_loss.size()) {
      throw_user_error(SourcePos{path, line_no, 1},
                       "position_loss has " + std::to_string(p.position_loss.size()) + " entries, earlier lines have " +
                           std::to_string(evals.front().position_loss.size()));
    }
    if (!evals.empty() && p.step <= evals.back().step) {
      throw_user_error(SourcePos{path, line_no, 1}, "step " + std::to_string(p.step) +
                                                        " does not increase (previous line: step " +
                                                        std::to_string(evals.back().step) + ")");
    }
    evals.push_back(std::move(p));
  }
  if (evals.empty()) throw_user_error(path, "no evaluations (the file is empty)");
  return evals;
}

}  // namespace lmlab::analysis
