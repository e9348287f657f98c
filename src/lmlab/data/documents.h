// Where one text file's documents begin and end, for `lmlab data prepare` (docs/training.md,
// "Documents"). Every rule but `file` returns views into the text, each trimmed of the whitespace
// around it (spaces, tabs, \r, \n) and none empty, so the separators belong to no document.
//   eot      documents end at the end-of-text marker "<|endoftext|>" (the marker is dropped);
//   heading  a document starts at every WikiText top-level heading line "= Title =" (section
//            headings "= = Section = =" stay inside their article); text before the first
//            heading is a document of its own;
//   blank    documents are separated by one or more blank (whitespace-only) lines;
//   line     every non-empty line is a document;
//   file     the whole file is one document, as it is (not trimmed);
//   auto     the first of eot, heading, blank that the text shows: the marker anywhere, two or
//            more top-level headings, a blank line between two non-blank ones; else file.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace lmlab::data {

inline constexpr std::string_view kEndOfText = "<|endoftext|>";

enum class DocSplit { kAuto, kEot, kHeading, kBlank, kLine, kFile };

// "auto", "eot", "heading", "blank", "line", "file", in that order.
const std::vector<std::string>& doc_split_names();
std::string doc_split_name(DocSplit rule);
// UserError naming `option` and the accepted names for anything else.
DocSplit parse_doc_split(const std::string& name, const std::string& option);

// The rule `auto` picks for this text (never kAuto).
DocSplit detect_doc_split(std::string_view text);

// True for a WikiText top-level heading: after trimming, "= " + title + " =" where the title is
// not empty and neither starts nor ends with '=' (so "= = Section = =" is not one).
bool is_top_heading(std::string_view line);

// The documents of `text` under `rule`; kAuto resolves through detect_doc_split first.
std::vector<std::string_view> split_documents(std::string_view text, DocSplit rule);

}  // namespace lmlab::data
