// gnuplot heatmap of per-layer x per-expert load (see expert_heatmap.h).
#include "lmlab/analysis/expert_heatmap.h"

#include <sstream>

#include "lmlab/common/plot.h"

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
  // gnuplot "matrix" format: one row per layer, experts as columns.
  std::ostringstream data;
  for (const auto& row : load.load) {
    for (size_t e = 0; e < row.size(); ++e) data << (e ? " " : "") << row[e];
    data << "\n";
  }
  Plot plot;
  plot.height = static_cast<int>(160 + 40 * load.load.size());
  plot.data = {{"load", data.str()}};
  std::ostringstream gp;
  gp << "set title " << gnuplot_quote(title) << "\n"
     << "set xlabel 'expert'\nset ylabel ''\nset cblabel 'share of routed assignments'\n"
     << "set palette defined (0 'white', 1 'orange', 2 'dark-red')\nset yrange [-0.5:" << load.load.size() - 0.5
     << "] reverse\nset ytics (";
  for (size_t l = 0; l < load.layers.size(); ++l) gp << (l ? ", " : "") << gnuplot_quote(load.layers[l]) << " " << l;
  gp << ")\nplot $load matrix with image notitle\n";
  plot.commands = gp.str();
  return render_png_or_warn(plot, png_path);
}

}  // namespace lmlab::analysis
