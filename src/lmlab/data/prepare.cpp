// Corpus -> token shards. Every document is encoded on its own, so the shards do not depend on
// how the documents are grouped: they are cut into chunks of consecutive documents that the
// threads take in turn, and the chunks are joined in the original order (the output is the same
// for every thread count).
#include "lmlab/data/prepare.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string_view>
#include <thread>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/common/progress.h"
#include "lmlab/data/documents.h"
#include "lmlab/data/shards.h"
#include "lmlab/tokenizer/tokenizer.h"

namespace lmlab::data {

namespace {

const std::string kEot(kEndOfText);

// The documents of the input files, as views into the texts (a deque: adding a text never moves
// the others), and the rule each file was split by.
struct Corpus {
  std::deque<std::string> texts;
  std::vector<std::string_view> docs;
  std::vector<std::string> rules;
};

void read_documents(const std::vector<std::string>& files, DocSplit rule, Corpus& corpus) {
  for (const auto& f : files) {
    const std::string& text = corpus.texts.emplace_back(read_file(f));
    DocSplit used = rule == DocSplit::kAuto ? detect_doc_split(text) : rule;
    std::vector<std::string_view> docs = split_documents(text, used);
    corpus.docs.insert(corpus.docs.end(), docs.begin(), docs.end());
    corpus.rules.push_back(doc_split_name(used));
  }
}

// Documents [begin, end) and their ids, each document's followed by <|endoftext|>.
struct Chunk {
  size_t begin = 0, end = 0;
  std::vector<uint32_t> ids;
};

// Consecutive documents of about `target` bytes per chunk; a larger document is a chunk alone.
void add_chunks(const std::vector<std::string_view>& docs, size_t begin, size_t end, size_t target,
                std::vector<Chunk>& chunks) {
  size_t bytes = 0;
  for (size_t i = begin; i < end; ++i) {
    if (i == begin || bytes >= target || docs[i].size() >= target) {
      chunks.push_back({i, i, {}});
      bytes = 0;
    }
    chunks.back().end = i + 1;
    bytes += docs[i].size();
  }
}

// Encodes every chunk on `threads` threads, with progress in bytes. A chunk of one document much
// larger than the others is encoded first, by the tokenizer's own parallel encoder (which cuts
// the text only where that cannot change the ids), so one big file still uses every thread.
void encode_chunks(const tokenizer::Tokenizer& tok, const std::vector<std::string_view>& docs, uint32_t eot,
                   int threads, size_t big, std::vector<Chunk>& chunks) {
  int64_t total = 0;
  for (const auto& d : docs) total += static_cast<int64_t>(d.size());
  Progress progress("tokenize", total, "B");
  std::atomic<int64_t> done{0};
  std::vector<size_t> rest;
  for (size_t c = 0; c < chunks.size(); ++c) {
    Chunk& chunk = chunks[c];
    if (chunk.end - chunk.begin != 1 || docs[chunk.begin].size() < big) {
      rest.push_back(c);
      continue;
    }
    chunk.ids = tok.encode_parallel(docs[chunk.begin], threads);
    chunk.ids.push_back(eot);
    progress.update(done += static_cast<int64_t>(docs[chunk.begin].size()));
  }
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex mutex;  // guards error and finished
  std::condition_variable cv;
  size_t finished = 0;  // workers that have returned
  auto work = [&] {
    try {
      for (size_t k; !failed && (k = next.fetch_add(1)) < rest.size();) {
        Chunk& chunk = chunks[rest[k]];
        for (size_t i = chunk.begin; i < chunk.end; ++i) {
          std::vector<uint32_t> ids = tok.encode(docs[i]);
          chunk.ids.insert(chunk.ids.end(), ids.begin(), ids.end());
          chunk.ids.push_back(eot);
          done += static_cast<int64_t>(docs[i].size());
        }
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!error) error = std::current_exception();
      failed = true;
    }
    std::lock_guard<std::mutex> lock(mutex);
    ++finished;
    cv.notify_one();
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads && static_cast<size_t>(t) < rest.size(); ++t) pool.emplace_back(work);
  {
    // Woken when the last worker returns, not at the next poll: the wait costs no wall time.
    std::unique_lock<std::mutex> lock(mutex);
    while (!cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return finished == pool.size(); }))
      progress.update(done.load());
  }
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  size_t tokens = 0;
  for (const auto& c : chunks) tokens += c.ids.size();
  progress.update(done.load());
  progress.finish(std::to_string(tokens) + " tokens");
}

