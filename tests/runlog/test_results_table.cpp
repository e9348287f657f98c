#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "lmlab/common/error.h"
#include "lmlab/runlog/results_table.h"
#include "testing.h"

using namespace lmlab::runlog;
using lmlab::test::TempDir;
using lmlab::test::write_text;

namespace {

void write_run(const TempDir& dir, const std::string& name, const std::string& variant, const std::string& group,
               int seed, const nlohmann::json& metrics) {
  nlohmann::json j = {{"method", "demo"}, {"variant", variant}, {"seed", seed}, {"metrics", metrics}};
  if (!group.empty()) j["group"] = group;
  write_text(dir.file(name + ".json"), j.dump());
}

}  // namespace

TEST(ResultsTable, MeanAndSampleSdPerVariant) {
  TempDir dir;
  write_run(dir, "a1", "base", "", 1, {{"acc", 1.0}, {"loss", 3.0}});
  write_run(dir, "a2", "base", "", 2, {{"acc", 2.0}, {"loss", 3.0}});
  write_run(dir, "a3", "base", "", 3, {{"acc", 3.0}, {"loss", 3.0}});
  write_run(dir, "b1", "new", "", 1, {{"acc", 0.5}});
  auto t = summarize_results(read_run_results({dir.path()}), {}, {});
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.metrics, (std::vector<std::string>{"acc", "loss"}));
  EXPECT_FALSE(t.has_groups);
  const auto& base = t.rows[0];
  EXPECT_EQ(base.variant, "base");
  EXPECT_EQ(base.seeds, 3);
  EXPECT_DOUBLE_EQ(base.cells[0]->mean, 2.0);
  EXPECT_DOUBLE_EQ(base.cells[0]->sd, 1.0);  // sqrt(((1-2)^2 + 0 + (3-2)^2) / (3-1))
  EXPECT_DOUBLE_EQ(base.cells[1]->sd, 0.0);
  const auto& fresh = t.rows[1];
  EXPECT_EQ(fresh.seeds, 1);
  EXPECT_DOUBLE_EQ(fresh.cells[0]->sd, 0.0);
  EXPECT_FALSE(fresh.cells[1].has_value());  // never measured: "-", not 0
  const std::string text = format_text(t);
  EXPECT_NE(text.find("2.000 ± 1.000"), std::string::npos) << text;
  EXPECT_NE(text.find("0.5000 ± 0.0000"), std::string::npos) << text;
}

TEST(ResultsTable, GroupsAndChosenOrder) {
  TempDir dir;
  write_run(dir, "1", "x", "usps", 1, {{"acc", 0.9}});
  write_run(dir, "2", "y", "usps", 1, {{"acc", 0.8}});
  write_run(dir, "3", "y", "optdigits", 1, {{"acc", 0.7}, {"extra", 1.0}});
  auto t = summarize_results(read_run_results({dir.path()}), {"acc"}, {"y", "x"});
  ASSERT_EQ(t.rows.size(), 3u);
  EXPECT_TRUE(t.has_groups);
  EXPECT_EQ(t.rows[0].group + "/" + t.rows[0].variant, "usps/y");
  EXPECT_EQ(t.rows[1].group + "/" + t.rows[1].variant, "usps/x");
  EXPECT_EQ(t.rows[2].group + "/" + t.rows[2].variant, "optdigits/y");
  EXPECT_EQ(t.metrics, (std::vector<std::string>{"acc"}));
  const std::string md = format_markdown(t);
  EXPECT_EQ(md.substr(0, md.find('\n')), "| group | variant | seeds | acc |");
}

TEST(ResultsTable, BadInputNamesTheFileOrTheName) {
  TempDir dir;
  write_run(dir, "a", "base", "", 1, {{"acc", 1.0}});
  write_run(dir, "b", "base", "", 1, {{"acc", 2.0}});
  try {
    read_run_results({dir.path()});
    FAIL() << "duplicate seed accepted";
  } catch (const lmlab::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("b.json"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("a.json"), std::string::npos) << e.what();
  }
  write_text(dir.file("b.json"), "{\"method\": \"demo\", \"variant\": 3}");
  EXPECT_THROW(read_run_results({dir.file("b.json")}), lmlab::UserError);
  write_text(dir.file("b.json"), "{\"method\": ");
  try {
    read_run_results({dir.file("b.json")});
    FAIL() << "truncated JSON accepted";
  } catch (const lmlab::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("b.json:1:12: invalid JSON: "), std::string::npos) << e.what();
  }
  auto runs = read_run_results({dir.file("a.json")});
  try {
    summarize_results(runs, {"accc"}, {});
    FAIL() << "unknown metric accepted";
  } catch (const lmlab::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'acc'"), std::string::npos) << e.what();
  }
}

