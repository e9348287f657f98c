// Streamed encoding: Tokenizer::encode_stream gives encode()'s ids for every block size down to
// one byte (special tokens, one of them with a letter-space cut inside, multibyte UTF-8 and
// invalid bytes straddling block ends; a custom pattern), and `lmlab tokenizer encode` writes
// the same bytes for every block size, --ids or tokens, file or stdin/stdout; a failed or killed
// encode leaves no partial --output.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "lmlab/common/files.h"
#include "lmlab/tokenizer/encoder.h"
#include "lmlab/tokenizer/model.h"
#include "lmlab/tokenizer/pretokenizer.h"
#include "lmlab/tokenizer/tokenizer.h"
#include "lmlab/tokenizer/tokenizer_json.h"
#include "lmlab/tokenizer/trainer.h"
#include "testing.h"

namespace tk = lmlab::tokenizer;
using lmlab::test::read_text;
using lmlab::test::run_lmlab;
using lmlab::test::TempDir;
using lmlab::test::write_text;

namespace {

// "ab cd" and "ab cd ef" hold a letter-space place, the safe cut's kind, which a cut must not
// split; one is the other's prefix, so leftmost-then-longest matters at a block end.
const std::vector<std::string> kSpecials = {"<|endoftext|>", "ab cd", "ab cd ef"};

tk::Model trained(const std::string& algo, const std::string& pretokenizer, bool split_digits) {
  tk::TrainOptions o;
  o.algo = algo;
  o.vocab_size = 600;
  o.pretokenizer = pretokenizer;
  o.split_digits = split_digits;
  o.specials = kSpecials;
  const std::string text = lmlab::read_file(lmlab::data_path("lm/wikitext-2/valid.txt")).substr(0, 200000);
  return tk::train({text}, o).model;
}

// Text whose pieces straddle block ends: specials, multibyte UTF-8, CRLF, runs of spaces.
std::string random_stream_text(std::mt19937& rng) {
  static const std::vector<std::string> parts = {
      "the", " of", " and", "ing ", " ", "  ", "\n", "<|endoftext|>", "ab cd", "ab cd ef", "ab c", "b cd e",
      "1234", "\xC3\xA9t\xC3\xA9 ", "\xE4\xB8\xAD\xE6\x96\x87", "\xF0\x9F\x98\x80", "\xFF", "\xC0", "'s",
      "word word ", std::string(70, ' '), ".,;", "x\r\n"};
  std::string s;
  const int n = static_cast<int>(rng() % 80);
  for (int i = 0; i < n; ++i) {
    if (rng() % 5 == 0) s += static_cast<char>(rng());
    else s += parts[rng() % parts.size()];
  }
  return s;
}

// encode_stream over `text` read in pieces of at most `read_max` bytes.
std::vector<uint32_t> streamed(const tk::Tokenizer& tok, const std::string& text, size_t block, size_t read_max,
                               int threads, size_t* blocks = nullptr) {
  size_t at = 0, emitted = 0;
  std::vector<uint32_t> ids;
  tok.encode_stream(
      [&](char* buffer, size_t n) {
        n = std::min({n, read_max, text.size() - at});
        std::copy(text.data() + at, text.data() + at + n, buffer);
        at += n;
        return n;
      },
      threads,
      [&](const std::vector<uint32_t>& part) {
        ids.insert(ids.end(), part.begin(), part.end());
        ++emitted;
      },
      block);
  if (blocks) *blocks = emitted;
  return ids;
}

bool one_error_line(const std::string& err) {
  return err.rfind("lmlab: error: ", 0) == 0 && err.find('\n') == err.size() - 1;
}

}  // namespace

TEST(EncodeStream, EveryBlockSizeGivesTheWholeTextsIds) {
  tk::Model custom = trained("bpe", "gpt2", false);
  custom.pattern = "\\s+|[^\\s]+";
  ASSERT_EQ(tk::pretokenizer_name(custom.pattern), "custom");
  const std::vector<tk::Tokenizer> toks = [&] {
    std::vector<tk::Tokenizer> v;
    v.push_back(tk::Tokenizer::from_model(trained("bpe", "gpt2", false)));
    v.push_back(tk::Tokenizer::from_model(trained("scaffold", "gpt4", true)));
    v.push_back(tk::Tokenizer::from_model(custom));
    return v;
  }();
  std::mt19937 rng(7);
  for (size_t k = 0; k < toks.size(); ++k) {
    for (int round = 0; round < 300; ++round) {
      const std::string text = random_stream_text(rng);
      const size_t block = 1 + rng() % 64, read_max = 1 + rng() % 70;
      const int threads = 1 + static_cast<int>(rng() % 2);
      ASSERT_EQ(streamed(toks[k], text, block, read_max, threads), toks[k].encode(text))
          << "tokenizer " << k << ", block " << block << ", reads of " << read_max << ", text " << ::testing::PrintToString(text);
    }
  }
  // Streaming did cut (a test that read everything first would pass the loop above too), except
  // for the custom pattern, which it must read whole.
  std::string text;
  while (text.size() < 4000) text += random_stream_text(rng);
  size_t blocks = 0;
  EXPECT_EQ(streamed(toks[0], text, 64, 64, 2, &blocks), toks[0].encode(text));
  EXPECT_GT(blocks, 20u);
  EXPECT_EQ(streamed(toks[2], text, 64, 64, 2, &blocks), toks[2].encode(text));
  EXPECT_EQ(blocks, 1u);
}

