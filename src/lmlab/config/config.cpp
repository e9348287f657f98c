#include "lmlab/config/config.h"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cmath>
#include <limits>
#include <map>
#include <sstream>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"

namespace lmlab::config {

const char* type_name(Type t) {
  switch (t) {
    case Type::Bool: return "boolean";
    case Type::Int: return "integer";
    case Type::Float: return "float";
    case Type::String: return "string";
    case Type::StringList: return "array of strings";
    case Type::IntList: return "array of integers";
    case Type::FloatList: return "array of floats";
  }
  return "?";
}

bool Range::contains(double x) const {
  const bool above_lo = lo_open ? x > lo : x >= lo, below_hi = hi_open ? x < hi : x <= hi;
  return above_lo && below_hi;  // both false for NaN
}

std::string Range::text() const {
  auto num = [](double x) {
    if (std::isinf(x)) return std::string(x < 0 ? "-inf" : "inf");
    std::ostringstream s;
    s << x;
    return s.str();
  };
  return (lo_open ? "(" : "[") + num(lo) + ", " + num(hi) + (hi_open ? ")" : "]");
}

void Schema::field(const std::string& name, int& v, const std::string& help, std::optional<Range> range) {
  int* p = &v;
  fields_.push_back({prefix_ + name, Type::Int, help, {}, range,
                     [p] { return Value(static_cast<int64_t>(*p)); },
                     [p](const Value& x) { *p = static_cast<int>(std::get<int64_t>(x)); }});
}

void Schema::field(const std::string& name, std::string& v, const std::string& help,
                   std::vector<std::string> choices) {
  add(name, Type::String, v, help);
  fields_.back().choices = std::move(choices);
}

const Field* Schema::find(const std::string& key) const {
  for (const auto& f : fields_)
    if (f.key == key) return &f;
  return nullptr;
}

std::vector<std::string> Schema::keys() const {
  std::vector<std::string> out;
  for (const auto& f : fields_) out.push_back(f.key);
  return out;
}

namespace {

SourcePos pos_of(const toml::source_region& r, const std::string& file) {
  return SourcePos{file, static_cast<int64_t>(r.begin.line), static_cast<int64_t>(r.begin.column)};
}

std::string article(const std::string& noun) {
  return (std::string("aeiou").find(noun[0]) == std::string::npos ? "a " : "an ") + noun;
}

[[noreturn]] void wrong_type(const Field& f, const toml::node& n, const std::string& file,
                             const std::string& extra = "") {
  throw_user_error(pos_of(n.source(), file),
                   "key '" + f.key + "' must be " + article(type_name(f.type)) + extra);
}

void check_range(const Field& f, double x, const toml::node& n, const std::string& file, const std::string& shown) {
  if (std::isnan(x)) throw_user_error(pos_of(n.source(), file), "key '" + f.key + "' cannot be nan");
  if (f.range && !f.range->contains(x))
    throw_user_error(pos_of(n.source(), file), "key '" + f.key + "' must be in " + f.range->text() + ", got " + shown);
}

int64_t to_int(const Field& f, const toml::node& n, const std::string& file) {
  if (!n.is_integer()) wrong_type(f, n, file);
  const int64_t x = n.as_integer()->get();
  check_range(f, static_cast<double>(x), n, file, std::to_string(x));
  return x;
}

double to_float(const Field& f, const toml::node& n, const std::string& file) {
  double x = 0;
  if (n.is_integer()) {
    x = static_cast<double>(n.as_integer()->get());
  } else {
    if (!n.is_floating_point()) wrong_type(f, n, file);
    x = n.as_floating_point()->get();
  }
  std::ostringstream shown;
  shown << x;
  check_range(f, x, n, file, shown.str());
  return x;
}

std::string to_string(const Field& f, const toml::node& n, const std::string& file) {
  if (!n.is_string()) wrong_type(f, n, file);
  return n.as_string()->get();
}

Value convert(const Field& f, const toml::node& n, const std::string& file) {
  switch (f.type) {
    case Type::Bool:
      if (!n.is_boolean()) wrong_type(f, n, file);
      return n.as_boolean()->get();
    case Type::Int: return to_int(f, n, file);
    case Type::Float: return to_float(f, n, file);
    case Type::String: {
      std::string s = to_string(f, n, file);
      if (!f.choices.empty() && std::find(f.choices.begin(), f.choices.end(), s) == f.choices.end()) {
        std::string all;
        for (const auto& c : f.choices) all += (all.empty() ? "" : ", ") + c;
        throw_user_error(pos_of(n.source(), file), "key '" + f.key + "' has no value '" + s +
                                                       "'" + did_you_mean(s, f.choices) +
                                                       "; one of: " + all);
      }
      return s;
    }
    case Type::StringList:
    case Type::IntList:
    case Type::FloatList: {
      if (!n.is_array()) wrong_type(f, n, file);
      std::vector<std::string> ss;
      std::vector<int64_t> is;
      std::vector<double> ds;
      for (const auto& e : *n.as_array()) {
        if (f.type == Type::StringList) ss.push_back(to_string(f, e, file));
        if (f.type == Type::IntList) is.push_back(to_int(f, e, file));
        if (f.type == Type::FloatList) ds.push_back(to_float(f, e, file));
      }
      if (f.type == Type::StringList) return ss;
      if (f.type == Type::IntList) return is;
      return ds;
    }
  }
  return {};
}

void apply_table(const Schema& schema, const toml::table& table, const std::string& prefix,
                 const std::string& file) {
  for (auto&& [k, node] : table) {
    std::string key = prefix + std::string(k.str());
    const auto& sections = schema.sections();
    if (node.is_table()) {
      if (std::find(sections.begin(), sections.end(), key) == sections.end()) {
        throw_user_error(pos_of(k.source(), file),
                         "unknown section [" + key + "]" + did_you_mean(key, sections));
      }
      apply_table(schema, *node.as_table(), key + ".", file);
      continue;
    }
    const Field* f = schema.find(key);
    // A string for a section with a `type` key sets that key: "[model] attention = \"mha\"", the
    // form configs and checkpoints had before [model.attention] became a section.
    if (!f && node.is_string() && std::find(sections.begin(), sections.end(), key) != sections.end())
      f = schema.find(key + ".type");
    if (!f) {
      throw_user_error(pos_of(k.source(), file),
                       "unknown key '" + key + "'" + did_you_mean(key, schema.keys()));
    }
    Value v = convert(*f, node, file);
    if (f->type == Type::Int) {
      int64_t x = std::get<int64_t>(v);
      // A field declared `int` cannot hold more than 32 bits: say so instead of wrapping.
      Value before = f->get();
      f->set(v);
      if (std::get<int64_t>(f->get()) != x) {
        f->set(before);
        throw_user_error(pos_of(node.source(), file), "key '" + f->key + "' is out of range");
      }
    } else {
      f->set(v);
    }
  }
}

std::string toml_quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += static_cast<char>(c);
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04X", c);
      out += buf;
    } else out += static_cast<char>(c);
  }
  return out + "\"";
}

