// Progress of long work: on a terminal, one redrawn line with a bar, rate and ETA; when
// stderr is not a terminal (CI, a log file), a plain log line every `log_every_s` seconds.
// Progress goes to stderr so it never mixes with data written to stdout.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace lmlab {

class Progress {
 public:
  // total <= 0: unknown total (no bar, no ETA). `unit` names what is counted ("B", "tok", "step").
  Progress(std::string label, int64_t total, std::string unit, double log_every_s = 10.0);
  ~Progress();

  // Sets the absolute amount done and an optional status text (e.g. "loss 3.21").
  void update(int64_t done, const std::string& status = "");
  void add(int64_t n) { update(done_ + n, status_); }
  // Prints the final line (always, once).
  void finish(const std::string& status = "");

  // "1.5 MB/s", "12.3k tok/s": a rate in readable units.
  static std::string format_rate(double per_second, const std::string& unit);
  // "1h02m", "3m05s", "42s".
  static std::string format_duration(double seconds);
  // Forces plain-line mode (tests, or LMLAB_PROGRESS=plain).
  static bool stderr_is_terminal();

 private:
  std::string render(bool final_line) const;
  void print(bool final_line);

  std::string label_, unit_, status_;
  int64_t total_, done_ = 0;
  double log_every_s_;
  bool tty_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_print_;
};

}  // namespace lmlab