// The ids of chunks [begin, end), in order.
std::vector<uint32_t> join_chunks(const std::vector<Chunk>& chunks, size_t begin, size_t end) {
  size_t n = 0;
  for (size_t c = begin; c < end; ++c) n += chunks[c].ids.size();
  std::vector<uint32_t> ids;
  ids.reserve(n);
  for (size_t c = begin; c < end; ++c) ids.insert(ids.end(), chunks[c].ids.begin(), chunks[c].ids.end());
  return ids;
}

[[noreturn]] void too_few_documents(const PrepareOptions& o, const Corpus& corpus) {
  std::string why;
  if (o.inputs.size() == 1 && corpus.docs.size() == 1)
    why = " (--doc-split " + o.doc_split + " read " + o.inputs[0] + " as one document" +
          (o.doc_split == "auto" ? ": it has no " + kEot + " marker, top-level heading or blank line" : "") + ")";
  throw UserError("data prepare: " + std::to_string(corpus.docs.size()) +
                  " document(s) are too few to hold out a validation split" + why +
                  "; add text, use --val-input, or choose --doc-split line");
}

}  // namespace

const std::vector<std::string>& prepare_output_files() {
  static const std::vector<std::string> files = {"train.bin", "val.bin", "tokenizer.json", "meta.json"};
  return files;
}

nlohmann::json prepare_data(const PrepareOptions& o) {
  if (o.inputs.empty()) throw UserError("data prepare: no --input files");
  if (!(o.val_fraction >= 0 && o.val_fraction < 1)) throw UserError("data prepare: --val-fraction must be in [0, 1)");
  const DocSplit rule = parse_doc_split(o.doc_split, "--doc-split");
  tokenizer::Tokenizer tok = tokenizer::Tokenizer::load(o.tokenizer);
  std::optional<uint32_t> eot = tok.special_id(kEot);
  if (!eot) throw_user_error(o.tokenizer, "tokenizer has no " + kEot + " special token to separate documents");
  int threads = o.threads > 0 ? o.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));

  Corpus corpus;
  read_documents(o.inputs, rule, corpus);
  const std::vector<std::string> train_rules = corpus.rules;
  size_t n_train = corpus.docs.size(), n_val = 0;
  if (!o.val_inputs.empty()) {
    read_documents(o.val_inputs, rule, corpus);
    n_val = corpus.docs.size() - n_train;
  } else {
    n_val = static_cast<size_t>(std::ceil(o.val_fraction * static_cast<double>(n_train)));
    if (o.val_fraction > 0 && n_val >= n_train) too_few_documents(o, corpus);
    n_train -= n_val;
  }
  if (n_train == 0) throw UserError("data prepare: the input files contain no text");

  // Chunks of ~1/8 of a thread's share (so threads finish together), within [64 KiB, 4 MiB].
  size_t bytes = 0;
  for (const auto& d : corpus.docs) bytes += d.size();
  const size_t target = std::clamp<size_t>(bytes / (static_cast<size_t>(threads) * 8), 64 << 10, 4 << 20);
  std::vector<Chunk> chunks;
  add_chunks(corpus.docs, 0, n_train, target, chunks);
  const size_t val_chunk = chunks.size();
  add_chunks(corpus.docs, n_train, n_train + n_val, target, chunks);
  encode_chunks(tok, corpus.docs, *eot, threads, 4 * target, chunks);
  std::vector<uint32_t> train = join_chunks(chunks, 0, val_chunk), val = join_chunks(chunks, val_chunk, chunks.size());

  make_dirs(o.output);
  int id_bytes = id_bytes_for_vocab(tok.vocab_size());
  write_token_shard(o.output + "/train.bin", train, id_bytes);
  write_token_shard(o.output + "/val.bin", val, id_bytes);
  write_file_atomic(o.output + "/tokenizer.json", read_file(o.tokenizer));
  std::vector<std::string> val_rules(corpus.rules.begin() + static_cast<std::ptrdiff_t>(train_rules.size()),
                                     corpus.rules.end());
  nlohmann::json meta = {
      {"vocab_size", tok.vocab_size()},
      {"eot_id", *eot},
      {"id_bytes", id_bytes},
      {"train", {{"file", "train.bin"}, {"tokens", train.size()}, {"documents", n_train}}},
      {"val", {{"file", "val.bin"}, {"tokens", val.size()}, {"documents", n_val}}},
      {"tokenizer", "tokenizer.json"},
      {"inputs", o.inputs},
      {"val_inputs", o.val_inputs},
      {"doc_split", {{"inputs", train_rules}, {"val_inputs", val_rules}}},
  };
  write_file_atomic(o.output + "/meta.json", meta.dump(2) + "\n");
  return meta;
}

}  // namespace lmlab::data
