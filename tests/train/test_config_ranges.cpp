// The experiment's numeric keys carry ranges (config::Range): the defaults lie inside them (the
// resolved config.toml of every run is re-read through the same checks), and the values the
// bad-input review found accepted are refused with file, key and range.
#include <gtest/gtest.h>

#include "lmlab/common/error.h"
#include "lmlab/config/config.h"
#include "lmlab/train/experiment.h"

using lmlab::Experiment;
using namespace lmlab::config;

namespace {

std::string error_of(const std::string& override_text) {
  Experiment e;
  try {
    apply_overrides(Schema::of(e), {override_text});
  } catch (const lmlab::UserError& err) {
    return err.what();
  }
  return "";
}

}  // namespace

TEST(ConfigRanges, DefaultsPassTheirOwnRanges) {
  Experiment e, again;
  EXPECT_NO_THROW(apply_toml_text(Schema::of(again), to_toml(Schema::of(e)), "resolved.toml"));
}

TEST(ConfigRanges, MeaninglessValuesAreRefused) {
  for (const char* bad : {"train.lr=-1e-3", "train.min_lr_ratio=-0.1", "train.beta1=1", "train.grad_clip=-1",
                          "train.warmup_steps=-5", "train.log_every=0", "train.checkpoint_every=-1", "eval.windows=0",
                          "model.ffn.moe_every=0", "model.rope_theta=0", "model.init_std=nan", "model.n_layer=0",
                          "train.batch_size=0", "model.dropout=1"}) {
    const std::string msg = error_of(bad);
    const std::string key = std::string(bad).substr(0, std::string(bad).find('='));
    EXPECT_NE(msg.find("key '" + key + "'"), std::string::npos) << bad << ": " << msg;
    EXPECT_TRUE(msg.find(" must be in ") != std::string::npos || msg.find("cannot be nan") != std::string::npos)
        << bad << ": " << msg;
  }
  EXPECT_EQ(error_of("train.grad_clip=0"), "");  // 0 = off is meaningful
  EXPECT_EQ(error_of("eval.every=0"), "");
}
