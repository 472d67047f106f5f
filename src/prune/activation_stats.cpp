#include "enwanda/prune/activation_stats.h"

namespace enwanda {

void ActivationStats::add(LinearInput which, const torch::Tensor& x) {
  const int i = static_cast<int>(which);
  auto xf = x.detach().to(torch::kFloat32);
  auto abs_sum = xf.abs().sum(at::IntArrayRef{0, 1}).to(torch::kFloat64);
  auto sq_sum = xf.square().sum(at::IntArrayRef{0, 1}).to(torch::kFloat64);
  if (!sum_abs_[i].defined()) {
    sum_abs_[i] = abs_sum;
    sum_sq_[i] = sq_sum;
  } else {
    sum_abs_[i] += abs_sum;
    sum_sq_[i] += sq_sum;
  }
  sequences_[i] += x.size(0);
  tokens_[i] += x.size(0) * x.size(1);
}

InputObserver ActivationStats::observer() {
  return [this](LinearInput which, const torch::Tensor& x) { add(which, x); };
}

ChannelStats ActivationStats::channel_stats(LinearInput which, StatNorm norm) const {
  const int i = static_cast<int>(which);
  const double denom = static_cast<double>(norm == StatNorm::sequences ? sequences_[i] : tokens_[i]);
  return {sum_abs_[i] / denom, sum_sq_[i] / denom};
}

}  // namespace enwanda
