#include "enwanda/prune/methods/alps.h"

#include <cmath>

#include <spdlog/spdlog.h>

#include "enwanda/errors.h"
#include "enwanda/model/checkpoint.h"

namespace enwanda {

namespace {
// P_k's support of Z [in, out]: true = kept. Unstructured: the `keep` largest Z² of the matrix, the
// earlier position of W's row-major order (Zᵀ) pruned first among ties; N:M: per output row the
// M − N largest of each group of M consecutive inputs. Z's dtype is kept (fp64 on the CPU).
torch::Tensor kept_support(const torch::Tensor& Z, int64_t keep, const Structure& structure) {
  const auto s = Z.t().square().contiguous();  // [out, in], W's layout
  torch::Tensor pruned;
  if (structure.nm()) {
    pruned = group_mask_sorted(s, structure.m, structure.n);
  } else {
    const int64_t drop = s.numel() - keep;
    if (drop == 0) return torch::ones(Z.sizes(), Z.options().dtype(torch::kBool));
    const auto flat = s.reshape({1, -1});
    pruned = row_mask_kth_value(flat, drop).reshape(s.sizes());
  }
  return pruned.logical_not().t();
}

// (Ĥ + ρI)⁻¹ = Q·diag(1/(L + ρ))·Qᵀ (alps.py: XTX_inv = Q @ ((1/(L+rho)) * Q).T)
torch::Tensor shifted_inverse(const torch::Tensor& L, const torch::Tensor& Q, double rho) {
  return Q.matmul((1.0 / (L + rho)).unsqueeze(1) * Q.t());
}

constexpr int64_t kCheckEvery = 3;      // update_iter
constexpr int64_t kSwitchIter = 30;     // switch_iter
constexpr int64_t kBacksolveSteps = 10; // cg_batch(..., maxiter=10)
}  // namespace

AlpsResult alps_prune_linear(const torch::Tensor& weight, const torch::Tensor& gram, double sparsity,
                             const Structure& structure, const AlpsOptions& opt) {
  torch::NoGradGuard no_grad;
  AlpsResult out;
  out.rho = opt.rho;
  const auto W = weight.detach().to(gram.options());  // [out, in]
  if (!structure.nm() && sparsity <= 0.0) {
    out.weight = W.clone();
    return out;
  }
  // ridge term and normalisation (ALPS_admm's damp1 and X_norm)
  auto H = gram.clone();
  H.diagonal().add_(0.01 * H.diagonal().mean().item<double>());
  const auto dn = H.diagonal().sqrt() + 1e-8;                  // [in]
  const auto Hn = H / dn.unsqueeze(0) / dn.unsqueeze(1);       // Ĥ [in, in]
  const auto B0 = (W * dn.unsqueeze(0)).t().contiguous();      // [in, out]
  const auto Y = Hn.matmul(B0);                                // YtX.T [in, out]
  const int64_t numel = B0.numel();
  // np.round: half to even, as std::nearbyint in the default rounding mode
  const int64_t keep = structure.nm() ? numel / structure.m * (structure.m - structure.n)
                                      : static_cast<int64_t>(std::nearbyint((1.0 - sparsity) * static_cast<double>(numel)));
  auto project = [&](const torch::Tensor& Z) { return Z * kept_support(Z, keep, structure); };

  const auto eig = torch::linalg_eigh(Hn);
  const auto& L = std::get<0>(eig);
  const auto& Q = std::get<1>(eig);
  double rho = opt.rho;
  auto Hinv = shifted_inverse(L, Q, rho);
  const auto D0 = project(B0);
  auto B = B0.clone(), D = D0.clone(), V = torch::zeros_like(B0);
  auto zero_before = D == 0;
  bool raised = false;
  int64_t t = 0;
  while (t < opt.iters) {
    B = Hinv.matmul(Y - V + rho * D);
    D = project((V + rho * B) / rho);
    V = V + rho * (B - D);
    ++t;
    if (t % kCheckEvery != 0) continue;
    // the ρ schedule on the support's change since the last check
    const auto zero = D == 0;
    const int64_t changed = zero.ne(zero_before).sum().item<int64_t>();
    const double ratio = static_cast<double>(changed) / static_cast<double>(keep);
    const double rho_before = rho;
    if (ratio > 0.1) {
      raised = true;
      rho *= 1.3;
    } else if (ratio > 0.005) {
      raised = true;
      rho *= 1.2;
    } else if (changed >= 1) {
      if (raised) {
        rho *= 1.1;
      } else {
        rho /= 5;
        B = B0.clone();
        D = D0.clone();
        V.zero_();
      }
    } else {
      if (raised) break;
      rho /= 5;
    }
    zero_before = zero;
    rho = std::min(rho, 1e6);
    if (rho != rho_before) Hinv = shifted_inverse(L, Q, rho);
    if (t - 1 >= kSwitchIter && ratio < 3e-4) break;
  }
  out.iterations = t;
  out.rho = rho;

  // back-solve on the final support: cg_batch without a preconditioner; its stopping test (the
  // unrestricted residual's row norms below 1e-4 of Y's) is not met in practice, so every step runs
  const auto support = kept_support(B, keep, structure);
  const auto S = support.to(B.scalar_type());
  auto X = B * S;
  auto R = (Y - Hn.matmul(X)) * S;
  auto P = R;
  auto rr = (R * R).sum(0);  // [out]
  for (int64_t k = 0; k < kBacksolveSteps; ++k) {
    if (k > 0) {
      auto rr_new = (R * R).sum(0);
      const auto beta = rr_new / rr.masked_fill(rr == 0, 1e-8);
      P = R + beta.unsqueeze(0) * P;
      rr = rr_new;
    }
    const auto HP = Hn.matmul(P);
    auto den = (P * HP).sum(0);
    den.masked_fill_(den == 0, 1e-8);
    const auto alpha = (rr / den).unsqueeze(0);
    X = X + alpha * P;
    R = (R - alpha * HP) * S;
  }
  out.weight = (X * S).t() / dn.unsqueeze(0);
  return out;
}

AlpsMethod::AlpsMethod(const MethodOptions& opt) : opt_(opt) {
  if (!(opt.alps.rho > 0.0 && std::isfinite(opt.alps.rho)))
    throw UsageError("--alps-rho must be positive, got " + std::to_string(opt.alps.rho));
  if (opt.alps.iters < 0) throw UsageError("--alps-iters must be >= 0, got " + std::to_string(opt.alps.iters));
}

nlohmann::json AlpsMethod::prune_layer(LayerWeights& w, const LayerEvidence& e, const LinearTargets& targets) const {
  nlohmann::json iterations = nlohmann::json::object();
  for (size_t j = 0; j < w.linears.size(); ++j) {
    if (!targets[j]) continue;
    auto& W = w.linears[j];
    const auto H = e.grams->hessian(input_of_linear(static_cast<int>(j)));
    const AlpsResult r = alps_prune_linear(W, H, *targets[j], opt_.structure, opt_.alps);
    spdlog::debug("{}: ALPS {} ADMM iterations, final rho {:.4g}", layer_tensor_name(e.layer, kLinearNames[j]),
                  r.iterations, r.rho);
    W = r.weight.to(W.device(), W.scalar_type());
    iterations[kLinearNames[j]] = r.iterations;
  }
  return {{"alps_iterations", iterations}};
}

}  // namespace enwanda
