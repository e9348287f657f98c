// gnuplot runner (see plot.h).
#include "lmlab/common/plot.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <vector>

#include "lmlab/common/error.h"
#include "lmlab/common/files.h"

extern char** environ;

namespace lmlab {

namespace fs = std::filesystem;

std::string gnuplot_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "''";
    else
      out += (c == '\n' || c == '\r') ? ' ' : c;
  }
  return out + "'";
}

namespace {

// A fresh directory under the system temp dir, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (fs::temp_directory_path() / "lmlab-plot-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw PlotError("cannot create a temporary directory: " + std::string(std::strerror(errno)));
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::string script_text(const Plot& plot, const std::string& png_tmp) {
  std::ostringstream gp;
  gp << "set terminal pngcairo size " << plot.width << "," << plot.height << " noenhanced\n"
     << "set output " << gnuplot_quote(png_tmp) << "\n";
  for (const auto& [name, rows] : plot.data) {
    gp << "$" << name << " << EOD\n" << rows;
    if (!rows.empty() && rows.back() != '\n') gp << "\n";
    gp << "EOD\n";
  }
  gp << plot.commands << "\nunset output\n";  // unset output closes (flushes) the PNG
  return gp.str();
}

// ": <the last non-empty line>" of gnuplot's stderr (its "line N: problem"; the lines above
// echo the script with a caret), "" when it printed nothing.
std::string last_line(std::string text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  if (text.empty()) return "";
  const size_t nl = text.find_last_of('\n');
  return ": " + (nl == std::string::npos ? text : text.substr(nl + 1));
}

// Runs `gnuplot script` without a shell, stderr into `err_path`. Returns the exit status;
// PlotError when gnuplot cannot be started (not on PATH).
int run_gnuplot(const std::string& script, const std::string& err_path) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::string prog = "gnuplot";
  std::vector<char*> argv = {prog.data(), const_cast<char*>(script.c_str()), nullptr};
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, "gnuplot", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw PlotError("gnuplot not found (install gnuplot for plots): " + std::string(std::strerror(rc)));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // The shell's "command not found" status, should posix_spawnp report the exec failure late.
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) throw PlotError("gnuplot not found (install gnuplot for plots)");
  return status;
}

}  // namespace

void render_png(const Plot& plot, const std::string& png_path) {
  // The user's mistake, not a chart failure: render_png_or_warn lets it through as exit 2.
  const fs::path parent = fs::path(png_path).parent_path();
  if (!parent.empty() && !fs::is_directory(parent))
    throw_user_error(png_path, "directory " + parent.string() + " does not exist");
  ScratchDir dir;
  const std::string script = dir.file("plot.gp"), png_tmp = dir.file("plot.png"), err = dir.file("stderr");
  write_file_atomic(script, script_text(plot, png_tmp));
  const int status = run_gnuplot(script, err);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !fs::exists(png_tmp)) {
    throw PlotError("gnuplot failed" + last_line(read_file(err)));
  }
  write_file_atomic(png_path, read_file(png_tmp));
}

bool render_png_or_warn(const Plot& plot, const std::string& png_path) {
  try {
    render_png(plot, png_path);
    return true;
  } catch (const PlotError& e) {
    std::cerr << "lmlab: warning: " << e.what() << "; no plot written to " << png_path << "\n";
    return false;
  }
}

}  // namespace lmlab
