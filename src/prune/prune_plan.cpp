#include "enwanda/prune/prune_plan.h"

#include <cmath>

#include <spdlog/spdlog.h>

#include "enwanda/errors.h"
#include "enwanda/io/checkpoint_writer.h"
#include "enwanda/io/output_directory.h"
#include "enwanda/io/replace_guard.h"
#include "enwanda/model/device_memory.h"
#include "enwanda/prune/reproduce.h"

namespace enwanda {

void validate_prune_options(PruneOptions& opt) {
  if (!(opt.alpha >= 0.0 && opt.alpha <= 1.0)) throw UsageError("--alpha must lie in [0, 1], got " + std::to_string(opt.alpha));
  if (opt.structure.nm()) opt.sparsity = static_cast<double>(opt.structure.n) / static_cast<double>(opt.structure.m);
  if (!(opt.sparsity >= 0.0 && opt.sparsity < 1.0))
    throw UsageError("--sparsity must lie in [0, 1), got " + std::to_string(opt.sparsity));
  if (opt.model_dir.empty()) throw UsageError("--model is required");
  if (opt.out_dir.empty()) throw UsageError("--out is required");
  const bool has_text = !opt.calib.text_paths.empty(), has_tokens = !opt.calib.tokens_path.empty();
  if (has_text && has_tokens) throw UsageError("give either --calib or --calib-tokens, not both");
  if (opt.calib.sampling != "windows" && opt.calib.sampling != "documents")
    throw UsageError("--calib-sampling must be windows or documents, got " + opt.calib.sampling);
  if (has_tokens && opt.calib.sampling != "windows")
    throw UsageError("--calib-sampling applies to --calib text; --calib-tokens windows are used as they are");
  if (uses_activations(opt.method) && !has_text && !has_tokens && opt.load_stats.empty())
    throw UsageError("--method " + method_name(opt.method) + " needs calibration data: --calib PATH or --calib-tokens FILE.npy");
  if ((!opt.save_stats.empty() || !opt.load_stats.empty()) && opt.sequential)
    throw UsageError("--save-stats/--load-stats need --no-sequential (sequential statistics depend on the pruning)");
  if (!opt.load_stats.empty() && uses_regional_gradients(opt.method))
    throw UsageError("--load-stats cannot be combined with --method " + method_name(opt.method) + " (it needs the calibration activations)");
  if (uses_regional_gradients(opt.method) && !opt.sequential)
    throw UsageError("--method " + method_name(opt.method) + " is sequential by definition; drop --no-sequential");
  if (opt.regional.ro_iters < 0 || opt.regional.ro_samples <= 0 || opt.regional.rgs_samples < 0 || !(opt.regional.ro_lr > 0))
    throw UsageError("--ro-iters must be >= 0, --ro-samples and --ro-lr positive, --rgs-samples >= 0");
  if (opt.regional.tf32 && !uses_regional_gradients(opt.method))
    throw UsageError("--regional-tf32 applies to --method wanda++ and en++ only");
  if (opt.method == Method::sparsegpt) {
    if (!(opt.sparsegpt.damp > 0.0 && std::isfinite(opt.sparsegpt.damp)))
      throw UsageError("--sparsegpt-damp must be positive, got " + std::to_string(opt.sparsegpt.damp));
    if (opt.sparsegpt.block <= 0) throw UsageError("--sparsegpt-block must be positive");
    if (opt.structure.nm() && opt.sparsegpt.block % opt.structure.m != 0)
      throw UsageError("--sparsegpt-block " + std::to_string(opt.sparsegpt.block) + " must be a multiple of M=" +
                       std::to_string(opt.structure.m) + " of --structure " + opt.structure.str());
    if (!opt.save_stats.empty() || !opt.load_stats.empty())
      throw UsageError("--save-stats/--load-stats hold per-channel statistics; --method sparsegpt needs each input's XᵀX");
  }
  if ((opt.method == Method::dsnot || opt.method == Method::alps) && (!opt.save_stats.empty() || !opt.load_stats.empty()))
    throw UsageError("--save-stats/--load-stats hold L1 and L2² per channel; --method " + method_name(opt.method) +
                     (opt.method == Method::alps ? " needs each input's XᵀX" : " needs each channel's signed sum and variance too"));
  if (opt.method == Method::ria && !std::isfinite(opt.ria.power)) throw UsageError("--ria-power must be a finite number");
  if (!opt.linears.sparsity_of.empty()) {
    if (opt.structure.nm())
      throw UsageError("--sparsity-of sets unstructured sparsities; --structure " + opt.structure.str() +
                       " prunes N of every M weights of each pruned linear (drop one of them)");
    for (const auto& [type, s] : opt.linears.sparsity_of)
      if (!(s >= 0.0 && s < 1.0))
        throw UsageError("--sparsity-of " + type + "=" + std::to_string(s) + ": the sparsity must lie in [0, 1)");
    if (opt.allocation == Allocation::owl && !(opt.sparsity > 0.0))
      throw UsageError("--allocation owl scales each --sparsity-of by a layer's sparsity over --sparsity; "
                       "give --sparsity above 0");
  }
  if (opt.allocation == Allocation::owl) {
    if (opt.structure.nm())
      throw UsageError("--allocation owl with --structure " + opt.structure.str() +
                       " is not supported (OWL's N:M variant changes N per layer)");
    if (!(opt.owl.m > 0.0) || !(opt.owl.lambda >= 0.0) || !std::isfinite(opt.owl.m) || !std::isfinite(opt.owl.lambda))
      throw UsageError("--owl-m must be positive and --owl-lambda >= 0");
    if (opt.calib.text_paths.empty() && opt.calib.tokens_path.empty() && opt.load_stats.empty())
      throw UsageError("--allocation owl needs calibration data (its outlier ratios come from Wanda scores): --calib PATH or --calib-tokens FILE.npy");
  }
}

PrunePlan plan_prune(const PruneOptions& opt) {
  PrunePlan plan;
  plan.checkpoint = Checkpoint::open(opt.model_dir);
  const Checkpoint& ck = *plan.checkpoint;
  // a --targets or --ignore pattern that matches no linear is refused before anything is written
  plan.pruned = PrunedLinears(opt.linears, ck.config().num_hidden_layers);
  if (plan.pruned.count() >= 0)
    spdlog::info("--targets/--ignore: {} of {} linears pruned, the others left as they are", plan.pruned.count(),
                 7 * ck.config().num_hidden_layers);
  // what the outputs may replace, and the free space, before calibration, which can take minutes
  plan.inputs = opt.calib.text_paths;
  plan.inputs.insert(plan.inputs.end(), {opt.model_dir, opt.calib.tokens_path, opt.load_stats});
  check_output_directory("--out", opt.out_dir, opt.overwrite, plan.inputs);
  if (!opt.save_stats.empty()) check_output_file("--save-stats", opt.save_stats, opt.overwrite, plan.inputs);
  require_free_space(opt.out_dir, ck.total_bytes() + carried_bytes(opt.model_dir));  // weights, config, tokenizer, ...
  // pruning enwanda's own output again is legal (a second pass at a higher sparsity), but more
  // often a --model pointing at the wrong directory
  if (const auto first_run = pruned_by(opt.model_dir); !first_run.empty())
    spdlog::warn("--model {} is the output of {} (enwanda_report.json); pruning it prunes an already pruned model",
                 opt.model_dir, first_run);
  const LlamaConfig& cfg = ck.config();
  if (cfg.is_moe()) {  // mixtures of experts: the methods defined expert by expert (moe_layer.h)
    const std::string what = " is not defined for a mixture of experts (model_type " + cfg.model_type +
                             "); use --method magnitude, wanda, en or sparsegpt, uniform and sequential";
    const Method m = opt.method;
    if (m != Method::magnitude && m != Method::wanda && m != Method::en && m != Method::sparsegpt)
      throw UsageError("--method " + method_name(m) + what);
    if (opt.allocation == Allocation::owl) throw UsageError("--allocation owl" + what);
    if (!opt.sequential) throw UsageError("--no-sequential" + what);
    // patterns name the dense layers' linears; an expert's are not among them (--sparsity-of applies by type)
    if (!opt.linears.selects_all())
      throw UsageError("--targets/--ignore select among a dense layer's seven linears, and a mixture of experts (model_type " +
                       cfg.model_type + ") has experts in place of the MLP's, which no pattern can name yet; "
                       "prune every linear, or set a type's sparsity with --sparsity-of TYPE=S (it applies to the experts by type)");
  }
  plan.runtime = make_runtime(opt.device, opt.dtype, ck.weight_dtype(), opt.threads, opt.batch_size);
  plan.runtime.overlap_io = opt.overlap_io;
  if (opt.regional.tf32 && !plan.runtime.cuda())
    throw UsageError("--regional-tf32 needs --device cuda (on the CPU the regional matmuls are plain fp32)");
  reset_peak_device_memory(plan.runtime.device);
  if (opt.structure.nm())
    for (int64_t in : {cfg.hidden_size, cfg.q_dim(), cfg.intermediate_size, cfg.moe.expert_intermediate_size,
                       cfg.moe.shared_expert_intermediate_size})
      if (in > 0 && in % opt.structure.m != 0)
        throw UsageError("--structure " + opt.structure.str() + ": M=" + std::to_string(opt.structure.m) +
                         " does not divide in_features=" + std::to_string(in));
  return plan;
}

}  // namespace enwanda
