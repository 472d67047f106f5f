#include "enwanda/progress_log.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace enwanda {

std::string format_duration(double seconds) {
  if (seconds < 99.5) return fmt::format("{:.0f} s", seconds);
  if (seconds < 99.5 * 60) return fmt::format("{:.0f} min", seconds / 60);
  return fmt::format("{:.1f} h", seconds / 3600);
}

ProgressLog::ProgressLog(std::string what, double interval_s)
    : what_(std::move(what)), interval_s_(interval_s), start_(Clock::now()), last_(start_) {}

void ProgressLog::update(double fraction) {
  const auto now = Clock::now();
  if (std::chrono::duration<double>(now - last_).count() < interval_s_) return;
  last_ = now;
  fraction = std::clamp(fraction, 0.0, 1.0);
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  if (fraction > 0.0 && fraction < 1.0)
    spdlog::info("{}: {:.0f}%, {}, about {} left", what_, 100.0 * fraction, format_duration(elapsed),
                 format_duration(elapsed * (1.0 - fraction) / fraction));
  else
    spdlog::info("{}: {:.0f}%, {}", what_, 100.0 * fraction, format_duration(elapsed));
}

}  // namespace enwanda
