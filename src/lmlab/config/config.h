// TOML experiment configs mapped onto typed structs.
//
// Each config section is a plain struct whose member initialisers are the defaults and whose
// visit() names every key once, with its help text. That single visit() is the one place a
// key is defined: parsing, `--set` overrides, the resolved config.toml and
// `lmlab train --print-config` are all derived from it.
//
//   struct OptimConfig {
//     double lr = 3e-4;
//     std::string schedule = "cosine";
//     template <class V> void visit(V& v) {
//       v.field("lr", lr, "peak learning rate");
//       v.field("schedule", schedule, "learning-rate schedule", {"cosine", "wsd"});
//     }
//   };
//   struct Experiment { OptimConfig optim; template <class V> void visit(V& v) { v.section("optim", optim); } };
//
// Unknown keys, wrong types, values outside `choices` and numbers outside a field's Range are
// UserErrors naming the file, the position, the key and the closest valid key (or the range).
// NaN is never a valid number.
#pragma once
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace lmlab::config {

enum class Type { Bool, Int, Float, String, StringList, IntList, FloatList };
const char* type_name(Type t);

using Value = std::variant<bool, int64_t, double, std::string, std::vector<std::string>,
                           std::vector<int64_t>, std::vector<double>>;

// The values a numeric key may take, e.g. [0, 1), (0, inf); shown by --print-config.
struct Range {
  double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
  bool lo_open = false, hi_open = false;
  bool contains(double x) const;  // false for NaN
  std::string text() const;       // "[0, 1)"
};
inline Range at_least(double lo) { return {lo, std::numeric_limits<double>::infinity(), false, true}; }
inline Range above(double lo) { return {lo, std::numeric_limits<double>::infinity(), true, true}; }
inline Range between(double lo, double hi) { return {lo, hi, false, false}; }  // closed
inline Range from_below(double lo, double hi) { return {lo, hi, false, true}; }  // [lo, hi)

struct Field {
  std::string key;  // full dotted path, e.g. "model.ffn.type"
  Type type;
  std::string help;
  std::vector<std::string> choices;  // allowed values of a String field; empty = any
  std::optional<Range> range;        // allowed values of an Int or Float field; empty = any (not NaN)
  std::function<Value()> get;
  std::function<void(const Value&)> set;
};

// Walks a config struct through its visit() and records every field, bound to that instance.
class Schema {
 public:
  template <class Config>
  static Schema of(Config& cfg) {
    Schema s;
    cfg.visit(s);
    return s;
  }

  template <class Section>
  void section(const std::string& name, Section& s) {
    std::string saved = prefix_;
    prefix_ += name + ".";
    sections_.push_back(prefix_.substr(0, prefix_.size() - 1));
    s.visit(*this);
    prefix_ = saved;
  }

  void field(const std::string& name, bool& v, const std::string& help) { add(name, Type::Bool, v, help); }
  void field(const std::string& name, int64_t& v, const std::string& help, std::optional<Range> range = {}) {
    add(name, Type::Int, v, help);
    fields_.back().range = range;
  }
  void field(const std::string& name, int& v, const std::string& help, std::optional<Range> range = {});
  void field(const std::string& name, double& v, const std::string& help, std::optional<Range> range = {}) {
    add(name, Type::Float, v, help);
    fields_.back().range = range;
  }
  void field(const std::string& name, std::string& v, const std::string& help,
             std::vector<std::string> choices = {});
  void field(const std::string& name, std::vector<std::string>& v, const std::string& help) {
    add(name, Type::StringList, v, help);
  }
  void field(const std::string& name, std::vector<int64_t>& v, const std::string& help) {
    add(name, Type::IntList, v, help);
  }
  void field(const std::string& name, std::vector<double>& v, const std::string& help) {
    add(name, Type::FloatList, v, help);
  }

  const std::vector<Field>& fields() const { return fields_; }
  const std::vector<std::string>& sections() const { return sections_; }
  const Field* find(const std::string& key) const;
  std::vector<std::string> keys() const;

 private:
  template <class T>
  void add(const std::string& name, Type type, T& v, const std::string& help) {
    T* p = &v;
    fields_.push_back({prefix_ + name, type, help, {}, {},
                       [p] { return Value(*p); },
                       [p](const Value& x) { *p = std::get<T>(x); }});
  }

  std::string prefix_;
  std::vector<Field> fields_;
  std::vector<std::string> sections_;
};

// Applies a TOML file to the schema's instance. `file` is used in error messages.
void apply_toml_file(const Schema& schema, const std::string& file);
void apply_toml_text(const Schema& schema, const std::string& text, const std::string& file);
// Applies "section.key=value" overrides; the value is TOML ("3e-4", "true", "[1, 2]", "\"x\"")
// or, when it does not parse as TOML, a bare string ("--set model.ffn.type=moe").
void apply_overrides(const Schema& schema, const std::vector<std::string>& overrides);

// The instance's values as a TOML document (the resolved config written next to outputs).
std::string to_toml(const Schema& schema);
// Every key with its type, default, allowed values and help, as a commented TOML document.
std::string describe(const Schema& schema);

// Convenience: defaults, then the file (if not empty), then the overrides.
template <class Config>
void load(Config& cfg, const std::string& file, const std::vector<std::string>& overrides) {
  Schema s = Schema::of(cfg);
  if (!file.empty()) apply_toml_file(s, file);
  apply_overrides(s, overrides);
}

}  // namespace lmlab::config
