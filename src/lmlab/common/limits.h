// Bounds past which an input is damaged, not merely large (issue #23): the readers of
// tokenizer.json and meta.json check ids against them before sizing anything by them.
#pragma once
#include <cstdint>

namespace lmlab {

// 16.7M ids: 64x the largest vocabulary in use (256k), and within a 4-byte token shard.
constexpr int64_t kMaxVocabSize = int64_t(1) << 24;

}  // namespace lmlab
