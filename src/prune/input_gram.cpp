#include "enwanda/prune/input_gram.h"

namespace enwanda {

void InputGrams::add(LinearInput which, const torch::Tensor& x) {
  const int i = static_cast<int>(which);
  const auto dtype = x.is_cuda() ? torch::kFloat32 : torch::kFloat64;
  auto rows = x.detach().reshape({-1, x.size(-1)}).to(dtype);  // [tokens, in]
  if (!sum_[i].defined()) sum_[i] = torch::zeros({x.size(-1), x.size(-1)}, rows.options());
  sum_[i].addmm_(rows.t(), rows);
  sequences_[i] += x.size(0);
}

torch::Tensor InputGrams::hessian(LinearInput which) const {
  const int i = static_cast<int>(which);
  if (given_[i].defined()) return given_[i].clone();
  return sum_[i] * (2.0 / static_cast<double>(sequences_[i]));
}

void InputGrams::set_hessian(LinearInput which, torch::Tensor h) { given_[static_cast<size_t>(which)] = std::move(h); }

}  // namespace enwanda
