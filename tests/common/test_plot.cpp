// The one gnuplot helper: quoting that survives quotes and backslashes, a PNG written only
// when gnuplot succeeds, and clear errors when gnuplot fails or is missing.
#include <gtest/gtest.h>

#include <cstdlib>

#include "lmlab/common/error.h"
#include "lmlab/common/plot.h"
#include "testing.h"

using lmlab::Plot;
using lmlab::PlotError;
using lmlab::test::TempDir;

namespace {

bool have_gnuplot() { return std::system("command -v gnuplot >/dev/null 2>&1") == 0; }

Plot line_plot(const std::string& title) {
  Plot p;
  p.width = 300;
  p.height = 200;
  p.data = {{"xy", "1 2\n2 3\n3 1\n"}};
  p.commands = "set title " + lmlab::gnuplot_quote(title) + "\nplot $xy using 1:2 with lines title " +
               lmlab::gnuplot_quote("it's \"x\"");
  return p;
}

}  // namespace

TEST(Plot, QuoteDoublesSingleQuotesAndFlattensNewlines) {
  EXPECT_EQ(lmlab::gnuplot_quote("a'b\\c\"d"), "'a''b\\c\"d'");
  EXPECT_EQ(lmlab::gnuplot_quote("two\nlines"), "'two lines'");
}

TEST(Plot, QuotesSpacesAndBackslashesInTitleAndPath) {
  if (!have_gnuplot()) GTEST_SKIP() << "gnuplot not installed";
  lmlab::test::TempDir dir;
  const std::string png = dir.file("it's a \\ \"plot\".png");
  lmlab::render_png(line_plot("loss: 'quoted' \\ back\\slash \"double\""), png);
  EXPECT_EQ(lmlab::test::read_text(png).substr(1, 3), "PNG");
  EXPECT_FALSE(std::filesystem::exists(png + ".tmp." + std::to_string(::getpid())));
}

TEST(Plot, AFailingScriptIsAClearErrorAndLeavesTheOldFile) {
  if (!have_gnuplot()) GTEST_SKIP() << "gnuplot not installed";
  lmlab::test::TempDir dir;
  const std::string png = dir.file("out.png");
  lmlab::test::write_text(png, "previous");
  Plot bad;
  bad.commands = "plot sin(x";
  try {
    lmlab::render_png(bad, png);
    FAIL() << "no error";
  } catch (const PlotError& e) {
    EXPECT_NE(std::string(e.what()).find("gnuplot failed"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("')' expected"), std::string::npos) << e.what();  // gnuplot's own words
  }
  EXPECT_EQ(lmlab::test::read_text(png), "previous");
  EXPECT_FALSE(lmlab::render_png_or_warn(bad, png));
}

TEST(Plot, MissingGnuplotIsAClearError) {
  lmlab::test::TempDir dir;
  const char* old = std::getenv("PATH");
  const std::string saved = old ? old : "";
  ::setenv("PATH", dir.path().c_str(), 1);  // an empty directory: no gnuplot on PATH
  try {
    lmlab::render_png(line_plot("t"), dir.file("out.png"));
    ADD_FAILURE() << "no error";
  } catch (const PlotError& e) {
    EXPECT_NE(std::string(e.what()).find("gnuplot not found"), std::string::npos) << e.what();
  }
  ::setenv("PATH", saved.c_str(), 1);
  EXPECT_FALSE(std::filesystem::exists(dir.file("out.png")));
}

TEST(Plot, AMissingOutputDirectoryIsAUserErrorNotAGnuplotFault) {
  TempDir dir;
  lmlab::Plot plot;
  plot.commands = "plot x";
  try {
    lmlab::render_png(plot, dir.file("no/such/dir/p.png"));
    ADD_FAILURE() << "no error";
  } catch (const lmlab::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("directory " + dir.file("no/such/dir") + " does not exist"), std::string::npos)
        << e.what();
  }
}