TEST(EncodeStream, LastSafeCutLeavesRoomForSpecials) {
  EXPECT_EQ(tk::last_safe_cut("xy ab", 1, {}), 2u);
  // The longest special (13 bytes) might start at the cut and end unseen past the text's end.
  EXPECT_EQ(tk::last_safe_cut("xy ab", 1, kSpecials), 0u);
  EXPECT_EQ(tk::last_safe_cut("xy ab cd ef gh ij kl mn", 1, {}), 20u);
  // Before "cd" and "ef" lie inside "ab cd ef": only the place before "ab" is left.
  EXPECT_EQ(tk::last_safe_cut("xy ab cd ef gh ij kl mn", 1, kSpecials), 2u);
  EXPECT_EQ(tk::last_safe_cut("xy ab cd ef gh ij kl mn", 3, kSpecials), 0u);
  EXPECT_EQ(tk::last_safe_cut("ab cd ef gh ij kl mn", 1, kSpecials), 0u);
  EXPECT_EQ(tk::last_safe_cut("\xE4\xB8\xAD\xE6\x96\x87    ", 1, {}), 0u);  // no ASCII letter
}

TEST(EncodeStream, CliOutputIsTheSameForEveryBlockSize) {
  TempDir dir;
  std::mt19937 rng(3);
  std::string text;
  while (text.size() < 3000) text += random_stream_text(rng);
  write_text(dir.file("in.txt"), text);
  write_text(dir.file("corpus.txt"), lmlab::read_file(lmlab::data_path("lm/wikitext-2/valid.txt")).substr(0, 100000));
  const std::string tok = dir.file("tok.json");
  auto r = run_lmlab("tokenizer train --vocab-size 500 --threads 1 --special '<|endoftext|>' --special 'ab cd' --special 'ab cd ef' --input " +
                     dir.file("corpus.txt") + " --output " + tok);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const std::string ids : {"--ids ", ""}) {
    const std::string encode = "tokenizer encode " + ids + "--tokenizer " + tok;
    r = run_lmlab(encode + " --input " + dir.file("in.txt"));  // one block: the file is under 4 MiB
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string whole = r.out;
    ASSERT_EQ(whole.back(), '\n');
    for (int block : {1, 2, 3, 5, 8, 13, 31, 64, 1000}) {
      SCOPED_TRACE(ids + "block " + std::to_string(block));
      const std::string b = " --block-bytes " + std::to_string(block);
      r = run_lmlab(encode + b + " --input " + dir.file("in.txt") + " --output " + dir.file("out.txt"));
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(read_text(dir.file("out.txt")), whole);
      r = run_lmlab(encode + b, text);
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(r.out, whole);
    }
    r = run_lmlab(encode + " --block-bytes 7", "");
    EXPECT_EQ(r.out, "\n");
  }
}

TEST(EncodeStream, FailedOrKilledEncodeLeavesNoPartialOutput) {
  TempDir dir;
  const std::string tok = dir.file("tok.json"), out = dir.file("out.txt");
  write_text(dir.file("corpus.txt"), "some text to train on, some more text\n");
  ASSERT_EQ(run_lmlab("tokenizer train --vocab-size 300 --input " + dir.file("corpus.txt") + " --output " + tok).exit_code, 0);
  write_text(out, "old\n");
  // A directory opens but cannot be read: the error comes after the temporary output was made.
  std::filesystem::create_directory(dir.file("a-directory"));
  auto r = run_lmlab("tokenizer encode --tokenizer " + tok + " --input " + dir.file("a-directory") + " --output " + out);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(one_error_line(r.err)) << r.err;
  EXPECT_NE(r.err.find("a-directory: read error"), std::string::npos) << r.err;
  EXPECT_EQ(read_text(out), "old\n");
  // Killed mid-stream, blocks already written to the temporary: `out` is still the old file.
  const std::string cmd = "(printf 'some words here and there '; sleep 2) | timeout -s KILL 1 '" + std::string(LMLAB_EXE) +
                          "' tokenizer encode --block-bytes 4 --tokenizer " + tok + " --output " + out;
  EXPECT_NE(std::system(cmd.c_str()), 0);
  EXPECT_EQ(read_text(out), "old\n");
  size_t temporaries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    temporaries += e.path().filename().string().rfind("out.txt.tmp.", 0) == 0;
  EXPECT_EQ(temporaries, 1u);  // the killed run had begun writing; remove_stale_staging clears this
}
