// The training step's small pure pieces, each as its reference defines it:
//   lr_lambda     transformers' get_linear_schedule_with_warmup under torch's LambdaLR
//   clip_grad_norm torch.nn.utils.clip_grad_norm_ (global L2 norm, coefficient clamped to 1)
//   adamw_step    torch.optim.AdamW's single-tensor update (torch 1.13 optim/adamw.py)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace enwanda {

enum class Schedule { linear, constant };
Schedule parse_schedule(const std::string& s);  // "linear" | "constant"; UsageError otherwise

// λ(k) for step k = 0 … steps−1 (the lr of step k is lr·λ(k); the first is 0 when warmup > 0):
// k / max(1, warmup) for k < warmup, else max(0, (steps − k) / max(1, steps − warmup)); 1 when constant.
double lr_lambda(Schedule s, int64_t k, int64_t steps, int64_t warmup);

// Scales `grads` in place so their global L2 norm is at most `max_norm` (<= 0: untouched) and
// returns the norm before clipping: coef = max_norm / (norm + 1e-6), clamped to 1, every gradient
// multiplied by it (also when it is 1, as torch does).
double clip_grad_norm(std::vector<torch::Tensor>& grads, double max_norm);

struct AdamWSettings {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
};

// One parameter's moments; `step` counts the updates done (torch's state['step']).
struct AdamWMoments {
  torch::Tensor exp_avg, exp_avg_sq;
};

// Updates `param` (no grad is recorded) and its moments with gradient `grad` at learning rate `lr`;
// `step` is the update's number, 1 for the first.
void adamw_step(torch::Tensor& param, const torch::Tensor& grad, AdamWMoments& m, int64_t step, double lr,
                const AdamWSettings& s);

}  // namespace enwanda
