#include "enwanda/prune/regional_gradient.h"

#include "enwanda/errors.h"

namespace enwanda {

Tf32Matmuls::Tf32Matmuls(bool enable) : previous_(at::globalContext().allowTF32CuBLAS()), enabled_(enable) {
  if (enabled_) at::globalContext().setAllowTF32CuBLAS(true);
}

Tf32Matmuls::~Tf32Matmuls() {
  if (enabled_) at::globalContext().setAllowTF32CuBLAS(previous_);
}

LayerWeights fp32_master(const LayerWeights& w) {
  LayerWeights m;
  m.input_norm = w.input_norm.detach().to(torch::kFloat32);
  m.post_norm = w.post_norm.detach().to(torch::kFloat32);
  if (w.attn_out_norm.defined()) m.attn_out_norm = w.attn_out_norm.detach().to(torch::kFloat32);
  if (w.mlp_out_norm.defined()) m.mlp_out_norm = w.mlp_out_norm.detach().to(torch::kFloat32);
  m.local_rope = w.local_rope;
  for (size_t j = 0; j < w.linears.size(); ++j) {
    m.linears[j] = w.linears[j].detach().to(torch::kFloat32).clone().requires_grad_(true);
    if (w.biases[j].defined()) m.biases[j] = w.biases[j].detach().to(torch::kFloat32);
  }
  if (w.q_norm.defined()) m.q_norm = w.q_norm.detach().to(torch::kFloat32);
  if (w.k_norm.defined()) m.k_norm = w.k_norm.detach().to(torch::kFloat32);
  m.window = w.window;
  return m;
}

namespace {
RotaryTables fp32_tables(const RotaryTables& rope) {  // the local tables too, where the family has them
  auto fp32 = [](const torch::Tensor& t) { return t.defined() ? t.to(torch::kFloat32) : t; };
  return {fp32(rope.cos), fp32(rope.sin), fp32(rope.local_cos), fp32(rope.local_sin)};
}
}  // namespace

std::array<torch::Tensor, 7> regional_gradient_rms(const LayerWeights& w, const torch::Tensor& inputs, int64_t count,
                                                   const RotaryTables& rope, const LlamaConfig& c) {
  std::vector<torch::Tensor> params(w.linears.begin(), w.linears.end());
  std::array<torch::Tensor, 7> sum_sq;
  for (size_t j = 0; j < 7; ++j) sum_sq[j] = torch::zeros_like(w.linears[j], torch::kFloat32);
  const RotaryTables rope32 = fp32_tables(rope);
  for (int64_t n = 0; n < count; ++n) {
    check_interrupted();
    auto x = inputs.slice(0, n, n + 1).detach().to(torch::kFloat32);
    auto loss = layer_forward(w, x, rope32, c).norm();
    auto grads = torch::autograd::grad({loss}, params);
    for (size_t j = 0; j < 7; ++j) sum_sq[j] += grads[j].square();
  }
  for (auto& s : sum_sq) s = (s / static_cast<double>(count)).sqrt();
  return sum_sq;
}

double reconstruction_error(const LayerWeights& w, const torch::Tensor& inputs, const torch::Tensor& targets,
                            const RotaryTables& rope, const LlamaConfig& c) {
  torch::NoGradGuard no_grad;
  const RotaryTables rope32 = fp32_tables(rope);
  double total = 0;
  for (int64_t n = 0; n < inputs.size(0); ++n) {
    auto x = inputs.slice(0, n, n + 1).to(torch::kFloat32);
    auto diff = targets.slice(0, n, n + 1).to(torch::kFloat32) - layer_forward(w, x, rope32, c);
    total += diff.square().sum().item<double>();
  }
  return total / static_cast<double>(inputs.size(0));
}

void regional_optimisation_round(LayerWeights& master, torch::optim::RMSprop& opt, const torch::Tensor& inputs,
                                 const torch::Tensor& targets, const std::vector<int64_t>& order,
                                 const RotaryTables& rope, const LlamaConfig& c) {
  const RotaryTables rope32 = fp32_tables(rope);
  for (int64_t n : order) {
    check_interrupted();
    opt.zero_grad();
    auto x = inputs.slice(0, n, n + 1).detach().to(torch::kFloat32);
    auto y = targets.slice(0, n, n + 1).detach().to(torch::kFloat32);
    auto loss = (y - layer_forward(master, x, rope32, c)).square().sum();
    loss.backward();
    opt.step();
  }
}

}  // namespace enwanda
