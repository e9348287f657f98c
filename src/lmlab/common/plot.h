// PNG plots through gnuplot, the one way lmlab draws charts. The script and its data go to a
// private temporary directory (data as inline datablocks, so no data file paths need quoting),
// gnuplot runs without a shell, and the PNG reaches its path through write_file_atomic: a
// failed or interrupted plot leaves no half-written image.
#pragma once
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace lmlab {

// gnuplot is missing or rejected the script (the message says which, with gnuplot's stderr).
class PlotError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// `s` as a gnuplot single-quoted string: inside '...' gnuplot treats backslashes literally and
// reads '' as one quote, so any title or path survives; newlines (which would end the
// command) become spaces.
std::string gnuplot_quote(const std::string& s);

struct Plot {
  int width = 900, height = 500;  // pixels
  // Datablocks: {name, rows} is referred to as $name in `commands` (e.g. plot $loss using 1:2).
  std::vector<std::pair<std::string, std::string>> data;
  // Everything after the terminal and output lines (set title ..., plot ...). The terminal is
  // noenhanced, so titles are printed as given (no ^ or _ markup).
  std::string commands;
};

// Renders `plot` into `png_path`. PlotError when gnuplot is missing or fails; UserError when
// png_path's directory does not exist (checked first, so it is never reported as a gnuplot fault).
void render_png(const Plot& plot, const std::string& png_path);

// render_png for optional plots (a run never fails for a chart): on PlotError prints
// "lmlab: warning: <why>; no plot written to <png_path>" on stderr and returns false.
bool render_png_or_warn(const Plot& plot, const std::string& png_path);

}  // namespace lmlab
