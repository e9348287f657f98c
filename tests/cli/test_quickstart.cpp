// `lmlab quickstart` end to end at toy size: tokenizer, shards, training (over one CPU rank per
// core where there are two or more, cpu_ranks.h), the validation loss, samples and the listing;
// run twice into one output directory, which it may replace because it wrote it.
#include <gtest/gtest.h>
#include <sched.h>

#include <filesystem>
#include <regex>

#include "testing.h"

using lmlab::test::run_lmlab;
using lmlab::test::TempDir;
namespace fs = std::filesystem;

namespace {

int quickstart_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  return sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
}

}  // namespace

TEST(Quickstart, TrainsEndToEndTwiceIntoOneOutputDirectory) {
  TempDir data, out;
  fs::create_directories(data.file("lm/tinystories"));
  std::string stories;
  for (int i = 0; i < 3000; ++i)
    stories += "once upon a time a little dog named " + std::to_string(i % 37) + " went to the park and was happy.\n";
  lmlab::test::write_text(data.file("lm/tinystories/tinystories_train_slice_lowercased.txt"), stories);
  for (int round = 1; round <= 2; ++round) {
    auto r = run_lmlab("quickstart --minutes 0.03 --data " + data.path() + " --output " + out.file("qs"));
    ASSERT_EQ(r.exit_code, 0) << "round " << round << ": " << r.err;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r.out, m, std::regex("validation loss after ([0-9]+) steps: ([0-9.]+) nats"))) << r.out;
    EXPECT_GE(std::stoi(m[1]), 1) << r.out;
    EXPECT_GT(std::stod(m[2]), 0.0) << r.out;
    EXPECT_NE(r.out.find("checkpoint  " + out.file("qs/run/checkpoints/step_")), std::string::npos) << r.out;
    EXPECT_TRUE(fs::exists(out.file("qs/run/metrics.jsonl")));
    if (quickstart_cores() >= 2) {
      EXPECT_NE(r.err.find(" of each batch of 16 (train.cpu_ranks = 0: one per core)"), std::string::npos) << r.err;
      EXPECT_TRUE(fs::exists(out.file("qs/quickstart.toml")));
    }
  }
}
