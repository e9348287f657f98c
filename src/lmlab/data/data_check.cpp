// Format detection and one-line summaries for `lmlab data check` (rules in data_check.h).
#include "lmlab/data/data_check.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <regex>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/data/idx.h"
#include "lmlab/data/instructions.h"
#include "lmlab/data/record_lines.h"
#include "lmlab/data/text_records.h"

namespace lmlab::data {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// "0:980 1:1135 ..." in label order.
std::string label_counts(const std::vector<int64_t>& labels) {
  std::map<int64_t, int64_t> counts;
  for (int64_t l : labels) ++counts[l];
  std::string out;
  for (const auto& [label, n] : counts) out += (out.empty() ? "" : " ") + std::to_string(label) + ":" + std::to_string(n);
  return out;
}

std::string image_summary(const ImageSet& set, const std::string& labels_from) {
  const auto& s = set.images.sizes();
  const torch::Tensor labels = set.labels.contiguous();
  std::vector<int64_t> l(labels.data_ptr<int64_t>(), labels.data_ptr<int64_t>() + labels.numel());
  return std::to_string(s[0]) + " images " + std::to_string(s[1]) + "x" + std::to_string(s[2]) + "x" +
         std::to_string(s[3]) + labels_from + ", labels " + label_counts(l);
}

std::string idx_summary(const std::string& path) {
  static const std::regex images_name("images-idx[0-9]-");
  if (std::regex_search(std::filesystem::path(path).filename().string(), images_name)) {
    const std::string labels = idx_labels_path(path);
    return image_summary(read_idx_images(path, labels), " (labels from " + labels + ")");
  }
  // A labels file, or an array of any other naming: its type and shape.
  IdxArray a = read_idx(path);
  std::string shape;
  for (int64_t d : a.shape) shape += (shape.empty() ? "" : "x") + std::to_string(d);
  return (a.type == IdxType::kUInt8 ? "uint8 " : "float32 ") + shape;
}

std::string text_summary(const std::string& path) {
  std::vector<TextExample> records = read_text_jsonl(path);
  std::vector<int64_t> labels;
  for (const auto& r : records) labels.push_back(r.label);
  return std::to_string(records.size()) + " records, labels " + label_counts(labels);
}

std::string response_summary(const std::string& path) {
  std::vector<ResponseExample> records = read_response_tsv(path);
  size_t positive = 0, fewest = SIZE_MAX, most = 0, turns = 0;
  for (const auto& r : records) {
    positive += r.label == 1;
    fewest = std::min(fewest, r.context.size());
    most = std::max(most, r.context.size());
    turns += r.context.size();
  }
  char mean[32];
  std::snprintf(mean, sizeof mean, "%.1f", static_cast<double>(turns) / static_cast<double>(records.size()));
  return std::to_string(records.size()) + " lines (" + std::to_string(positive) + " positive, " +
         std::to_string(records.size() - positive) + " negative), " + std::to_string(fewest) + "-" +
         std::to_string(most) + " utterances per context (mean " + mean + ")";
}

std::string instruction_summary(const std::string& path) {
  std::vector<Instruction> records = read_instructions(path);
  size_t with_input = 0, with_history = 0;
  for (const auto& r : records) with_input += !r.input.empty(), with_history += !r.history.empty();
  return std::to_string(records.size()) + " examples, " + std::to_string(with_input) + " with input, " +
         std::to_string(with_history) + " with history";
}

// The ".jsonl" rule: the first record's keys decide, and the reader then checks every record.
std::string jsonl_format(const std::string& path) {
  for (const NumberedLine& line : split_lines(read_file(path))) {
    if (line.text.find_first_not_of(" \t") == std::string::npos) continue;
    nlohmann::json first = parse_json(line.text, SourcePos{path, line.number, 1, -1});
    return first.is_object() && first.contains("instruction") ? "instructions" : "text-jsonl";
  }
  return "text-jsonl";
}

}  // namespace

const std::vector<std::string>& data_formats() {
  static const std::vector<std::string> formats{"idx", "cifar10", "text-jsonl", "response-tsv", "instructions"};
  return formats;
}

std::string detect_data_format(const std::string& path) {
  std::string name = std::filesystem::path(path).filename().string();
  if (ends_with(name, ".gz")) name.resize(name.size() - 3);
  if (name.find("idx") != std::string::npos) return "idx";
  if (name.find("cifar") != std::string::npos && ends_with(name, ".bin")) return "cifar10";
  if (ends_with(name, ".json")) return "instructions";
  if (ends_with(name, ".jsonl")) return jsonl_format(path);
  if (ends_with(name, ".txt") || ends_with(name, ".tsv")) return "response-tsv";
  throw_user_error(path, "cannot tell the data format from the name; pass --format (one of idx, cifar10, "
                         "text-jsonl, response-tsv, instructions)");
}

std::string check_data_file(const std::string& path, const std::string& format) {
  const std::string f = format == "auto" ? detect_data_format(path) : format;
  std::string summary;
  if (f == "idx") summary = idx_summary(path);
  else if (f == "cifar10") summary = image_summary(read_cifar10(path), "");
  else if (f == "text-jsonl") summary = text_summary(path);
  else if (f == "response-tsv") summary = response_summary(path);
  else if (f == "instructions") summary = instruction_summary(path);
  else throw UserError("unknown data format '" + f + "'" + did_you_mean(f, data_formats()));
  return path + ": " + f + ": " + summary;
}

}  // namespace lmlab::data
