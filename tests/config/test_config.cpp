#include <gtest/gtest.h>

#include "lmlab/common/error.h"
#include "lmlab/config/config.h"
#include "testing.h"
#include "user_error_of.h"

using lmlab::UserError;
using lmlab::test::user_error_of;
using namespace lmlab::config;

namespace {

struct Ffn {
  std::string type = "dense";
  int n_experts = 8;
  template <class V>
  void visit(V& v) {
    v.field("type", type, "FFN kind", {"dense", "switch", "maskmoe"});
    v.field("n_experts", n_experts, "experts per layer");
  }
};

struct Model {
  int64_t n_layer = 4;
  double init_std = 0.02;
  bool tied = true;
  std::vector<int64_t> moe_layers;
  Ffn ffn;
  template <class V>
  void visit(V& v) {
    v.field("n_layer", n_layer, "blocks");
    v.field("init_std", init_std, "init std");
    v.field("tied", tied, "tie embeddings");
    v.field("moe_layers", moe_layers, "layers with MoE");
    v.section("ffn", ffn);
  }
};

struct Exp {
  Model model;
  std::string name = "run";
  template <class V>
  void visit(V& v) {
    v.field("name", name, "run name");
    v.section("model", model);
  }
};

struct Ranged {
  double lr = 1e-3, beta = 0.9, free = 1.0;
  int64_t every = 10;
  template <class V>
  void visit(V& v) {
    v.field("lr", lr, "learning rate", at_least(0));
    v.field("beta", beta, "beta", from_below(0, 1));
    v.field("free", free, "no range");
    v.field("every", every, "cadence", at_least(1));
  }
};

}  // namespace

TEST(Config, DefaultsComeFromTheStruct) {
  Exp e;
  Schema s = Schema::of(e);
  apply_toml_text(s, "", "empty.toml");
  EXPECT_EQ(e.model.n_layer, 4);
  EXPECT_EQ(e.model.ffn.type, "dense");
  EXPECT_EQ(s.keys().size(), 7u);
  EXPECT_NE(s.find("model.ffn.n_experts"), nullptr);
}

