// The mixture-of-experts MLP block, as transformers computes it (MixtralSparseMoeBlock in
// modeling_mixtral.py, Qwen2MoeSparseMoeBlock in modeling_qwen2_moe.py, Qwen3MoeSparseMoeBlock in
// modeling_qwen3_moe.py, OlmoeSparseMoeBlock in modeling_olmoe.py):
//   router logits = x·Gᵀ (no bias); probabilities = softmax in fp32 over all E experts; the top-k
//   of each token, renormalised to sum 1 when norm_topk_prob (mixtral: always), cast back to x's
//   dtype; output = Σ_j w_j · expert_{idx_j}(x), expert(x) = down(silu(gate x) ⊙ up x), summed
//   expert by expert in expert order (index_add_); an expert no token chose is not run. qwen2_moe
//   adds its shared expert, weighted by sigmoid(x·shared_expert_gateᵀ), for every token.
#pragma once

#include <functional>
#include <vector>

#include <torch/torch.h>

#include "enwanda/model/llama_config.h"

namespace enwanda {

struct ExpertWeights {
  torch::Tensor gate;  // [f, hidden]
  torch::Tensor up;    // [f, hidden]
  torch::Tensor down;  // [hidden, f]
};

struct MoeWeights {
  torch::Tensor router;                // [E, hidden]
  std::vector<ExpertWeights> experts;  // E of them
  ExpertWeights shared;                // qwen2_moe's shared expert; undefined otherwise
  torch::Tensor shared_gate;           // [1, hidden]; undefined without a shared expert
};

// Which experts each token goes to, and with which weight.
struct Routing {
  torch::Tensor experts;  // [N, k] int64, the top-k in descending probability
  torch::Tensor weights;  // [N, k] in x's dtype
  torch::Tensor probs;    // [N, E] fp32: the router's softmax (ties and margins are read from it)
};
// x: [N, hidden] -> the routing of its N tokens.
Routing route_tokens(const torch::Tensor& router, const torch::Tensor& x, const MoeConfig& c);

// What the block's linears see: the rows routed to one expert (expert >= 0; kSharedExpert for the
// shared expert, which sees every row). `gate_up_input` [n, hidden] is what gate and up multiply,
// `down_input` [n, f] = silu(gate x) ⊙ (up x) what down multiplies; `tokens` [n] int64 are the rows'
// indices in the block's flattened input.
constexpr int64_t kSharedExpert = -1;
struct ExpertInputs {
  int64_t expert;
  const torch::Tensor& tokens;
  const torch::Tensor& gate_up_input;
  const torch::Tensor& down_input;
};
using ExpertObserver = std::function<void(const ExpertInputs&)>;

// silu(gate x) ⊙ (up x), what an expert's down multiplies: x [n, hidden] -> [n, f].
torch::Tensor expert_activation(const ExpertWeights& ex, const torch::Tensor& x);

// Only the observer's view of one expert (kSharedExpert: the shared one) over x [..., hidden]: the
// rows routed to it and its activation on them, as moe_forward shows them; nothing when no row
// chose it. What SparseGPT's per-expert Gram matrices are gathered from, one expert at a time.
void observe_expert(const MoeWeights& w, const torch::Tensor& x, const MoeConfig& c, int64_t expert,
                    const ExpertObserver& observe);

// x: [B, T, hidden] -> [B, T, hidden] (the block's output, without the residual). With
// compute_output false only the observer's view is produced (down's products are skipped) and an
// undefined tensor is returned.
torch::Tensor moe_forward(const MoeWeights& w, const torch::Tensor& x, const MoeConfig& c,
                          const ExpertObserver* observe = nullptr, bool compute_output = true);

}  // namespace enwanda
