#include "enwanda/finetune/optimizer.h"

#include <algorithm>
#include <cmath>

#include "enwanda/errors.h"

namespace enwanda {

Schedule parse_schedule(const std::string& s) {
  if (s == "linear") return Schedule::linear;
  if (s == "constant") return Schedule::constant;
  throw UsageError("--schedule must be linear or constant, not '" + s + "'");
}

double lr_lambda(Schedule s, int64_t k, int64_t steps, int64_t warmup) {
  if (s == Schedule::constant) return 1.0;
  // transformers optimization.py, _get_linear_schedule_with_warmup_lr_lambda
  if (k < warmup) return static_cast<double>(k) / static_cast<double>(std::max<int64_t>(1, warmup));
  return std::max(0.0, static_cast<double>(steps - k) / static_cast<double>(std::max<int64_t>(1, steps - warmup)));
}

double clip_grad_norm(std::vector<torch::Tensor>& grads, double max_norm) {
  torch::NoGradGuard no_grad;
  if (grads.empty()) return 0;
  // torch/nn/utils/clip_grad.py (1.13): the norm of the per-tensor norms
  std::vector<torch::Tensor> norms;
  for (const auto& g : grads) norms.push_back(torch::norm(g, 2));
  auto total = torch::norm(torch::stack(norms), 2);
  if (max_norm > 0) {
    auto coef = torch::clamp(max_norm / (total + 1e-6), c10::nullopt, 1.0);
    for (auto& g : grads) g.mul_(coef);
  }
  return total.item<double>();
}

void adamw_step(torch::Tensor& param, const torch::Tensor& grad, AdamWMoments& m, int64_t step, double lr,
                const AdamWSettings& s) {
  torch::NoGradGuard no_grad;
  // torch/optim/adamw.py, _single_tensor_adamw (1.13), in its order of operations
  param.mul_(1 - lr * s.weight_decay);
  m.exp_avg.mul_(s.beta1).add_(grad, 1 - s.beta1);
  m.exp_avg_sq.mul_(s.beta2).addcmul_(grad, grad, 1 - s.beta2);
  const double bias_correction1 = 1 - std::pow(s.beta1, static_cast<double>(step));
  const double bias_correction2 = 1 - std::pow(s.beta2, static_cast<double>(step));
  const double step_size = lr / bias_correction1;
  auto denom = (m.exp_avg_sq.sqrt() / std::sqrt(bias_correction2)).add_(s.eps);
  param.addcdiv_(m.exp_avg, denom, -step_size);
}

}  // namespace enwanda
