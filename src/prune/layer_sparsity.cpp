#include "enwanda/prune/layer_sparsity.h"

#include <algorithm>
#include <numeric>

#include "enwanda/errors.h"

namespace enwanda {

Allocation parse_allocation(const std::string& s) {
  if (s == "uniform") return Allocation::uniform;
  if (s == "owl") return Allocation::owl;
  throw UsageError("--allocation must be uniform or owl, got " + s);
}

std::string allocation_name(Allocation a) { return a == Allocation::owl ? "owl" : "uniform"; }

double outlier_ratio(const std::vector<torch::Tensor>& scores, double m) {
  double sum = 0;
  int64_t count = 0;
  for (const auto& s : scores) {
    sum += s.to(torch::kFloat64).sum().item<double>();
    count += s.numel();
  }
  const double threshold = m * sum / static_cast<double>(count);
  int64_t above = 0;
  for (const auto& s : scores) above += (s.to(torch::kFloat64) > threshold).sum().item<int64_t>();
  return 100.0 * static_cast<double>(above) / static_cast<double>(count);
}

std::vector<double> owl_sparsities(const std::vector<double>& outlier_ratios, double target, double lambda) {
  const size_t n = outlier_ratios.size();
  const auto [lo, hi] = std::minmax_element(outlier_ratios.begin(), outlier_ratios.end());
  if (n == 0 || *hi == *lo) return std::vector<double>(n, target);
  const double min_d = *lo, range = *hi - *lo;
  std::vector<double> r(n);
  for (size_t l = 0; l < n; ++l) r[l] = (outlier_ratios[l] - min_d) * (1.0 / range * lambda * 2.0);
  const double mean = std::accumulate(r.begin(), r.end(), 0.0) / static_cast<double>(n);
  std::vector<double> sparsity(n);
  for (size_t l = 0; l < n; ++l) {
    const double s = 1.0 - (r[l] - mean + (1.0 - target));
    sparsity[l] = s <= 0.0 ? 0.01 : s;
  }
  return sparsity;
}

}  // namespace enwanda