// Shortest text that reads back as the same double, always recognisable as a TOML float.
std::string toml_float(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d);
  std::string out(buf, res.ptr);
  if (out.find_first_of(".e") == std::string::npos) out += ".0";
  return out;
}

std::string value_to_toml(const Value& v) {
  std::ostringstream os;
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool>) os << (x ? "true" : "false");
        else if constexpr (std::is_same_v<T, int64_t>) os << x;
        else if constexpr (std::is_same_v<T, double>) os << toml_float(x);
        else if constexpr (std::is_same_v<T, std::string>) os << toml_quote(x);
        else {
          os << "[";
          for (size_t i = 0; i < x.size(); ++i) {
            if (i) os << ", ";
            using E = std::decay_t<decltype(x[i])>;
            if constexpr (std::is_same_v<E, std::string>) os << toml_quote(x[i]);
            else if constexpr (std::is_same_v<E, double>) os << toml_float(x[i]);
            else os << x[i];
          }
          os << "]";
        }
      },
      v);
  return os.str();
}

// Groups fields by section, in declaration order, and renders them with `line` per field.
std::string render(const Schema& schema, const std::function<std::string(const Field&)>& line) {
  std::vector<std::string> order;
  std::map<std::string, std::string> body;
  for (const auto& f : schema.fields()) {
    auto dot = f.key.rfind('.');
    std::string section = dot == std::string::npos ? "" : f.key.substr(0, dot);
    if (!body.count(section)) order.push_back(section);
    body[section] += line(f);
  }
  std::string out;
  for (const auto& s : order) {
    if (!s.empty()) out += (out.empty() ? "" : "\n") + std::string("[") + s + "]\n";
    out += body[s];
  }
  return out;
}

std::string short_key(const Field& f) { return f.key.substr(f.key.rfind('.') + 1); }

}  // namespace

void apply_toml_text(const Schema& schema, const std::string& text, const std::string& file) {
  toml::table table;
  try {
    table = toml::parse(text, file);
  } catch (const toml::parse_error& e) {
    throw_user_error(pos_of(e.source(), file), std::string(e.description()));
  }
  apply_table(schema, table, "", file);
}

void apply_toml_file(const Schema& schema, const std::string& file) {
  apply_toml_text(schema, read_file(file), file);
}

void apply_overrides(const Schema& schema, const std::vector<std::string>& overrides) {
  for (const auto& o : overrides) {
    auto eq = o.find('=');
    if (eq == std::string::npos || eq == 0)
      throw_user_error("--set " + o, "expected section.key=value");
    std::string key = o.substr(0, eq), value = o.substr(eq + 1);
    const auto& sections = schema.sections();
    if (!schema.find(key) && std::find(sections.begin(), sections.end(), key) != sections.end() &&
        schema.find(key + ".type"))
      key += ".type";  // --set model.attention=mha, as a file's "[model] attention = ..."
    const Field* f = schema.find(key);
    if (!f)
      throw_user_error("--set " + o, "unknown key '" + key + "'" + did_you_mean(key, schema.keys()));
    // Build a one-key TOML document so the value goes through exactly the file's checks.
    auto dot = key.rfind('.');
    std::string doc = dot == std::string::npos ? "" : "[" + key.substr(0, dot) + "]\n";
    std::string leaf = key.substr(dot == std::string::npos ? 0 : dot + 1);
    try {
      (void)toml::parse(leaf + " = " + value);
      doc += leaf + " = " + value + "\n";
    } catch (const toml::parse_error&) {
      doc += leaf + " = " + value_to_toml(Value(value)) + "\n";  // a bare string
    }
    apply_toml_text(schema, doc, "--set " + o);
  }
}

std::string to_toml(const Schema& schema) {
  return render(schema, [](const Field& f) { return short_key(f) + " = " + value_to_toml(f.get()) + "\n"; });
}

std::string describe(const Schema& schema) {
  return render(schema, [](const Field& f) {
    std::string line = "# " + f.help + " (" + type_name(f.type);
    if (f.range) line += " in " + f.range->text();
    if (!f.choices.empty()) {
      line += "; one of:";
      for (const auto& c : f.choices) line += " " + c;
    }
    return line + ")\n" + short_key(f) + " = " + value_to_toml(f.get()) + "\n";
  });
}

}  // namespace lmlab::config
