// A binary cache of parsed tokenizer.json files, so that loading a 100k vocabulary (5.5 MB of
// JSON, 233k merges resolved by string lookups) costs a read and a checksum instead of a parse.
// An entry is keyed by a 128-bit hash of the JSON's bytes (a copied file hits, an edit of the
// same size misses) and lives in $LMLAB_CACHE_DIR/tokenizers/, else
// ${XDG_CACHE_HOME:-$HOME/.cache}/lmlab/tokenizers/; LMLAB_TOKENIZER_CACHE=0 turns it off.
// The JSON is still what is validated: only a model that parsed is ever written, and any cache
// problem (no directory, unwritable, truncated, corrupt, foreign, another format version) falls
// back to the parse without a word, so ids and error messages never depend on the cache.
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "lmlab/tokenizer/model.h"

namespace lmlab::tokenizer {

// The model of the tokenizer.json at `path`, from the cache when it holds these exact bytes,
// else parsed (parse_tokenizer_json: same checks, same UserError messages) and then cached.
Model load_model(const std::string& path);

// The cache entry's path for tokenizer.json bytes `json`; "" when the cache is off or no
// directory can be named.
std::string model_cache_file(std::string_view json);
// The model stored in `file` for `json`; nullopt when the file is missing, unreadable, not an
// entry of this format version, for other bytes, truncated or corrupt.
std::optional<Model> read_model_cache(const std::string& file, std::string_view json);
// Writes the entry atomically (temporary sibling + rename; its directory is created); false,
// with nothing left behind, when it cannot.
bool write_model_cache(const std::string& file, std::string_view json, const Model& model);

}  // namespace lmlab::tokenizer
