// The Tokenizer facade (tokenizer.h): a Model read from tokenizer.json plus its Encoder.
#include "lmlab/tokenizer/tokenizer.h"

#include <algorithm>

#include "lmlab/common/error.h"
#include "lmlab/tokenizer/encoder.h"
#include "lmlab/tokenizer/model.h"
#include "lmlab/tokenizer/model_cache.h"
#include "lmlab/tokenizer/pretokenizer.h"

namespace lmlab::tokenizer {

struct Tokenizer::State {
  Model model;
  Encoder encoder;
  std::string source;  // the tokenizer.json it came from, "" when built in memory
  explicit State(Model m) : model(std::move(m)), encoder(model) {}
};

namespace {

// A UserError while encoding comes from the file's split pattern (PCRE2's match limit on a
// pattern that backtracks too much): the message names that file, which is what the user fixes.
template <class Encode>
std::vector<uint32_t> naming_source(const std::string& source, Encode&& encode) {
  try {
    return encode();
  } catch (const UserError& e) {
    if (source.empty()) throw;
    throw UserError(source + ": " + e.what());
  }
}

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<State> state) : state_(std::move(state)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::load(const std::string& path) {
  Tokenizer t = from_model(load_model(path));
  t.state_->source = path;
  return t;
}

Tokenizer Tokenizer::from_model(Model model) { return Tokenizer(std::make_unique<State>(std::move(model))); }

std::vector<uint32_t> Tokenizer::encode(std::string_view text) const {
  return naming_source(state_->source, [&] {
    std::vector<uint32_t> ids;
    ids.reserve(text.size() / 3 + 1);
    state_->encoder.encode(text, ids);
    return ids;
  });
}

std::vector<uint32_t> Tokenizer::encode_parallel(std::string_view text, int threads) const {
  return naming_source(state_->source, [&] { return state_->encoder.encode_parallel(text, threads); });
}

void Tokenizer::encode_stream(const std::function<size_t(char*, size_t)>& read, int threads,
                              const std::function<void(const std::vector<uint32_t>&)>& emit, size_t block) const {
  const Encoder& encoder = state_->encoder;
  const size_t longest = std::max<size_t>(longest_special(encoder.special_contents()), 1);
  std::string text;
  size_t checked = 0;  // cuts below this were looked for already
  while (true) {
    const size_t had = text.size();
    text.resize(had + block);
    size_t got = 0;
    for (size_t n; got < block && (n = read(text.data() + had + got, block - got)) > 0;) got += n;
    text.resize(had + got);
    if (got == 0) break;
    const size_t cut = encoder.cuttable() ? last_safe_cut(text, checked, encoder.special_contents()) : 0;
    if (cut == 0) {  // none yet: only the last `longest` places may become cuts once more is read
      checked = text.size() > longest ? text.size() - longest + 1 : 1;
      continue;
    }
    emit(encode_parallel(std::string_view(text).substr(0, cut), threads));
    text.erase(0, cut);
    checked = 1;
  }
  emit(encode_parallel(text, threads));
}

std::string Tokenizer::decode(const std::vector<uint32_t>& ids) const { return state_->encoder.decode(ids); }

uint32_t Tokenizer::vocab_size() const { return state_->model.vocab_size(); }

void Tokenizer::check_fits_model(const std::string& path, int64_t model_vocab, const std::string& model_source) const {
  if (static_cast<int64_t>(vocab_size()) <= model_vocab) return;
  throw_user_error(path, "the tokenizer has " + std::to_string(vocab_size()) + " ids but the model's vocab_size is " +
                             std::to_string(model_vocab) + " (" + model_source +
                             "); use the tokenizer the model was trained with");
}

std::optional<uint32_t> Tokenizer::special_id(const std::string& content) const {
  for (const auto& [text, id] : state_->model.specials)
    if (text == content) return id;
  return std::nullopt;
}

const Model& Tokenizer::model() const { return state_->model; }
const Encoder& Tokenizer::encoder() const { return state_->encoder; }

}  // namespace lmlab::tokenizer
