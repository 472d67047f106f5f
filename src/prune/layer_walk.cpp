#include "enwanda/prune/layer_walk.h"

#include <algorithm>
#include <chrono>

#include "enwanda/errors.h"
#include "enwanda/model/layer_prefetcher.h"
#include "enwanda/prune/moe_layer.h"

namespace enwanda {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
}  // namespace

bool needs_dense_pass(const DenseNeeds& needs, const PruneOptions& opt) {
  return (needs.channel_stats || needs.input_grams || needs.dense_outputs) && opt.load_stats.empty();
}

LayerWalk::LayerWalk(const LlamaModel& model, const LayerMethod& method, const PruneOptions& opt,
                     const LayerAllocation& allocation, StatisticsFiles& stats, BackgroundWriter& writes,
                     const UnusedLayerTensors& unused)
    : model_(model), method_(method), opt_(opt), allocation_(allocation), stats_(stats), writes_(writes), unused_(unused),
      needs_(method.needs()), dense_pass_(needs_dense_pass(needs_, opt)), moe_(model, method, opt, dense_pass_) {}

void LayerWalk::run(const torch::Tensor& tokens) {
  const int64_t layers = model_.config().num_hidden_layers;
  LayerPrefetcher prefetcher(model_, opt_.overlap_io);
  torch::Tensor hidden;  // [N, T, H] on the device: the current layer's inputs
  if (dense_pass_) hidden = model_.embed(tokens);
  bool keep_dense = false;
  for (LayerObserver* o : observers_) {
    keep_dense = keep_dense || o->wants_dense_linears();
    o->walk_begins(layers);
  }

  for (int64_t i = 0; i < layers; ++i) {
    check_interrupted();
    const auto t_layer = Clock::now();
    LayerOutcome outcome;
    outcome.layer = i;
    outcome.sparsity = allocation_.sparsities[static_cast<size_t>(i)];
    if (!allocation_.outlier_ratios.empty()) outcome.outlier_ratio = allocation_.outlier_ratios[static_cast<size_t>(i)];
    outcome.targets = allocation_.targets_of(i);

    auto t = Clock::now();  // load
    LayerWeights w = prefetcher.take(i);
    outcome.seconds["load"] = seconds_since(t);

    std::array<torch::Tensor, 7> dense_linears;  // what the method started from, for an observer
    if (keep_dense)
      for (size_t j = 0; j < kLinearNames.size(); ++j)
        if (w.linears[j].defined()) dense_linears[j] = w.linears[j].clone();
    // observe and prune (an MoE layer: attention, then expert by expert, moe_layer.h)
    if (w.is_moe()) moe_.prune(w, hidden, outcome);
    else observe_and_prune(i, w, hidden, outcome);

    t = Clock::now();  // write
    write(i, w, outcome);
    outcome.seconds["writing"] = seconds_since(t);

    t = Clock::now();  // advance
    advance(w, hidden);
    outcome.seconds["next inputs"] = seconds_since(t);

    outcome.pruned = &w;
    if (keep_dense) outcome.dense = &dense_linears;
    outcome.total_seconds = seconds_since(t_layer);
    for (LayerObserver* o : observers_) o->layer_done(outcome);
  }
}

// A dense layer's observe and prune stages.
void LayerWalk::observe_and_prune(int64_t i, LayerWeights& w, torch::Tensor& hidden, LayerOutcome& outcome) {
  auto t = Clock::now();  // observe
  Observation seen;
  seen.stats = ActivationStats(needs_.channel_moments);  // DSnoT also asks for signed sums and variances
  observe(i, w, hidden, seen);
  outcome.seconds["statistics"] = seconds_since(t);

  t = Clock::now();  // prune
  const bool any_target =
      std::any_of(outcome.targets.begin(), outcome.targets.end(), [](const auto& t) { return t.has_value(); });
  if (any_target)  // a layer left whole (--targets, --ignore) is not given to the method
    outcome.method_report = method_.prune_layer(w, seen.evidence, outcome.targets);
  outcome.seconds["pruning"] = seconds_since(t);
}

// The dense pass: what the method needs of every linear input. The dense outputs are kept only
// where they are needed: as Wanda++'s reconstruction targets, or as the next inputs without
// --sequential.
void LayerWalk::observe(int64_t i, const LayerWeights& w, torch::Tensor& hidden, Observation& seen) {
  if (dense_pass_) {
    const InputObserver observe = [&](LinearInput which, const torch::Tensor& x) {
      if (needs_.channel_stats) seen.stats.add(which, x);
      if (needs_.input_grams) seen.grams.add(which, x);
    };
    if (needs_.dense_outputs) seen.dense_out = model_.forward_layer(w, hidden, &observe);
    else if (!opt_.sequential) model_.forward_layer_in_place(w, hidden, &observe);
    else model_.observe_layer(w, hidden, observe);
  }
  LayerEvidence& evidence = seen.evidence;
  evidence.layer = i;
  evidence.grams = &seen.grams;
  evidence.inputs = &hidden;
  evidence.dense_outputs = &seen.dense_out;
  evidence.model = &model_;
  evidence.seed = opt_.calib.seed;
  if (needs_.channel_stats)
    for (size_t j = 0; j < kLinearNames.size(); ++j) {
      evidence.stats[j] = stats_.in ? stats_.in->get(i, kLinearNames[j])
                                    : as_stored(seen.stats.channel_stats(input_of_linear(static_cast<int>(j)), opt_.stat_norm));
      stats_.add(i, kLinearNames[j], evidence.stats[j]);
    }
}

// The pruned layer goes out on the writer's thread, once the previous layer is out; the linears
// without a target, its norms, biases and the tensors enwanda does not use are copied byte for byte.
void LayerWalk::write(int64_t i, const LayerWeights& w, LayerOutcome& outcome) {
  writes_.wait();
  // every linear under its checkpoint name, pruned or (without a target) byte for byte from the
  // input; an MoE layer's experts counted as gate, up, down
  const auto names = layer_linears(model_.config(), i);
  const auto linears = pruned_linears(w);
  for (size_t k = 0; k < names.size(); ++k) {
    const size_t j = k < 4 ? k : 4 + (k - 4) % 3;
    const std::string name = layer_tensor_name(i, names[k].suffix);
    if (outcome.targets[j]) writes_.put(name, linears[k]);
    else writes_.copy(name);
    const int64_t zeros = linears[k].numel() - torch::count_nonzero(linears[k]).item<int64_t>();  // no bool tensor
    outcome.zeros[j] += zeros;
    outcome.weights[j] += linears[k].numel();
    outcome.checkpoint_linears.push_back({names[k].suffix, zeros, linears[k].numel()});
  }
  for (const auto& name : layer_parameter_names(model_.config(), i)) writes_.copy(name);
  for (const auto& name : unused_.of_layer[static_cast<size_t>(i)]) writes_.copy(name);
}

// The next layer's inputs: through the pruned layer (sequential); without --sequential the dense
// pass already left them in `hidden`.
void LayerWalk::advance(const LayerWeights& w, torch::Tensor& hidden) {
  if (dense_pass_ && opt_.sequential) model_.forward_layer_in_place(w, hidden);
}

}  // namespace enwanda
