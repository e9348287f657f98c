// gnuplot heatmap of per-layer x per-expert load (see expert_heatmap.h).
#include "lmlab/analysis/expert_heatmap.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "lmlab/common/files.h"

namespace lmlab::analysis {

ExpertLoad expert_load_from_stats(const nlohmann::json& ffn_stats) {
  ExpertLoad out;
  for (const auto& [name, stats] : ffn_stats.items()) {
    if (!stats.is_object() || !stats.contains("load")) continue;
    out.layers.push_back(name);
    out.load.push_back(stats["load"].get<std::vector<double>>());
  }
  return out;
}

bool write_expert_heatmap(const ExpertLoad& load, const std::string& png_path, const std::string& title) {
  if (load.load.empty()) return false;
  namespace fs = std::filesystem;
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    std::cerr << "lmlab: warning: gnuplot not found, skipping " << png_path << "\n";
    return false;
  }
  // gnuplot "matrix" format: one row per layer, experts as columns.
  std::ostringstream data;
  for (const auto& row : load.load) {
    for (size_t e = 0; e < row.size(); ++e) data << (e ? " " : "") << row[e];
    data << "\n";
  }
  const std::string base = png_path + ".heatmap";
  const std::string dat_path = base + ".dat", script_path = base + ".gp", tmp_png = png_path + ".tmp";
  write_file_atomic(dat_path, data.str());
  std::ostringstream gp;
  gp << "set terminal pngcairo size 900," << 160 + 40 * load.load.size() << "\n"
     << "set output '" << tmp_png << "'\n"
     << "set title '" << title << "' noenhanced\n"
     << "set xlabel 'expert'\nset ylabel ''\nset cblabel 'share of routed assignments'\n"
     << "set palette defined (0 'white', 1 'orange', 2 'dark-red')\nset yrange [-0.5:" << load.load.size() - 0.5
     << "] reverse\nset ytics (";
  for (size_t l = 0; l < load.layers.size(); ++l) gp << (l ? ", " : "") << "'" << load.layers[l] << "' " << l;
  gp << ")\nplot '" << dat_path << "' matrix with image notitle\n";
  write_file_atomic(script_path, gp.str());
  int rc = std::system(("gnuplot '" + script_path + "' 2>/dev/null").c_str());
  std::error_code ec;
  fs::remove(dat_path, ec);
  fs::remove(script_path, ec);
  if (rc != 0 || !fs::exists(tmp_png)) {
    std::cerr << "lmlab: warning: gnuplot failed, no heatmap at " << png_path << "\n";
    fs::remove(tmp_png, ec);
    return false;
  }
  fs::rename(tmp_png, png_path);
  return true;
}

}  // namespace lmlab::analysis
