// The tokenizer.json cache (model_cache.h). An entry is one file:
//   header: magic "LMLABTOK", u32 format version, u32 byte-order mark, u64 JSON size,
//           u64[2] JSON hash, u64 payload size, u64 payload checksum
//   payload: algo, pattern, flags, tokens (lengths then bytes), merges, scaffold marks and
//            counts, specials (id + content)
// in this machine's byte order (the mark rejects a file from another one). Reading checks every
// size against what is left before using it, so a damaged file can only miss.
#include "lmlab/tokenizer/model_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"
#include "lmlab/common/limits.h"
#include "lmlab/tokenizer/tokenizer_json.h"

namespace lmlab::tokenizer {
namespace {

// Bump whenever the bytes of an entry, or the Model that parse_tokenizer_json makes of the
// same JSON, change: an entry of another version is never read.
constexpr uint32_t kFormatVersion = 1;
constexpr char kMagic[8] = {'L', 'M', 'L', 'A', 'B', 'T', 'O', 'K'};
constexpr uint32_t kByteOrderMark = 0x01020304u;
constexpr size_t kHeaderSize = 8 + 4 + 4 + 8 + 16 + 8 + 8;

using Hash = std::array<uint64_t, 2>;

constexpr uint64_t P1 = 0x9E3779B185EBCA87ull, P2 = 0xC2B2AE3D27D4EB4Full, P3 = 0x165667B19E3779F9ull;

uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
uint64_t lane(uint64_t acc, uint64_t word) { return rotl(acc + word * P2, 31) * P1; }
uint64_t avalanche(uint64_t h) {
  h = (h ^ (h >> 33)) * P2;
  h = (h ^ (h >> 29)) * P3;
  return h ^ (h >> 32);
}

// 128 bits in xxHash64's style: four independent lanes over 32-byte stripes (about 10 GB/s, so
// hashing cl100k's 5.5 MB costs well under a millisecond), folded two ways. Not cryptographic:
// it tells apart files that differ by accident, which is what a cache key needs.
Hash hash128(const char* p, size_t n) {
  uint64_t v[4] = {P1 + P2, P2, 0, 0 - P1};
  const size_t total = n;
  for (; n >= 32; p += 32, n -= 32)
    for (int k = 0; k < 4; ++k) {
      uint64_t w;
      std::memcpy(&w, p + 8 * k, 8);
      v[k] = lane(v[k], w);
    }
  for (int k = 0; n > 0; ++k) {  // the tail, zero-padded; `total` tells the padding apart
    uint64_t w = 0;
    const size_t take = n < 8 ? n : 8;
    std::memcpy(&w, p, take);
    v[k] = lane(v[k], w ^ take);
    p += take;
    n -= take;
  }
  const uint64_t a = rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18);
  const uint64_t b = rotl(v[3], 3) ^ rotl(v[2], 17) ^ rotl(v[1], 29) ^ rotl(v[0], 41);
  return {avalanche(a ^ (total * P3)), avalanche(b + total * P1 + a)};
}

struct Writer {
  std::string out;
  template <class T>
  void put(T v) {
    out.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void str(const std::string& s) {
    put<uint64_t>(s.size());
    out += s;
  }
};

// Reads from [at, end); every read that would run past `end` fails and leaves ok false.
struct Reader {
  const char* at;
  const char* end;
  bool ok = true;

