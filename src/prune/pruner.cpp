#include "enwanda/prune/pruner.h"

#include <chrono>
#include <cstdlib>
#include <map>

#include <spdlog/spdlog.h>

#include "enwanda/errors.h"
#include "enwanda/io/background_writer.h"
#include "enwanda/io/checkpoint_writer.h"
#include "enwanda/model/llama_model.h"
#include "enwanda/prune/allocate.h"
#include "enwanda/prune/calibrate.h"
#include "enwanda/prune/layer_log.h"
#include "enwanda/prune/layer_walk.h"
#include "enwanda/prune/prune_plan.h"
#include "enwanda/prune/prune_report.h"
#include "enwanda/prune/stats_file.h"

namespace enwanda {

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
}  // namespace

nlohmann::json prune(PruneOptions opt) {
  validate_prune_options(opt);
  PruneReport report(uses_regional_gradients(opt.method));

  // plan and check: the checkpoint, the outputs' guards, the runtime
  auto t = Clock::now();
  PrunePlan plan = plan_prune(opt);
  const Checkpoint& ck = *plan.checkpoint;
  const LlamaConfig& cfg = ck.config();
  Runtime& rt = plan.runtime;
  report.add_seconds("load", seconds_since(t));

  // calibrate: the tokens, when the method's dense pass or OWL needs them
  t = Clock::now();
  const auto method = make_layer_method(opt);
  const CalibrationSet calib = calibrate(opt, needs_dense_pass(method->needs(), opt), ck, rt);
  report.add_seconds("calibration", seconds_since(t));

  t = Clock::now();
  LlamaModel model(plan.checkpoint, rt);
  spdlog::info("model {}: {} layers, hidden {}, {} heads ({} kv), {}; running on {}", opt.model_dir, cfg.num_hidden_layers,
               cfg.hidden_size, cfg.num_attention_heads, cfg.num_key_value_heads, dtype_name(ck.weight_dtype()), rt.describe());
  report.add_seconds("load", seconds_since(t));
  StatisticsFiles stats = open_statistics_files(opt.load_stats, opt.save_stats, ck, calib.sha256, opt.stat_norm);

  std::map<std::string, std::string> provenance = {{"enwanda.version", ENWANDA_VERSION},
                                                   {"enwanda.method", method_name(opt.method)},
                                                   {"enwanda.sparsity", std::to_string(opt.sparsity)}};
  CheckpointWriter writer(plan.checkpoint, opt.out_dir, opt.overwrite, provenance, plan.inputs);
  // Declared after the writer, so on an error or interrupt they stop before it removes the output.
  BackgroundWriter writes(writer, opt.overlap_io);

  // allocate: each layer's sparsity, uniform or OWL's from a first dense pass
  t = Clock::now();
  const LayerAllocation allocation = allocate(model, calib.tokens, opt, stats.in.get(), plan.pruned);
  if (opt.allocation == Allocation::owl) report.add_seconds("allocation", seconds_since(t));

  // tensors of the layers that the pipeline does not use (older saves' rotary_emb.inv_freq, say):
  // copied byte for byte beside their layer, with one warning naming them
  const UnusedLayerTensors unused = unused_layer_tensors(ck);
  if (!unused.all.empty())
    spdlog::warn("{} tensor(s) that enwanda does not use are copied to the output byte for byte: {}{}", unused.all.size(),
                 unused.all.front(), unused.all.size() > 1 ? " ... " + unused.all.back() : "");

  // per layer: load, observe, prune, write, advance (layer_walk.h)
  LayerWalk walk(model, *method, opt, allocation, stats, writes, unused);
  LayerCutsLog cuts;
  LayerProgress progress;
  walk.add_observer(report);
  walk.add_observer(cuts);
  walk.add_observer(progress);
  walk.run(calib.tokens);

  // the rest of the checkpoint: embeddings, final norm, lm_head, byte for byte
  t = Clock::now();
  for (const auto& name : ck.tensor_names())
    if (name.rfind("model.layers.", 0) != 0) writes.copy(name);
  for (const auto& name : unused.all) {  // a layer past num_hidden_layers
    const int64_t i = std::atoll(name.c_str() + std::string("model.layers.").size());
    if (i < 0 || i >= cfg.num_hidden_layers) writes.copy(name);
  }
  writes.wait();
  stats.write(opt.overwrite);
  report.add_seconds("writing", seconds_since(t));

  // report
  const nlohmann::json result = report.finish(opt, stats.key, calib, rt, writes.busy_seconds(), writer.bytes_written());
  check_interrupted();
  writer.replace_carried("README.md", pruned_model_card(read_model_card(opt.model_dir), result));
  writer.commit({{"enwanda_report.json", result}});
  log_prune_summary(opt, result, cfg);
  return result;
}

}  // namespace enwanda
