#include "enwanda/prune/methods/sparsegpt.h"

#include <cmath>

#include <spdlog/spdlog.h>

#include "enwanda/errors.h"
#include "enwanda/model/checkpoint.h"

namespace enwanda {

namespace {
// The upper Cholesky factor of (H + damp·mean(diag H)·I)⁻¹, in H's dtype; undefined when a
// factorisation fails (H not positive definite at this dampening).
torch::Tensor inverse_hessian_factor(const torch::Tensor& hessian, double damp) {
  auto h = hessian.clone();
  h.diagonal().add_(damp * h.diagonal().mean().item<double>());
  auto lower = torch::linalg_cholesky_ex(h, /*upper=*/false, /*check_errors=*/false);
  if (std::get<1>(lower).item<int64_t>() != 0) return {};
  auto upper = torch::linalg_cholesky_ex(torch::cholesky_inverse(std::get<0>(lower)), /*upper=*/true, false);
  if (std::get<1>(upper).item<int64_t>() != 0) return {};
  return std::get<0>(upper);
}

constexpr int kMaxDampeningRetries = 3;
}  // namespace

torch::Tensor sparsegpt_prune_linear(const torch::Tensor& weight, const torch::Tensor& hessian, double sparsity,
                                     const Structure& structure, const SparseGptOptions& opt, const std::string& what) {
  torch::NoGradGuard no_grad;
  auto W = weight.detach().to(torch::kFloat32).clone();  // [rows, cols]
  const int64_t cols = W.size(1);
  if (!structure.nm() && sparsity <= 0.0) return W;

  // dead inputs (never active): H_jj := 1, W[:, j] := 0, before the dampening's mean is taken
  auto H = hessian.clone();  // [cols, cols]
  const auto dead = H.diagonal() == 0;
  H.diagonal().masked_fill_(dead, 1.0);
  W.masked_fill_(dead.to(W.device()).unsqueeze(0), 0.0);

  torch::Tensor Hinv;  // upper Cholesky factor of H⁻¹
  double damp = opt.damp;
  for (int retry = 0;; ++retry) {
    Hinv = inverse_hessian_factor(H, damp);
    if (Hinv.defined()) break;
    if (retry == kMaxDampeningRetries)
      throw InputError(what + ": SparseGPT's Cholesky factorisation failed at dampening " + std::to_string(damp) +
                       " (its input's Gram matrix is far from positive definite; more calibration samples help)");
    spdlog::warn("{}: SparseGPT's Cholesky factorisation failed at dampening {}; retrying with {}", what, damp, damp * 10);
    damp *= 10;
  }
  Hinv = Hinv.to(torch::kFloat32);

  const int64_t block = opt.block;
  for (int64_t i1 = 0; i1 < cols; i1 += block) {
    const int64_t i2 = std::min(i1 + block, cols), count = i2 - i1;
    auto W1 = W.slice(1, i1, i2).clone();  // [rows, count]
    auto Q1 = torch::zeros_like(W1);
    auto Err1 = torch::zeros_like(W1);
    const auto Hinv1 = Hinv.slice(0, i1, i2).slice(1, i1, i2);  // [count, count]
    const auto d = Hinv1.diagonal();                            // [count]
    torch::Tensor mask1;  // true = prune
    if (structure.nm()) {
      mask1 = torch::zeros(W1.sizes(), torch::TensorOptions().dtype(torch::kBool).device(W1.device()));
    } else {
      const auto tmp = W1.square() / d.square().unsqueeze(0);
      mask1 = matrix_mask_at_or_below(tmp, static_cast<int64_t>(std::floor(sparsity * static_cast<double>(tmp.numel()))));
    }
    for (int64_t i = 0; i < count; ++i) {
      if (structure.nm() && i % structure.m == 0) {  // the group's mask from the weights as updated so far
        const auto tmp = W1.slice(1, i, i + structure.m).square() / d.slice(0, i, i + structure.m).square().unsqueeze(0);
        mask1.slice(1, i, i + structure.m).copy_(row_mask_n_m(tmp, structure.n, structure.m));
      }
      const auto w = W1.select(1, i);  // [rows]
      const auto q = w.masked_fill(mask1.select(1, i), 0.0);
      Q1.select(1, i).copy_(q);
      const auto err1 = (w - q) / Hinv1[i][i];
      W1.slice(1, i).sub_(err1.unsqueeze(1).matmul(Hinv1.select(0, i).slice(0, i).unsqueeze(0)));
      Err1.select(1, i).copy_(err1);
    }
    W.slice(1, i1, i2).copy_(Q1);
    if (i2 < cols) W.slice(1, i2).sub_(Err1.matmul(Hinv.slice(0, i1, i2).slice(1, i2)));  // lazy update of the rest
  }
  return W;
}

nlohmann::json SparseGptMethod::prune_layer(LayerWeights& w, const LayerEvidence& e, const LinearTargets& targets) const {
  for (size_t j = 0; j < w.linears.size(); ++j) {
    if (!targets[j]) continue;
    auto& W = w.linears[j];
    const auto H = e.grams->hessian(input_of_linear(static_cast<int>(j)));
    W = sparsegpt_prune_linear(W, H, *targets[j], opt_.structure, opt_.sparsegpt, layer_tensor_name(e.layer, kLinearNames[j]))
            .to(W.scalar_type());
  }
  return nullptr;
}

}  // namespace enwanda
