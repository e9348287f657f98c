// The tokenizer as the rest of lmlab sees it (data preparation, evaluation, generation, export):
// a byte-level BPE or Scaffold-BPE tokenizer loaded from a Hugging Face tokenizer.json.
// Model-facing ids are 0..vocab_size()-1; scaffold tokens never appear in them.
// Pinned so the data and eval modules can be written against it while the tokenizer lands
// (issue #3); the implementation is free to grow behind it.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lmlab::tokenizer {

struct Model;
class Encoder;

class Tokenizer {
 public:
  // Reads a tokenizer.json; UserError naming the file and the field when it is malformed.
  static Tokenizer load(const std::string& path);

  // Any byte string -> ids (special tokens in the text are recognised as such).
  // decode(encode(x)) == x for every x, including invalid UTF-8.
  std::vector<uint32_t> encode(std::string_view text) const;
  std::string decode(const std::vector<uint32_t>& ids) const;

  // Number of model-facing ids (normal tokens + special tokens).
  uint32_t vocab_size() const;
  // Id of a special token such as "<|endoftext|>", if the tokenizer has it.
  std::optional<uint32_t> special_id(const std::string& content) const;

  // Additions beyond the pinned interface (include model.h / encoder.h to use them):
  static Tokenizer from_model(Model model);
  // Same ids as encode(), computed on `threads` threads (chunks cut where splitting is safe).
  std::vector<uint32_t> encode_parallel(std::string_view text, int threads) const;
  // encode_parallel() over a stream without holding all of it: `read(buffer, n)` stores up to n
  // bytes and returns how many, 0 at the end; the text is encoded in blocks of about `block`
  // bytes, each ending at the last safe cut in it (the rest is carried into the next), and
  // `emit` gets each block's ids in order. Their concatenation is encode(whole text). A custom
  // split pattern, whose safe cuts are unknown, is read whole first.
  static constexpr size_t kStreamBlock = size_t(4) << 20;
  void encode_stream(const std::function<size_t(char*, size_t)>& read, int threads,
                     const std::function<void(const std::vector<uint32_t>&)>& emit, size_t block = kStreamBlock) const;
  const Model& model() const;
  const Encoder& encoder() const;

  // UserError naming `path`, both sizes and `model_source` when this tokenizer has ids that a
  // model with `model_vocab` embeddings cannot look up (they were not trained together): the
  // model would index past its embedding table instead of reporting it.
  void check_fits_model(const std::string& path, int64_t model_vocab, const std::string& model_source) const;

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  struct State;  // defined by the implementation

 private:
  explicit Tokenizer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace lmlab::tokenizer
