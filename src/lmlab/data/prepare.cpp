// Corpus -> token shards, tokenized in parallel (one contiguous range of documents per thread,
// so the output does not depend on the thread count).
#include "lmlab/data/prepare.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <thread>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/common/progress.h"
#include "lmlab/data/shards.h"
#include "lmlab/tokenizer/tokenizer.h"

namespace lmlab::data {

namespace {

const std::string kEot = "<|endoftext|>";

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// Splits on `sep`, dropping the separators and documents that are empty after trimming
// surrounding whitespace (the newline that precedes a marker line belongs to no document).
void split_on(const std::string& text, const std::string& sep, std::vector<std::string>& docs) {
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t next = text.find(sep, pos);
    if (next == std::string::npos) next = text.size();
    std::string doc = trim(text.substr(pos, next - pos));
    if (!doc.empty()) docs.push_back(std::move(doc));
    pos = next + sep.size();
  }
}

std::vector<std::string> read_documents(const std::vector<std::string>& files, const std::string& mode) {
  std::vector<std::string> docs;
  for (const auto& f : files) {
    std::string text = read_file(f);
    std::string m = mode == "auto" ? (text.find(kEot) != std::string::npos ? "eot" : "file") : mode;
    if (m == "eot")
      split_on(text, kEot, docs);
    else if (m == "line")
      split_on(text, "\n", docs);
    else if (!text.empty())
      docs.push_back(std::move(text));
  }
  return docs;
}

struct Split {
  std::vector<uint32_t> ids;
  int64_t documents = 0;
};

Split tokenize(const tokenizer::Tokenizer& tok, const std::vector<std::string>& docs, size_t begin, size_t end,
               uint32_t eot, int threads, const std::string& label) {
  int64_t total_bytes = 0;
  for (size_t i = begin; i < end; ++i) total_bytes += static_cast<int64_t>(docs[i].size());
  Progress progress("tokenize " + label, total_bytes, "B");
  std::atomic<int64_t> done{0};
  size_t n = end - begin;
  size_t parts = std::max<size_t>(1, std::min<size_t>(static_cast<size_t>(threads), n));
  std::vector<std::vector<uint32_t>> out(parts);
  std::vector<std::thread> pool;
  std::exception_ptr error;
  std::mutex error_mutex;
  for (size_t p = 0; p < parts; ++p) {
    pool.emplace_back([&, p] {
      try {
        for (size_t i = begin + n * p / parts; i < begin + n * (p + 1) / parts; ++i) {
          std::vector<uint32_t> ids = tok.encode(docs[i]);
          out[p].insert(out[p].end(), ids.begin(), ids.end());
          out[p].push_back(eot);
          done += static_cast<int64_t>(docs[i].size());
        }
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        error = std::current_exception();
      }
    });
  }
  while (true) {
    bool all_done = done.load() >= total_bytes;
    progress.update(done.load());
    if (all_done) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (error) break;
  }
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  Split s;
  for (auto& part : out) s.ids.insert(s.ids.end(), part.begin(), part.end());
  s.documents = static_cast<int64_t>(n);
  progress.finish(std::to_string(s.ids.size()) + " tokens");
  return s;
}

}  // namespace

const std::vector<std::string>& prepare_output_files() {
  static const std::vector<std::string> files = {"train.bin", "val.bin", "tokenizer.json", "meta.json"};
  return files;
}

nlohmann::json prepare_data(const PrepareOptions& o) {
  if (o.inputs.empty()) throw UserError("data prepare: no --input files");
  if (!(o.val_fraction >= 0 && o.val_fraction < 1)) throw UserError("data prepare: --val-fraction must be in [0, 1)");
  tokenizer::Tokenizer tok = tokenizer::Tokenizer::load(o.tokenizer);
  std::optional<uint32_t> eot = tok.special_id(kEot);
  if (!eot) throw_user_error(o.tokenizer, "tokenizer has no " + kEot + " special token to separate documents");
  int threads = o.threads > 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());

  std::vector<std::string> docs = read_documents(o.inputs, o.doc_split);
  size_t n_train = docs.size(), n_val = 0;
  if (!o.val_inputs.empty()) {
    std::vector<std::string> val = read_documents(o.val_inputs, o.doc_split);
    n_val = val.size();
    docs.insert(docs.end(), std::make_move_iterator(val.begin()), std::make_move_iterator(val.end()));
  } else {
    n_val = static_cast<size_t>(std::ceil(o.val_fraction * static_cast<double>(docs.size())));
    if (o.val_fraction > 0 && n_val >= docs.size())
      throw UserError("data prepare: " + std::to_string(docs.size()) +
                      " document(s) are too few to hold out a validation split; add text or use --val-input");
    n_train = docs.size() - n_val;
  }
  if (n_train == 0) throw UserError("data prepare: the input files contain no text");

  Split train = tokenize(tok, docs, 0, n_train, *eot, threads, "train");
  Split val = tokenize(tok, docs, n_train, n_train + n_val, *eot, threads, "val");

  make_dirs(o.output);
  int id_bytes = id_bytes_for_vocab(tok.vocab_size());
  write_token_shard(o.output + "/train.bin", train.ids, id_bytes);
  write_token_shard(o.output + "/val.bin", val.ids, id_bytes);
  write_file_atomic(o.output + "/tokenizer.json", read_file(o.tokenizer));
  nlohmann::json meta = {
      {"vocab_size", tok.vocab_size()},
      {"eot_id", *eot},
      {"id_bytes", id_bytes},
      {"train", {{"file", "train.bin"}, {"tokens", train.ids.size()}, {"documents", train.documents}}},
      {"val", {{"file", "val.bin"}, {"tokens", val.ids.size()}, {"documents", val.documents}}},
      {"tokenizer", "tokenizer.json"},
      {"inputs", o.inputs},
      {"val_inputs", o.val_inputs},
  };
  write_file_atomic(o.output + "/meta.json", meta.dump(2) + "\n");
  return meta;
}

}  // namespace lmlab::data
