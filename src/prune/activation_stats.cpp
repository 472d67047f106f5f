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
  if (moments_) {
    auto xd = xf.to(torch::kFloat64);                                              // [batch, seqlen, in]
    auto sum = xd.sum(at::IntArrayRef{0, 1});                                      // [in]
    auto var = xd.var(at::IntArrayRef{1}, /*unbiased=*/false).sum(0) * static_cast<double>(x.size(1));  // Σ_s T·v_s
    if (!sum_[i].defined()) {
      sum_[i] = sum;
      sum_var_[i] = var;
    } else {
      sum_[i] += sum;
      sum_var_[i] += var;
    }
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
  ChannelStats s{sum_abs_[i] / denom, sum_sq_[i] / denom, {}, {}};
  if (moments_) {
    s.mean = sum_[i] / static_cast<double>(sequences_[i]);
    s.var = sum_var_[i] / static_cast<double>(tokens_[i]);
  }
  return s;
}

}  // namespace enwanda
