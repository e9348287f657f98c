// `lmlab data check`: read a file with the reader of its format and summarise it in one line,
// so a user learns before training that every record of their file is usable.
#pragma once
#include <string>
#include <vector>

namespace lmlab::data {

// The formats `data check` knows, as spelled on its command line.
const std::vector<std::string>& data_formats();  // idx, cifar10, text-jsonl, response-tsv, instructions

// The format of `path` by its name, after stripping ".gz":
//   a name containing "idx"                      -> idx
//   "cifar" in the name and ending in ".bin"     -> cifar10
//   ".json"                                      -> instructions (a JSON array is only that)
//   ".jsonl": the first record has "instruction" -> instructions, else text-jsonl
//   ".txt" or ".tsv"                             -> response-tsv
// UserError for any other name (pass the format explicitly).
std::string detect_data_format(const std::string& path);

// Reads all of `path` as `format` ("auto" detects it) and returns
// "<path>: <format>: <counts>" (records, label counts, image shape, turns per context, ...).
std::string check_data_file(const std::string& path, const std::string& format);

}  // namespace lmlab::data
