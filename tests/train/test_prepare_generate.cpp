// `lmlab data prepare` (shards that decode back to the documents, each followed by
// <|endoftext|>; parallel output equal to serial) and `lmlab generate` from a trained run.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "lmlab/data/shards.h"
#include "testing.h"

using lmlab::test::run_lmlab;
using lmlab::test::TempDir;

namespace {

struct Corpus {
  TempDir dir;
  Corpus() {
    std::string text;
    for (int i = 0; i < 200; ++i)
      text += "story " + std::to_string(i) + ": the cat sat on the mat and the dog ran to the park.\n<|endoftext|>\n";
    lmlab::test::write_text(dir.file("stories.txt"), text);
    auto r = run_lmlab("tokenizer train --algo bpe --vocab-size 300 --input " + dir.file("stories.txt") +
                       " --output " + dir.file("tok.json"));
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
};

}  // namespace

TEST(DataPrepare, ShardsHoldTheDocumentsSeparatedByEndOfText) {
  Corpus c;
  auto r = run_lmlab("data prepare --tokenizer " + c.dir.file("tok.json") + " --input " + c.dir.file("stories.txt") +
                     " --output " + c.dir.file("data") + " --val-fraction 0.1 --threads 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto meta = nlohmann::json::parse(lmlab::test::read_text(c.dir.file("data/meta.json")));
  EXPECT_EQ(meta["train"]["documents"], 180);
  EXPECT_EQ(meta["val"]["documents"], 20);
  EXPECT_EQ(lmlab::test::read_text(c.dir.file("data/tokenizer.json")), lmlab::test::read_text(c.dir.file("tok.json")));
  lmlab::data::TokenShard val(c.dir.file("data/val.bin"));
  EXPECT_EQ(val.size(), meta["val"]["tokens"].get<int64_t>());
  const uint32_t eot = meta["eot_id"];
  std::string ids;
  int64_t eots = 0;
  for (int64_t i = 0; i < val.size(); ++i) {
    ids += std::to_string(val.at(i)) + " ";
    eots += val.at(i) == eot;
  }
  EXPECT_EQ(eots, 20);
  EXPECT_EQ(val.at(val.size() - 1), eot);
  // Decoding the validation shard gives back the last 20 stories, each followed by the marker.
  lmlab::test::write_text(c.dir.file("ids.txt"), ids);
  auto dec = run_lmlab("tokenizer decode --tokenizer " + c.dir.file("tok.json") + " --input " + c.dir.file("ids.txt"));
  ASSERT_EQ(dec.exit_code, 0) << dec.err;
  EXPECT_EQ(dec.out.rfind("story 180: the cat", 0), 0u) << dec.out.substr(0, 80);
  EXPECT_NE(dec.out.find("park.<|endoftext|>story 181"), std::string::npos);
  // One thread writes the same shards as two.
  auto serial = run_lmlab("data prepare --tokenizer " + c.dir.file("tok.json") + " --input " +
                          c.dir.file("stories.txt") + " --output " + c.dir.file("data1") + " --val-fraction 0.1 --threads 1");
  ASSERT_EQ(serial.exit_code, 0) << serial.err;
  EXPECT_EQ(lmlab::test::read_text(c.dir.file("data1/train.bin")), lmlab::test::read_text(c.dir.file("data/train.bin")));
}

TEST(DataPrepare, BadInputsAreExit2) {
  Corpus c;
  auto missing = run_lmlab("data prepare --tokenizer " + c.dir.file("tok.json") + " --input " + c.dir.file("nope.txt") +
                           " --output " + c.dir.file("d"));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("nope.txt"), std::string::npos) << missing.err;
  auto frac = run_lmlab("data prepare --tokenizer " + c.dir.file("tok.json") + " --input " + c.dir.file("stories.txt") +
                        " --output " + c.dir.file("d") + " --val-fraction 1.5");
  EXPECT_EQ(frac.exit_code, 2);
}

TEST(Generate, SamplesFromATrainedRunReproducibly) {
  Corpus c;
  ASSERT_EQ(run_lmlab("data prepare --tokenizer " + c.dir.file("tok.json") + " --input " + c.dir.file("stories.txt") +
                      " --output " + c.dir.file("data"))
                .exit_code,
            0);
  lmlab::test::write_text(c.dir.file("t.toml"), "[run]\nout_dir = \"" + c.dir.file("run") + "\"\n[data]\ndir = \"" +
                                                    c.dir.file("data") + "\"\nseq_len = 32\n[model]\nn_layer = 1\n"
                                                    "n_head = 2\nd_model = 32\nmax_seq_len = 32\n[train]\nsteps = 30\n"
                                                    "lr = 1e-2\nwarmup_steps = 2\nbatch_size = 4\n[eval]\nevery = 0\nwindows = 4\n");
  auto t = run_lmlab("train --config " + c.dir.file("t.toml"));
  ASSERT_EQ(t.exit_code, 0) << t.err;
  std::string args = "generate --checkpoint " + c.dir.file("run") + " --prompt 'story 7: the' --max-tokens 12 --top-k 5 --seed 3";
  auto a = run_lmlab(args), b = run_lmlab(args);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out.rfind("story 7: the", 0), 0u) << a.out;
  EXPECT_GT(a.out.size(), std::string("story 7: the\n").size());
  EXPECT_EQ(a.out, b.out);
  auto bad = run_lmlab("generate --checkpoint " + c.dir.file("nowhere") + " --prompt x");
  EXPECT_EQ(bad.exit_code, 2);
}
