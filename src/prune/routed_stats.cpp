#include "enwanda/prune/routed_stats.h"

#include "enwanda/errors.h"

namespace enwanda {

RoutedStats::RoutedStats(int64_t num_experts, bool channel_stats, int64_t grams_of)
    : sums_(static_cast<size_t>(num_experts + 1)), channel_stats_(channel_stats), grams_of_(grams_of) {}

void RoutedStats::add(const ExpertInputs& in) {
  Sums& s = sums_[static_cast<size_t>(in.expert + 1)];
  s.tokens += in.tokens.numel();
  const torch::Tensor* inputs[2] = {&in.gate_up_input, &in.down_input};
  for (int k = 0; k < 2; ++k) {
    auto x = inputs[k]->detach();  // [n, in]
    if (channel_stats_) {
      auto xf = x.to(torch::kFloat32);
      auto a = xf.abs().sum(0).to(torch::kFloat64), q = xf.square().sum(0).to(torch::kFloat64);
      s.abs[k] = s.abs[k].defined() ? s.abs[k] + a : a;
      s.sq[k] = s.sq[k].defined() ? s.sq[k] + q : q;
    }
    if (in.expert == grams_of_) {
      auto rows = x.to(x.is_cuda() ? torch::kFloat32 : torch::kFloat64);
      if (!s.gram[k].defined()) s.gram[k] = torch::zeros({rows.size(1), rows.size(1)}, rows.options());
      s.gram[k].addmm_(rows.t(), rows);
    }
  }
}

ExpertObserver RoutedStats::observer() {
  return [this](const ExpertInputs& in) { add(in); };
}

ChannelStats RoutedStats::channel_stats(int64_t expert, bool down, StatNorm norm) const {
  const Sums& s = slot(expert);
  const int k = down ? 1 : 0;
  if (!s.abs[k].defined()) throw Error(ExitCode::internal, "routed statistics of an expert that received no token");
  const double n = static_cast<double>(norm == StatNorm::sequences ? sequences_ : tokens_);
  return {s.abs[k] / n, s.sq[k] / n};
}

torch::Tensor RoutedStats::hessian(int64_t expert, bool down) const {
  const Sums& s = slot(expert);
  const int k = down ? 1 : 0;
  if (!s.gram[k].defined()) throw Error(ExitCode::internal, "Gram matrix of an expert that was not gathered");
  return s.gram[k] * (2.0 / static_cast<double>(sequences_));
}

}  // namespace enwanda
