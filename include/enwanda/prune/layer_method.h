// LayerMethod: how one pruning method turns a decoder layer's weights, and what the dense pass
// over the layer's calibration inputs gathered, into pruned weights. prune() walks the layers and
// owns everything else (reading, the dense pass, writing, the next layer's inputs); a method says
// what it needs from the dense pass and prunes one layer.
//
//   method     needs from the dense pass                     file
//   magnitude  nothing                                        methods/magnitude
//   en, wanda  per-channel L1 and L2² of each linear's input  methods/activation_score
//   ria        per-channel L2²                                methods/ria
//   sparsegpt  XᵀX of each linear's input                     methods/sparsegpt
//   wanda++,   per-channel statistics, the layer's inputs     methods/regional
//   en++       and its dense outputs
//   dsnot      L2², the signed sum and the variance per channel  methods/dsnot
//   alps       XᵀX of each linear's input                     methods/alps
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "enwanda/model/llama_layer.h"
#include "enwanda/prune/activation_stats.h"
#include "enwanda/prune/input_gram.h"
#include "enwanda/prune/mask.h"
#include "enwanda/prune/method.h"
#include "enwanda/prune/regional_gradient.h"
#include "enwanda/prune/score.h"

namespace enwanda {

class LlamaModel;

struct SparseGptOptions {
  double damp = 0.01;   // --sparsegpt-damp: λ of H += λ·mean(diag H)·I
  int64_t block = 128;  // --sparsegpt-block: columns per lazy-update block
};

struct RiaOptions {
  double power = 0.5;  // --ria-power: a in (sqrt(L2sq_j))^a
};

enum class DsnotSkip { mlp, attention, none };  // which linears keep the Wanda mask

struct DsnotOptions {
  int64_t cycles = 50;             // --dsnot-cycles: passes over the rows
  double threshold = 0.1;          // --dsnot-threshold: a row stops once |e| <= this
  double pow_var = 1.0;            // --dsnot-pow-var: p of the regrow order d_ij / var_j^p
  DsnotSkip skip = DsnotSkip::mlp;  // --dsnot-skip
};
DsnotSkip parse_dsnot_skip(const std::string& s);  // mlp|attention|none; throws UsageError
std::string dsnot_skip_name(DsnotSkip s);

struct AlpsOptions {
  double rho = 0.1;    // --alps-rho: ADMM's initial penalty ρ
  int64_t iters = 300;  // --alps-iters: ADMM iterations at most
};

// Everything that decides how a layer is pruned, apart from its sparsity.
struct MethodOptions {
  Method method = Method::en;
  Geometry geometry = Geometry::modified;
  double alpha = 0.5;
  Structure structure;  // unstructured by default
  RegionalOptions regional;
  SparseGptOptions sparsegpt;
  RiaOptions ria;
  DsnotOptions dsnot;
  AlpsOptions alps;
};

// What a method needs the dense pass over its layer to gather.
struct DenseNeeds {
  bool channel_stats = false;  // L1_j, L2sq_j of each linear's input
  bool input_grams = false;    // XᵀX of each linear's input
  bool dense_outputs = false;  // the layer's dense outputs (its inputs are always at hand)
  bool channel_moments = false;  // beside channel_stats: the signed sum and the variance per channel
};

// What the dense pass over layer `layer` produced, and what a method may need beside it.
struct LayerEvidence {
  int64_t layer = 0;
  std::array<ChannelStats, 7> stats;              // per linear (kLinearNames order) when asked for
  const InputGrams* grams = nullptr;              // when asked for
  const torch::Tensor* inputs = nullptr;          // [N, T, hidden] the layer's calibration inputs
  const torch::Tensor* dense_outputs = nullptr;   // [N, T, hidden] when asked for
  const LlamaModel* model = nullptr;
  uint64_t seed = 0;                              // the run's seed
};

// What each of a layer's seven linears is pruned to (kLinearNames order): its sparsity (under N:M
// the structure fixes it), or std::nullopt for a linear the method must leave exactly as it is.
using LinearTargets = std::array<std::optional<double>, 7>;

class LayerMethod {
 public:
  virtual ~LayerMethod() = default;
  virtual DenseNeeds needs() const = 0;
  // Prunes the linears of `w` that have a target in place, unstructured to their sparsity or to
  // the options' N:M, and leaves the others untouched; returns what the report should add for
  // this layer (null for nothing).
  virtual nlohmann::json prune_layer(LayerWeights& w, const LayerEvidence& e, const LinearTargets& targets) const = 0;
};

std::unique_ptr<LayerMethod> make_layer_method(const MethodOptions& opt);

}  // namespace enwanda
