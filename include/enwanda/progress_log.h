// ProgressLog: progress of long work as an info line at most every `interval_s` seconds,
// "perplexity: 37%, 41 s, about 70 s left" (minutes past 100 s, hours past 100 min), so a 7B
// evaluation on the CPU is not silent for an hour and a fast one on the GPU prints nothing extra.
#pragma once

#include <chrono>
#include <string>

namespace enwanda {

// A duration as people read it: "45 s", "21 min", "2.3 h".
std::string format_duration(double seconds);

class ProgressLog {
 public:
  explicit ProgressLog(std::string what, double interval_s = 10.0);
  // `fraction` of the work is done, in [0, 1]; logs if the interval has passed since the last line.
  void update(double fraction);

 private:
  using Clock = std::chrono::steady_clock;
  std::string what_;
  double interval_s_;
  Clock::time_point start_, last_;
};

}  // namespace enwanda
