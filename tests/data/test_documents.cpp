// Document rules of `data prepare` (documents.h): each rule on hand-made text with the documents
// written out, auto's choice, and the WikiText heading rule against a count made another way.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/data/documents.h"

using namespace lmlab::data;

namespace {

std::vector<std::string> docs_of(const std::string& text, DocSplit rule) {
  std::vector<std::string> out;
  for (std::string_view d : split_documents(text, rule)) out.emplace_back(d);
  return out;
}

using Docs = std::vector<std::string>;

}  // namespace

TEST(Documents, TopHeadingsAreWikiTextTitlesNotSections) {
  EXPECT_TRUE(is_top_heading(" = Valkyria Chronicles III = "));
  EXPECT_TRUE(is_top_heading("= A =\r"));
  EXPECT_TRUE(is_top_heading("= <unk> Mary Barker ="));
  EXPECT_FALSE(is_top_heading(" = = Gameplay = = "));
  EXPECT_FALSE(is_top_heading(" = = = Sub = = = "));
  EXPECT_FALSE(is_top_heading("=   ="));
  EXPECT_FALSE(is_top_heading("= A"));
  EXPECT_FALSE(is_top_heading("x = A = "));
  EXPECT_FALSE(is_top_heading(" a = b = c "));
}

TEST(Documents, HeadingStartsADocumentAndSectionsStayInside) {
  const std::string text =
      "preamble\n \n = A = \n \n a one . \n \n = = Sec = = \n \n a two . \n \n = B = \n b one .\n = C =";
  EXPECT_EQ(docs_of(text, DocSplit::kHeading),
            (Docs{"preamble", "= A = \n \n a one . \n \n = = Sec = = \n \n a two .", "= B = \n b one .", "= C ="}));
  EXPECT_EQ(detect_doc_split(text), DocSplit::kHeading);
}

TEST(Documents, BlankLinesSeparateDocuments) {
  const std::string text = "\n\np1 l1\np1 l2\n \n\t\r\n p2 \n\np3";
  EXPECT_EQ(docs_of(text, DocSplit::kBlank), (Docs{"p1 l1\np1 l2", "p2", "p3"}));
  EXPECT_EQ(detect_doc_split(text), DocSplit::kBlank);
  EXPECT_EQ(docs_of(" \n \n", DocSplit::kBlank), Docs{});
}

TEST(Documents, EotLineAndFileKeepTheirEarlierMeaning) {
  const std::string text = " one\n<|endoftext|>\ntwo\n\n= T =\n= U =\n<|endoftext|>";
  EXPECT_EQ(docs_of(text, DocSplit::kEot), (Docs{"one", "two\n\n= T =\n= U ="}));
  EXPECT_EQ(detect_doc_split(text), DocSplit::kEot);  // the marker wins over headings and blank lines
  EXPECT_EQ(docs_of(text, DocSplit::kLine), (Docs{"one", "<|endoftext|>", "two", "= T =", "= U =", "<|endoftext|>"}));
  EXPECT_EQ(docs_of(text, DocSplit::kFile), Docs{text});  // as it is, not trimmed
  EXPECT_EQ(docs_of("", DocSplit::kFile), Docs{});
}

TEST(Documents, AutoFallsBackToOneDocumentPerFile) {
  // One heading and no blank line between text: nothing inside to split at.
  const std::string text = "\n\n = Only = \nline one\nline two\n\n";
  EXPECT_EQ(detect_doc_split(text), DocSplit::kFile);
  EXPECT_EQ(docs_of(text, DocSplit::kAuto), Docs{text});
  EXPECT_EQ(docs_of("a = b = c\nd\n", DocSplit::kAuto).size(), 1u);
}

TEST(Documents, DocumentsAreViewsInTextOrder) {
  std::string text;
  for (int i = 0; i < 50; ++i) text += " = T" + std::to_string(i) + " = \n \n body " + std::to_string(i) + " \n \n";
  std::vector<std::string_view> docs = split_documents(text, DocSplit::kAuto);
  ASSERT_EQ(docs.size(), 50u);
  const char* last = text.data();
  for (size_t i = 0; i < docs.size(); ++i) {
    ASSERT_GE(docs[i].data(), last);  // inside the text, after the previous one
    ASSERT_LE(docs[i].data() + docs[i].size(), text.data() + text.size());
    last = docs[i].data() + docs[i].size();
    EXPECT_EQ(std::string(docs[i]), "= T" + std::to_string(i) + " = \n \n body " + std::to_string(i));
  }
}

TEST(Documents, WikiTextValidationHasOneDocumentPerArticle) {
  const std::string text = lmlab::read_file(lmlab::data_path("lm/wikitext-2/valid.txt"));
  ASSERT_EQ(detect_doc_split(text), DocSplit::kHeading);
  std::vector<std::string_view> docs = split_documents(text, DocSplit::kAuto);
  // Counted another way: lines of the form " = Title = " whose title does not start with '='.
  std::istringstream lines(text);
  const std::regex title(R"(^ = [^=].* = $)");
  size_t articles = 0;
  for (std::string line; std::getline(lines, line);) articles += std::regex_match(line, title);
  EXPECT_GT(articles, 50u);
  ASSERT_EQ(docs.size(), articles);  // no text before the first heading
  for (std::string_view d : docs) ASSERT_TRUE(is_top_heading(d.substr(0, d.find('\n')))) << d.substr(0, 80);
}

TEST(Documents, UnknownRuleNamesTheOptionAndTheRules) {
  EXPECT_EQ(parse_doc_split("blank", "--doc-split"), DocSplit::kBlank);
  EXPECT_EQ(doc_split_name(DocSplit::kHeading), "heading");
  try {
    parse_doc_split("para", "--doc-split");
    FAIL() << "no error";
  } catch (const lmlab::UserError& e) {
    EXPECT_EQ(std::string(e.what()),
              "--doc-split: unknown document rule 'para' (one of auto, eot, heading, blank, line, file)");
  }
}