TEST(Config, FileValuesAndNestedSections) {
  Exp e;
  apply_toml_text(Schema::of(e),
                  "name = \"x\"\n[model]\nn_layer = 12\ninit_std = 1\nmoe_layers = [1, 3]\n"
                  "[model.ffn]\ntype = \"switch\"\nn_experts = 64\n",
                  "a.toml");
  EXPECT_EQ(e.name, "x");
  EXPECT_EQ(e.model.n_layer, 12);
  EXPECT_DOUBLE_EQ(e.model.init_std, 1.0);  // an integer is accepted where a float is expected
  EXPECT_EQ(e.model.moe_layers, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(e.model.ffn.type, "switch");
  EXPECT_EQ(e.model.ffn.n_experts, 64);
}

TEST(Config, OverridesWinAndAcceptBareStrings) {
  Exp e;
  Schema s = Schema::of(e);
  apply_toml_text(s, "[model]\nn_layer = 12\n", "a.toml");
  apply_overrides(s, {"model.n_layer=2", "model.ffn.type=maskmoe", "model.tied=false",
                      "model.init_std=3e-3", "name=\"quoted\""});
  EXPECT_EQ(e.model.n_layer, 2);
  EXPECT_EQ(e.model.ffn.type, "maskmoe");
  EXPECT_FALSE(e.model.tied);
  EXPECT_DOUBLE_EQ(e.model.init_std, 3e-3);
  EXPECT_EQ(e.name, "quoted");
}

TEST(Config, UnknownKeyNamesFilePositionAndClosestKey) {
  Exp e;
  std::string msg = user_error_of([&] { apply_toml_text(Schema::of(e), "[model]\nn_layers = 3\n", "exp.toml"); });
  EXPECT_EQ(msg, "exp.toml:2:1: unknown key 'model.n_layers' (did you mean 'model.n_layer'?)");
}

TEST(Config, UnknownSectionIsAnError) {
  Exp e;
  std::string msg = user_error_of([&] { apply_toml_text(Schema::of(e), "[modle]\nn_layer = 3\n", "exp.toml"); });
  EXPECT_NE(msg.find("exp.toml:1:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("unknown section [modle] (did you mean 'model'?)"), std::string::npos) << msg;
}

TEST(Config, WrongTypeNamesKeyAndExpectedType) {
  Exp e;
  std::string msg = user_error_of([&] { apply_toml_text(Schema::of(e), "[model]\n\nn_layer = \"big\"\n", "exp.toml"); });
  EXPECT_EQ(msg, "exp.toml:3:11: key 'model.n_layer' must be an integer");
  msg = user_error_of([&] { apply_toml_text(Schema::of(e), "[model]\nn_layer = 2.5\n", "e.toml"); });
  EXPECT_NE(msg.find("must be an integer"), std::string::npos) << msg;
  msg = user_error_of([&] { apply_toml_text(Schema::of(e), "[model]\nmoe_layers = [1, \"x\"]\n", "e.toml"); });
  EXPECT_NE(msg.find("e.toml:2:18: key 'model.moe_layers' must be an array of integers"), std::string::npos) << msg;
}

TEST(Config, ValueOutsideChoicesSuggestsOne) {
  Exp e;
  std::string msg = user_error_of([&] { apply_overrides(Schema::of(e), {"model.ffn.type=swich"}); });
  EXPECT_NE(msg.find("has no value 'swich' (did you mean 'switch'?)"), std::string::npos) << msg;
  EXPECT_EQ(e.model.ffn.type, "dense");
}

TEST(Config, OverrideOfUnknownKeyAndMalformedOverride) {
  Exp e;
  Schema s = Schema::of(e);
  EXPECT_EQ(user_error_of([&] { apply_overrides(s, {"model.nlayer=3"}); }),
            "--set model.nlayer=3: unknown key 'model.nlayer' (did you mean 'model.n_layer'?)");
  EXPECT_NE(user_error_of([&] { apply_overrides(s, {"model.n_layer"}); }).find("expected section.key=value"),
            std::string::npos);
}

TEST(Config, IntFieldOutOfRangeIsAnError) {
  Exp e;
  std::string msg = user_error_of([&] { apply_overrides(Schema::of(e), {"model.ffn.n_experts=4294967296"}); });
  EXPECT_NE(msg.find("out of range"), std::string::npos) << msg;
  EXPECT_EQ(e.model.ffn.n_experts, 8);
}

TEST(Config, SyntaxErrorHasPosition) {
  Exp e;
  std::string msg = user_error_of([&] { apply_toml_text(Schema::of(e), "name = \n", "bad.toml"); });
  EXPECT_EQ(msg.rfind("bad.toml:1:", 0), 0u) << msg;
}

TEST(Config, ResolvedTomlRoundTrips) {
  Exp a;
  apply_overrides(Schema::of(a), {"model.n_layer=7", "model.ffn.type=maskmoe", "model.moe_layers=[0,2]",
                                  "model.init_std=0.125", "name=\"a \\\"q\\\" b\""});
  std::string text = to_toml(Schema::of(a));
  Exp b;
  apply_toml_text(Schema::of(b), text, "resolved.toml");
  EXPECT_EQ(to_toml(Schema::of(b)), text);
  EXPECT_EQ(b.model.n_layer, 7);
  EXPECT_EQ(b.name, "a \"q\" b");
  EXPECT_EQ(b.model.moe_layers, (std::vector<int64_t>{0, 2}));
  EXPECT_DOUBLE_EQ(b.model.init_std, 0.125);
}

TEST(Config, DescribeListsEveryKeyWithHelpAndChoices) {
  Exp e;
  std::string d = describe(Schema::of(e));
  EXPECT_NE(d.find("[model.ffn]\n# FFN kind (string; one of: dense switch maskmoe)\ntype = \"dense\"\n"),
            std::string::npos) << d;
  EXPECT_NE(d.find("# blocks (integer)\nn_layer = 4\n"), std::string::npos) << d;
}

TEST(Config, NumbersOutsideTheirRangeOrNanNameFileKeyAndRange) {
  Ranged r;
  Schema s = Schema::of(r);
  EXPECT_EQ(user_error_of([&] { apply_toml_text(s, "lr = -1\n", "c.toml"); }), "c.toml:1:6: key 'lr' must be in [0, inf), got -1");
  EXPECT_EQ(user_error_of([&] { apply_toml_text(s, "\nbeta = 1.0\n", "c.toml"); }), "c.toml:2:8: key 'beta' must be in [0, 1), got 1");
  EXPECT_EQ(user_error_of([&] { apply_overrides(s, {"every=0"}); }), "--set every=0:1:9: key 'every' must be in [1, inf), got 0");
  EXPECT_NE(user_error_of([&] { apply_overrides(s, {"free=nan"}); }).find("key 'free' cannot be nan"), std::string::npos);
  EXPECT_EQ(user_error_of([&] { apply_overrides(s, {"free=-inf", "beta=0", "every=1"}); }), "");  // edges and unranged
  EXPECT_DOUBLE_EQ(r.lr, 1e-3);  // refused values leave the field as it was
  EXPECT_NE(describe(s).find("# learning rate (float in [0, inf))"), std::string::npos) << describe(s);
}
