#include "enwanda/model/moe_block.h"

namespace enwanda {

Routing route_tokens(const torch::Tensor& router, const torch::Tensor& x, const MoeConfig& c) {
  // router logits in x's dtype (an nn.Linear without bias), softmax in fp32 over all experts
  auto logits = torch::matmul(x, router.t());                                   // [N, E]
  auto probs = torch::softmax(logits, -1, x.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32);
  auto [top, experts] = torch::topk(probs, c.top_k, -1);                       // [N, k], descending
  if (c.norm_topk_prob) top = top / top.sum(-1, /*keepdim=*/true);
  return {experts, top.to(x.scalar_type()), probs};
}

torch::Tensor expert_activation(const ExpertWeights& ex, const torch::Tensor& x) {
  return torch::silu(torch::matmul(x, ex.gate.t())) * torch::matmul(x, ex.up.t());
}

void observe_expert(const MoeWeights& w, const torch::Tensor& x, const MoeConfig& c, int64_t expert,
                    const ExpertObserver& observe) {
  auto flat = x.reshape({-1, x.size(-1)});  // [N, hidden]
  if (expert == kSharedExpert) {
    auto all = torch::arange(flat.size(0), torch::TensorOptions().dtype(torch::kInt64).device(flat.device()));
    observe(ExpertInputs{kSharedExpert, all, flat, expert_activation(w.shared, flat)});
    return;
  }
  const Routing r = route_tokens(w.router, flat, c);
  auto tokens = torch::nonzero(r.experts.eq(expert).any(-1)).reshape({-1});
  if (tokens.numel() == 0) return;
  auto rows = flat.index_select(0, tokens);
  observe(ExpertInputs{expert, tokens, rows, expert_activation(w.experts[static_cast<size_t>(expert)], rows)});
}

torch::Tensor moe_forward(const MoeWeights& w, const torch::Tensor& x, const MoeConfig& c, const ExpertObserver* observe,
                          bool compute_output) {
  const auto sizes = x.sizes();
  auto flat = x.reshape({-1, x.size(-1)});  // [N, hidden]
  const Routing r = route_tokens(w.router, flat, c);
  auto out = compute_output ? torch::zeros_like(flat) : torch::Tensor();
  // one expert at a time, in expert order: its tokens, its SwiGLU, its weighted output added back
  for (int64_t e = 0; e < c.num_experts; ++e) {
    auto hit = r.experts.eq(e);                       // [N, k]: at most one slot per token
    auto tokens = torch::nonzero(hit.any(-1)).reshape({-1});
    if (tokens.numel() == 0) continue;                // no token chose it: not run
    const ExpertWeights& ex = w.experts[static_cast<size_t>(e)];
    auto rows = flat.index_select(0, tokens);         // [n, hidden]
    auto act = expert_activation(ex, rows);           // [n, f]
    if (observe) (*observe)(ExpertInputs{e, tokens, rows, act});
    if (!compute_output) continue;
    auto weight = (r.weights * hit.to(r.weights.scalar_type())).sum(-1).index_select(0, tokens);  // [n]
    out.index_add_(0, tokens, torch::matmul(act, ex.down.t()) * weight.unsqueeze(-1));
  }
  if (w.shared_gate.defined()) {
    auto act = expert_activation(w.shared, flat);
    if (observe) {
      auto all = torch::arange(flat.size(0), torch::TensorOptions().dtype(torch::kInt64).device(flat.device()));
      (*observe)(ExpertInputs{kSharedExpert, all, flat, act});
    }
    if (compute_output)
      out = out + torch::sigmoid(torch::matmul(flat, w.shared_gate.t())) * torch::matmul(act, w.shared.down.t());
  }
  return compute_output ? out.view(sizes) : torch::Tensor();
}

}  // namespace enwanda