  bool take(void* dst, size_t n) {
    if (!ok || static_cast<size_t>(end - at) < n) return ok = false;
    std::memcpy(dst, at, n);
    at += n;
    return true;
  }
  template <class T>
  T get() {
    T v{};
    take(&v, sizeof v);
    return v;
  }
  // A count of items of `item_size` bytes that the rest of the file can hold, else 0 and !ok.
  size_t count(size_t item_size) {
    const uint64_t n = get<uint64_t>();
    if (!ok || n > static_cast<uint64_t>(end - at) / item_size) return ok = false;
    return static_cast<size_t>(n);
  }
  std::string str() {
    const size_t n = count(1);
    std::string s(ok ? at : "", n);
    at += n;
    return s;
  }
};

std::string payload(const Model& m) {
  Writer w;
  w.str(m.algo);
  w.str(m.pattern);
  w.put<uint32_t>((m.split_digits ? 1u : 0u) | (m.ignore_merges ? 2u : 0u));
  w.put<uint64_t>(m.tokens.size());
  for (const std::string& t : m.tokens) w.put<uint32_t>(static_cast<uint32_t>(t.size()));
  for (const std::string& t : m.tokens) w.out += t;
  w.put<uint64_t>(m.merges.size());
  w.out.append(reinterpret_cast<const char*>(m.merges.data()), m.merges.size() * sizeof(Merge));
  w.put<uint64_t>(m.scaffold.size());
  w.out.append(reinterpret_cast<const char*>(m.scaffold.data()), m.scaffold.size());
  w.put<uint64_t>(m.scaffold_count.size());
  w.out.append(reinterpret_cast<const char*>(m.scaffold_count.data()), m.scaffold_count.size() * sizeof(uint64_t));
  w.put<uint64_t>(m.specials.size());
  for (const auto& [content, id] : m.specials) {
    w.put<uint32_t>(id);
    w.str(content);
  }
  return std::move(w.out);
}

// The ids a merge or special names must exist: the encoder indexes by them without a check.
bool ids_in_range(const Model& m) {
  const size_t n = m.tokens.size();
  for (const Merge& mg : m.merges)
    if (mg.left >= n || mg.right >= n || mg.result >= n) return false;
  for (const auto& sp : m.specials)
    if (sp.second >= n) return false;
  return m.scaffold.size() == n && m.scaffold_count.size() == n;
}

std::optional<Model> parse_payload(Reader r) {
  Model m;
  m.algo = r.str();
  m.pattern = r.str();
  const uint32_t flags = r.get<uint32_t>();
  m.split_digits = flags & 1u;
  m.ignore_merges = flags & 2u;
  const size_t tokens = r.count(sizeof(uint32_t));
  if (!r.ok || tokens > static_cast<size_t>(kMaxVocabSize)) return std::nullopt;
  std::vector<uint32_t> lengths(tokens);
  r.take(lengths.data(), tokens * sizeof(uint32_t));
  m.tokens.resize(tokens);
  for (size_t id = 0; id < tokens && r.ok; ++id) {
    if (static_cast<size_t>(r.end - r.at) < lengths[id]) return std::nullopt;
    m.tokens[id].assign(r.at, lengths[id]);
    r.at += lengths[id];
  }
  m.merges.resize(r.count(sizeof(Merge)));
  r.take(m.merges.data(), m.merges.size() * sizeof(Merge));
  m.scaffold.resize(r.count(1));
  r.take(m.scaffold.data(), m.scaffold.size());
  m.scaffold_count.resize(r.count(sizeof(uint64_t)));
  r.take(m.scaffold_count.data(), m.scaffold_count.size() * sizeof(uint64_t));
  m.specials.resize(r.count(sizeof(uint32_t) + sizeof(uint64_t)));
  for (auto& [content, id] : m.specials) {
    id = r.get<uint32_t>();
    content = r.str();
  }
  if (!r.ok || r.at != r.end || !ids_in_range(m)) return std::nullopt;
  return m;
}

std::string cache_dir() {
  if (const char* off = std::getenv("LMLAB_TOKENIZER_CACHE"); off && std::strcmp(off, "0") == 0) return "";
  if (const char* dir = std::getenv("LMLAB_CACHE_DIR"); dir && *dir) return std::string(dir) + "/tokenizers";
  // The XDG spec has a relative XDG_CACHE_HOME ignored.
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && xdg[0] == '/') return std::string(xdg) + "/lmlab/tokenizers";
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.cache/lmlab/tokenizers";
  return "";
}

std::string entry_path(const Hash& key) {
  const std::string dir = cache_dir();
  if (dir.empty()) return "";
  char name[40];
  std::snprintf(name, sizeof name, "%016llx%016llx", static_cast<unsigned long long>(key[0]),
                static_cast<unsigned long long>(key[1]));
  return dir + "/" + name + ".bin";
}

// A read-only map of a whole file: hashing the 5.5 MB of cl100k's JSON, or copying an entry out,
// from the page cache costs no fresh memory, which is most of what reading it did. Writers of
// entries replace them by rename, so a mapped file is never cut short under us.
class Mapped {
 public:
  explicit Mapped(const std::string& path) {
    // Only a regular file is opened: opening a FIFO would wait for its writer and consume it,
    // and read_file must see it untouched.
    struct stat st;
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
      void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
      if (p != MAP_FAILED) {
        data_ = static_cast<const char*>(p);
        size_ = static_cast<size_t>(st.st_size);
      }
    }
    ::close(fd);
  }
  ~Mapped() {
    if (data_) ::munmap(const_cast<char*>(data_), size_);
  }
  Mapped(const Mapped&) = delete;
  Mapped& operator=(const Mapped&) = delete;
  std::string_view bytes() const { return {data_ ? data_ : "", size_}; }

