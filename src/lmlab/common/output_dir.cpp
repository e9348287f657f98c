// check_output_dir (see output_dir.h).
#include "lmlab/common/output_dir.h"

#include <algorithm>
#include <filesystem>

#include "lmlab/common/error.h"

namespace fs = std::filesystem;

namespace lmlab {

namespace {

// Absolute, symlinks and "." / ".." resolved, no trailing separator; a missing tail is kept as
// given, so a path that does not exist yet still compares with its existing parents.
fs::path canonical_path(const std::string& p) {
  std::error_code ec;
  fs::path c = fs::weakly_canonical(fs::absolute(p), ec);
  if (ec) c = fs::absolute(p).lexically_normal();  // unreadable parents: compare as written
  return c.filename().empty() ? c.parent_path() : c;
}

bool within(const fs::path& inner, const fs::path& outer) {
  return std::mismatch(outer.begin(), outer.end(), inner.begin(), inner.end()).first == outer.end();
}

// Refuses an output that is or contains `in`; returns whether it lies inside `in`.
bool check_no_overlap(const NamedPath& out, const NamedPath& in) {
  const fs::path o = canonical_path(out.path), i = canonical_path(in.path);
  const bool out_in_in = within(o, i), in_in_out = within(i, o);
  if (in_in_out)
    throw_user_error(out.path, out.option + (out_in_in ? " is the same directory as " : " contains ") + in.option + " " +
                                   in.path + ": writing it would destroy or change the input; put " + out.option +
                                   " outside it");
  return out_in_in;
}

// An entry the command writes itself, or an AtomicFile temporary of one ("<name>.tmp.<pid>").
bool is_own_entry(const std::string& name, const std::vector<std::string>& own) {
  return std::any_of(own.begin(), own.end(), [&](const std::string& e) {
    return name == e || name.rfind(e + ".tmp.", 0) == 0;
  });
}

// `inside` is the input the output lies in, if any: there, what is not the command's own is
// part of the input, and --force does not make it replaceable.
void check_writable(const OutputDirCheck& c, const NamedPath* inside) {
  const std::string& path = c.output.path;
  std::error_code status_ec, ec;
  const fs::file_status st = fs::status(path, status_ec);  // status_ec is set for a missing path too
  if (!fs::exists(st)) return;
  if (!fs::is_directory(st)) throw_user_error(path, c.output.option + " exists and is not a directory");
  if (c.force && !inside) return;
  for (const auto& e : fs::directory_iterator(path, ec)) {
    const std::string name = e.path().filename().string();
    if (is_own_entry(name, c.own_entries)) continue;
    if (inside)
      throw_user_error(path, c.output.option + " lies inside " + inside->option + " " + inside->path + " and holds '" +
                                 name + "', which lmlab did not write there: writing it would change the input");
    throw_user_error(path, c.output.option + " is a non-empty directory lmlab did not write (it holds '" + name +
                               "'); pass --force to write there anyway");
  }
  if (ec) throw_user_error(path, c.output.option + ": cannot list directory: " + ec.message());
}

}  // namespace

void check_output_file(const NamedPath& output, const std::vector<NamedPath>& inputs) {
  auto is_stream = [](const std::string& p) { return p.empty() || p == "-"; };  // stdin / stdout
  if (is_stream(output.path)) return;
  for (const NamedPath& in : inputs)
    if (!is_stream(in.path) && canonical_path(output.path) == canonical_path(in.path))
      throw_user_error(output.path, output.option + " is the same file as " + in.option + " " + in.path +
                                        ": writing it would replace the input; put " + output.option + " elsewhere");
}

void check_output_dir(const OutputDirCheck& check) {
  if (check.output.path.empty()) throw UserError(check.output.option + " is empty: give the directory to write");
  const NamedPath* inside = nullptr;
  for (const NamedPath& in : check.inputs)
    if (!in.path.empty() && check_no_overlap(check.output, in)) inside = &in;
  check_writable(check, inside);
}

}  // namespace lmlab
