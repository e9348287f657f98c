// Expert-load heatmap of an MoE run: rows = MoE layers, columns = experts, colour = share of
// the layer's routed (token, slot) assignments that went to the expert (1/E everywhere is
// perfect balance). Data from the blocks' stats()["load"] (metrics.jsonl routing stats).
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace lmlab::analysis {

struct ExpertLoad {
  std::vector<std::string> layers;        // row labels, e.g. "layer0"
  std::vector<std::vector<double>> load;  // [layer][expert]
};

// Rows of every entry of a per-layer stats object ({"layer0": {"load": [...]}, ...}) that has
// a "load" array; layers without one (dense layers) are skipped.
ExpertLoad expert_load_from_stats(const nlohmann::json& ffn_stats);

// Writes the heatmap PNG atomically through gnuplot. Returns false, after a warning on
// stderr, when gnuplot is not installed or fails (a missing plot never fails a run).
bool write_expert_heatmap(const ExpertLoad& load, const std::string& png_path, const std::string& title);

}  // namespace lmlab::analysis
