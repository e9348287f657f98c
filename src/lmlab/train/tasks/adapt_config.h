// [task.adapt]: PYRA-style adaptation of a pre-trained ViT (docs/pyra.md).
#pragma once
#include <cstdint>
#include <vector>

namespace lmlab {

struct AdaptConfig {
  int64_t n_classes = 0;
  std::vector<int64_t> train_range = {0, 0};
  std::vector<int64_t> eval_range = {0, 0};
  double csv_pixel_max = 16.0;

  template <class V>
  void visit(V& v) {
    v.field("n_classes", n_classes, "number of labels; 0 = 1 + the largest label in the training records");
    v.field("train_range", train_range,
            "[begin, end) of the records of data.train_files used for training; end 0 = to the end "
            "(e.g. [0, 1000]: a VTAB-1k-sized split)");
    v.field("eval_range", eval_range, "[begin, end) of the records of each data.eval_files file scored; end 0 = to the end");
    v.field("csv_pixel_max", csv_pixel_max,
            "pixel value that maps to 1.0 in .csv(.gz) image files (rows of side^2 pixels then the label; "
            "optdigits: 16)");
  }
};

}  // namespace lmlab