 private:
  const char* data_ = nullptr;
  size_t size_ = 0;
};

std::optional<Model> read_entry(const std::string& file, const Hash& key, size_t json_size) {
  const Mapped map(file);
  const std::string_view bytes = map.bytes();
  if (bytes.size() < kHeaderSize) return std::nullopt;
  Reader h{bytes.data(), bytes.data() + kHeaderSize};
  char magic[8];
  h.take(magic, 8);
  const uint32_t version = h.get<uint32_t>(), mark = h.get<uint32_t>();
  const uint64_t size = h.get<uint64_t>(), k0 = h.get<uint64_t>(), k1 = h.get<uint64_t>();
  const uint64_t payload_size = h.get<uint64_t>(), checksum = h.get<uint64_t>();
  if (std::memcmp(magic, kMagic, 8) != 0 || version != kFormatVersion || mark != kByteOrderMark ||
      size != json_size || k0 != key[0] || k1 != key[1] || payload_size != bytes.size() - kHeaderSize)
    return std::nullopt;
  const char* body = bytes.data() + kHeaderSize;
  if (hash128(body, payload_size)[0] != checksum) return std::nullopt;
  return parse_payload(Reader{body, body + payload_size});
}

bool write_entry(const std::string& file, const Hash& key, size_t json_size, const Model& model) {
  const std::string body = payload(model);
  Writer h;
  h.out.append(kMagic, 8);
  h.put<uint32_t>(kFormatVersion);
  h.put<uint32_t>(kByteOrderMark);
  h.put<uint64_t>(json_size);
  h.put<uint64_t>(key[0]);
  h.put<uint64_t>(key[1]);
  h.put<uint64_t>(body.size());
  h.put<uint64_t>(hash128(body.data(), body.size())[0]);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(file).parent_path(), ec);
  try {  // common/files.h's temporary file + rename; any failure only means no entry
    AtomicFile out(file);
    out.write(h.out);
    out.write(body);
    out.commit();
    return true;
  } catch (const UserError&) {
    return false;
  }
}

}  // namespace

std::string model_cache_file(std::string_view json) { return entry_path(hash128(json.data(), json.size())); }

std::optional<Model> read_model_cache(const std::string& file, std::string_view json) {
  return read_entry(file, hash128(json.data(), json.size()), json.size());
}

bool write_model_cache(const std::string& file, std::string_view json, const Model& model) {
  return write_entry(file, hash128(json.data(), json.size()), json.size(), model);
}

Model load_model(const std::string& path) {
  const Mapped map(path);  // empty when it cannot be mapped (missing, a pipe): no cache then
  const std::string_view raw = map.bytes();
  const Hash key = hash128(raw.data(), raw.size());
  const std::string file = raw.empty() ? "" : entry_path(key);
  if (!file.empty())
    if (std::optional<Model> cached = read_entry(file, key, raw.size())) return std::move(*cached);
  // The bytes hashed are the bytes parsed (a .gz file is decompressed by read_file, and keyed
  // by its compressed bytes); read_file's errors (missing, unreadable) are the parse's own.
  const bool gz = path.size() >= 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
  Model model = parse_tokenizer_json(raw.empty() || gz ? read_file(path) : std::string(raw), path);
  if (!file.empty()) write_entry(file, key, raw.size(), model);
  return model;
}

}  // namespace lmlab::tokenizer
