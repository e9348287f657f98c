#include "lmlab/common/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace lmlab {

using Clock = std::chrono::steady_clock;

Progress::Progress(std::string label, int64_t total, std::string unit, double log_every_s)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total), log_every_s_(log_every_s),
      tty_(stderr_is_terminal()), start_(Clock::now()), last_print_(start_) {}

Progress::~Progress() {
  if (!finished_ && tty_) std::fputc('\n', stderr);  // leave the terminal on a fresh line
}

bool Progress::stderr_is_terminal() {
  const char* mode = std::getenv("LMLAB_PROGRESS");
  if (mode && std::strcmp(mode, "plain") == 0) return false;
  return ::isatty(fileno(stderr)) == 1;
}

std::string Progress::format_rate(double per_second, const std::string& unit) {
  const char* prefix[] = {"", "k", "M", "G", "T"};
  int i = 0;
  while (std::fabs(per_second) >= 1000.0 && i < 4) per_second /= 1000.0, ++i;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f %s%s/s", per_second, prefix[i], unit.c_str());
  return buf;
}

std::string Progress::format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  auto s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  else if (s >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%lds", s);
  return buf;
}

std::string Progress::render(bool final_line) const {
  double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  double rate = elapsed > 0 ? done_ / elapsed : 0.0;
  std::string line = label_;
  if (total_ > 0) {
    double frac = std::min(1.0, static_cast<double>(done_) / total_);
    if (tty_) {
      const int width = 24;
      int filled = static_cast<int>(frac * width);
      line += " [" + std::string(filled, '#') + std::string(width - filled, '.') + "]";
    }
    char pct[16];
    std::snprintf(pct, sizeof pct, " %5.1f%%", 100.0 * frac);
    line += pct;
  }
  line += " " + format_rate(rate, unit_);
  if (final_line) {
    line += " in " + format_duration(elapsed);
  } else if (total_ > 0 && rate > 0) {
    line += " ETA " + format_duration((total_ - done_) / rate);
  }
  if (!status_.empty()) line += " | " + status_;
  return line;
}

void Progress::print(bool final_line) {
  std::string line = render(final_line);
  if (tty_) std::fprintf(stderr, "\r\033[K%s%s", line.c_str(), final_line ? "\n" : "");
  else std::fprintf(stderr, "%s\n", line.c_str());
  std::fflush(stderr);
  last_print_ = Clock::now();
}

void Progress::update(int64_t done, const std::string& status) {
  done_ = done;
  status_ = status;
  double since = std::chrono::duration<double>(Clock::now() - last_print_).count();
  if (since >= (tty_ ? 0.1 : log_every_s_)) print(false);
}

void Progress::finish(const std::string& status) {
  if (finished_) return;
  if (!status.empty()) status_ = status;
  print(true);
  finished_ = true;
}

}  // namespace lmlab