TEST(ResultsTable, ReplacesOnlyTheMarkedSection) {
  const std::string doc = "# T\nintro\n<!-- results-table -->\nold\n<!-- /results-table -->\nafter\n";
  EXPECT_EQ(replace_marked_section(doc, "| new |\n", "d.md"),
            "# T\nintro\n<!-- results-table -->\n| new |\n<!-- /results-table -->\nafter\n");
  EXPECT_THROW(replace_marked_section("no markers\n", "x", "d.md"), lmlab::UserError);
}

TEST(ResultsTable, CommandWritesTheDocPageAndRefusesOneWithoutMarkers) {
  TempDir dir;
  write_run(dir, "a", "base", "", 1, {{"acc", 0.25}});
  const std::string doc = dir.file("page.md");
  write_text(doc, "text\n<!-- results-table -->\n<!-- /results-table -->\n");
  auto ok = lmlab::test::run_lmlab("results table '" + dir.path() + "' --doc '" + doc + "'");
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("0.2500 ± 0.0000"), std::string::npos) << ok.out;
  EXPECT_NE(lmlab::test::read_text(doc).find("| base | 1 | 0.2500 ± 0.0000 |"), std::string::npos);
  write_text(doc, "no markers\n");
  auto bad = lmlab::test::run_lmlab("results table '" + dir.path() + "' --doc '" + doc + "'");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("page.md"), std::string::npos) << bad.err;
  EXPECT_EQ(lmlab::test::read_text(doc), "no markers\n");
}

TEST(ResultsRecord, MetricsFromNumbersJsonAndTheLastJsonlRecord) {
  TempDir dir;
  write_text(dir.file("eval.json"), R"({"results": {"own": {"acc": 0.75}}, "runs": [{"n": 3}, {"n": 4}]})");
  write_text(dir.file("metrics.jsonl"), "{\"step\": 1, \"val_loss\": 3.0}\n{\"step\": 2, \"loss\": 2.5}\n"
                                        "{\"step\": 2, \"val_loss\": 2.0}\n{\"step\": 3, \"loss\": 1.9}\n");
  EXPECT_EQ(resolve_metric("x=0.5").second.get<double>(), 0.5);
  EXPECT_TRUE(resolve_metric("x=null").second.is_null());
  EXPECT_EQ(resolve_metric("acc=@" + dir.file("eval.json") + ":results.own.acc").second.get<double>(), 0.75);
  EXPECT_EQ(resolve_metric("loss=@" + dir.file("metrics.jsonl") + ":val_loss").second.get<double>(), 2.0);
  EXPECT_EQ(resolve_metric("n=@" + dir.file("eval.json") + ":runs.1.n").second.get<double>(), 4.0);
  EXPECT_THROW(resolve_metric("n=@" + dir.file("eval.json") + ":runs.2.n"), lmlab::UserError);
  EXPECT_THROW(resolve_metric("x=0.5abc"), lmlab::UserError);
  EXPECT_THROW(resolve_metric("x=@" + dir.file("eval.json") + ":results.own.f1"), lmlab::UserError);
  RunResult id;
  id.method = "demo";
  id.variant = "v";
  id.seed = 2;
  write_run_result(dir.file("r.json"), id, nlohmann::json::object(),
                   {"zeta=1", "alpha=@" + dir.file("eval.json") + ":results.own.acc"});
  auto runs = read_run_results({dir.file("r.json")});
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].metric_order, (std::vector<std::string>{"zeta", "alpha"}));  // the given order, not sorted
  EXPECT_DOUBLE_EQ(runs[0].metrics.at("alpha"), 0.75);
  EXPECT_EQ(runs[0].seed, 2);
}
