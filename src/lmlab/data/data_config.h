// [data] config section.
#pragma once
#include <cstdint>
#include <string>

namespace lmlab {

struct DataConfig {
  std::string dir = "data/tinystories";
  int64_t seq_len = 256;

  template <class V>
  void visit(V& v) {
    v.field("dir", dir, "directory of token shards written by `lmlab data prepare`");
    v.field("seq_len", seq_len, "tokens per training window");
  }
};

}  // namespace lmlab
