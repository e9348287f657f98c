// Document boundaries inside one text file (rules in documents.h).
#include "lmlab/data/documents.h"

#include <cstring>

#include "lmlab/common/error.h"

namespace lmlab::data {

namespace {

constexpr const char* kSpace = " \t\r\n";

std::string_view trim(std::string_view s) {
  size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

bool is_blank(std::string_view line) { return line.find_first_not_of(" \t\r") == std::string_view::npos; }

// Calls f(line, offset) for every line of `text` (without its '\n'), offset = where it starts.
template <class F>
void for_each_line(std::string_view text, F&& f) {
  size_t pos = 0;
  while (pos < text.size()) {
    const void* nl = std::memchr(text.data() + pos, '\n', text.size() - pos);
    size_t end = nl ? static_cast<size_t>(static_cast<const char*>(nl) - text.data()) : text.size();
    f(text.substr(pos, end - pos), pos);
    pos = end + 1;
  }
}

void push_trimmed(std::string_view piece, std::vector<std::string_view>& docs) {
  std::string_view doc = trim(piece);
  if (!doc.empty()) docs.push_back(doc);
}

// Splits on `sep`, dropping the separators and the pieces that are empty once trimmed.
std::vector<std::string_view> split_on(std::string_view text, std::string_view sep) {
  std::vector<std::string_view> docs;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t next = text.find(sep, pos);
    if (next == std::string_view::npos) next = text.size();
    push_trimmed(text.substr(pos, next - pos), docs);
    pos = next + sep.size();
  }
  return docs;
}

std::vector<std::string_view> split_at_headings(std::string_view text) {
  std::vector<std::string_view> docs;
  size_t start = 0;
  for_each_line(text, [&](std::string_view line, size_t at) {
    if (!is_top_heading(line)) return;
    push_trimmed(text.substr(start, at - start), docs);
    start = at;
  });
  push_trimmed(text.substr(start), docs);
  return docs;
}

std::vector<std::string_view> split_at_blank_lines(std::string_view text) {
  std::vector<std::string_view> docs;
  size_t start = std::string_view::npos, end = 0;  // [start, end): the non-blank lines so far
  for_each_line(text, [&](std::string_view line, size_t at) {
    if (!is_blank(line)) {
      if (start == std::string_view::npos) start = at;
      end = at + line.size();
    } else if (start != std::string_view::npos) {
      push_trimmed(text.substr(start, end - start), docs);
      start = std::string_view::npos;
    }
  });
  if (start != std::string_view::npos) push_trimmed(text.substr(start, end - start), docs);
  return docs;
}

}  // namespace

const std::vector<std::string>& doc_split_names() {
  static const std::vector<std::string> names = {"auto", "eot", "heading", "blank", "line", "file"};
  return names;
}

std::string doc_split_name(DocSplit rule) { return doc_split_names()[static_cast<size_t>(rule)]; }

DocSplit parse_doc_split(const std::string& name, const std::string& option) {
  const auto& names = doc_split_names();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<DocSplit>(i);
  std::string all;
  for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
  throw UserError(option + ": unknown document rule '" + name + "' (one of " + all + ")");
}

bool is_top_heading(std::string_view line) {
  std::string_view s = trim(line);
  if (s.size() < 5 || s.substr(0, 2) != "= " || s.substr(s.size() - 2) != " =") return false;
  std::string_view title = trim(s.substr(2, s.size() - 4));
  return !title.empty() && title.front() != '=' && title.back() != '=';
}

DocSplit detect_doc_split(std::string_view text) {
  if (text.find(kEndOfText) != std::string_view::npos) return DocSplit::kEot;
  int headings = 0;
  bool seen_text = false, gap = false, blank_split = false;  // gap: a blank line after text
  for_each_line(text, [&](std::string_view line, size_t) {
    headings += is_top_heading(line);
    if (is_blank(line)) {
      gap = seen_text;
    } else {
      blank_split = blank_split || gap;
      seen_text = true;
    }
  });
  if (headings >= 2) return DocSplit::kHeading;
  return blank_split ? DocSplit::kBlank : DocSplit::kFile;
}

std::vector<std::string_view> split_documents(std::string_view text, DocSplit rule) {
  switch (rule == DocSplit::kAuto ? detect_doc_split(text) : rule) {
    case DocSplit::kEot: return split_on(text, kEndOfText);
    case DocSplit::kHeading: return split_at_headings(text);
    case DocSplit::kBlank: return split_at_blank_lines(text);
    case DocSplit::kLine: return split_on(text, "\n");
    default: break;
  }
  // The whole file as it is (not trimmed: what `--doc-split file` always wrote).
  if (text.empty()) return {};
  return {text};
}

}  // namespace lmlab::data
