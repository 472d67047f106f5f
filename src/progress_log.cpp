#include "enwanda/progress_log.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace enwanda {

ProgressLog::ProgressLog(std::string what, double interval_s)
    : what_(std::move(what)), interval_s_(interval_s), start_(Clock::now()), last_(start_) {}

void ProgressLog::update(double fraction) {
  const auto now = Clock::now();
  if (std::chrono::duration<double>(now - last_).count() < interval_s_) return;
  last_ = now;
  fraction = std::clamp(fraction, 0.0, 1.0);
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  if (fraction > 0.0 && fraction < 1.0)
    spdlog::info("{}: {:.0f}%, {:.0f} s, about {:.0f} s left", what_, 100.0 * fraction, elapsed,
                 elapsed * (1.0 - fraction) / fraction);
  else
    spdlog::info("{}: {:.0f}%, {:.0f} s", what_, 100.0 * fraction, elapsed);
}

}  // namespace enwanda
