// enwanda prune: flags into PruneOptions, then enwanda::prune (pruner.h).
#include "enwanda/errors.h"
#include "enwanda/prune/pruner.h"
#include "enwanda/text/calibration.h"
#include "enwanda/text/tokenizer_fingerprint.h"
#include "command_line.h"
#include "prune_flags.h"
#include "subcommand.h"

namespace enwanda::cli {
namespace {

class PruneCommand : public Subcommand {
 public:
  CLI::App* add_to(CLI::App& parent, LoggingFlags& logging) override {
    auto* prune = app_ = parent.add_subcommand("prune", "prune a checkpoint and write the pruned one");
    prune->add_option("--model", po.model_dir, "input checkpoint: a directory, a hub cache models--ORG--NAME, or ORG/NAME in the hub cache")->required();
    prune->add_option("--calib", po.calib.text_paths, "calibration text files or directories");
    prune->add_option("--calib-tokens", po.calib.tokens_path, "calibration tokens .npy [nsamples, seqlen]");
    prune->add_option("--out", po.out_dir, "output checkpoint directory")->required();
    prune->add_option("--method", method, "en|wanda|magnitude|wanda++|en++|sparsegpt|ria|dsnot|alps")->capture_default_str();
    prune->add_option("--geometry", geometry, "original|modified (elastic-net scale)")->capture_default_str();
    prune->add_option("--alpha", po.alpha, "elastic-net mixing weight in [0, 1]")
        ->check(finite_in(0, 1, "a number in [0, 1]"))
        ->capture_default_str();
    prune->add_option("--sparsity", po.sparsity, "fraction pruned (per row; per matrix for magnitude and ria), in [0, 1)")
        ->check(finite_in(0, 1, "a fraction in [0, 1), e.g. 0.5", false, true))
        ->capture_default_str();
    prune->add_option("--targets", po.linears.targets,
                      "prune only the linears matching: re:REGEX (from the name's start) or an exact name such as "
                      "model.layers.3.mlp.down_proj; repeatable");
    prune->add_option("--ignore", po.linears.ignore, "leave the linears matching as they are (re:REGEX or an exact name); repeatable");
    prune->add_option("--sparsity-of", sparsity_of, "TYPE=S: the sparsity of one linear type (q, k, v, o, gate, up, down); repeatable");
    prune->add_option("--allocation", allocation, "per-layer sparsity: uniform, or owl (outlier-weighted)")->capture_default_str();
    prune->add_option("--owl-m", po.owl.m, "OWL: outlier threshold in multiples of a layer's mean score")
        ->check(finite_in(0, 1e30, "a number > 0", true))
        ->capture_default_str();
    prune->add_option("--owl-lambda", po.owl.lambda, "OWL: layer sparsities span 2 x lambda, shifted so that their mean is --sparsity")
        ->check(finite_in(0, 1, "a fraction in [0, 1]"))
        ->capture_default_str();
    prune->add_option("--sparsegpt-damp", po.sparsegpt.damp, "SparseGPT: dampening, a fraction of mean(diag H)")
        ->check(finite_in(0, 1e30, "a number > 0", true))
        ->capture_default_str();
    prune->add_option("--sparsegpt-block", po.sparsegpt.block, "SparseGPT: columns per lazy-update block")->capture_default_str();
    prune->add_option("--ria-power", po.ria.power, "RIA: exponent a of the activation norm")
        ->check(finite_in(-1e6, 1e6, "a finite number"))
        ->capture_default_str();
    prune->add_option("--dsnot-cycles", po.dsnot.cycles, "DSnoT: passes of prune-and-regrow over the rows (0: Wanda)")
        ->capture_default_str();
    prune->add_option("--dsnot-threshold", po.dsnot.threshold, "DSnoT: a row stops once its |error| is at most this")
        ->check(finite_in(0, 1e30, "a number >= 0"))
        ->capture_default_str();
    prune->add_option("--dsnot-pow-var", po.dsnot.pow_var, "DSnoT: regrow order d/var^p (0: no division)")
        ->check(finite_in(-1e6, 1e6, "a finite number"))
        ->capture_default_str();
    prune->add_option("--dsnot-skip", dsnot_skip, "DSnoT: linears that keep the Wanda mask: mlp, attention or none")
        ->capture_default_str();
    prune->add_option("--alps-rho", po.alps.rho, "ALPS: ADMM's initial penalty rho")
        ->check(finite_in(0, 1e30, "a number > 0", true))
        ->capture_default_str();
    prune->add_option("--alps-iters", po.alps.iters, "ALPS: ADMM iterations at most")->capture_default_str();
    prune->add_option("--structure", structure, "unstructured or N:M (e.g. 2:4)")->capture_default_str();
    prune->add_option("--nsamples", po.calib.nsamples, "calibration sequences")->capture_default_str();
    prune->add_option("--seqlen", seqlen, kSeqlenHelp)->capture_default_str();
    prune->add_flag("--allow-untrained-positions", allow_untrained,
                    "allow a --seqlen past the config's max_position_embeddings (positions the model was not trained on)");
    prune->add_option("--seed", po.calib.seed, "calibration sampling seed")->capture_default_str();
    prune->add_option("--calib-mult", po.calib.calib_mult, "draw nsamples x this many windows")->capture_default_str();
    prune->add_option("--calib-sampling", po.calib.sampling,
                      "windows (anywhere in the joined text) or documents (Wanda's C4 protocol: a window inside a "
                      "random JSON-lines record longer than seqlen)")
        ->capture_default_str();
    prune->add_option("--stat-norm", stat_norm, "divisor of the activation sums: sequences (as Wanda) or tokens")
        ->capture_default_str();
    prune->add_flag("--sequential,!--no-sequential", po.sequential, "next layer's inputs from the pruned layer (default)");
    prune->add_flag("--overwrite", po.overwrite, "replace an existing --out");
    prune->add_flag("!--no-overlap", po.overlap_io, "read and write layers on the main thread (no background I/O)");
    prune->add_option("--save-stats", po.save_stats, "write activation statistics (needs --no-sequential)");
    prune->add_option("--load-stats", po.load_stats, "reuse activation statistics (needs --no-sequential)");
    prune->add_option("--rgs-scale", po.regional.gamma, "Wanda++ gradient weight γ")
        ->check(finite_in(0, 1e30, "a number >= 0"))
        ->capture_default_str();
    prune->add_option("--rgs-samples", po.regional.rgs_samples, "samples for the regional gradient (0: all)");
    prune->add_flag("--no-ro", no_ro, "Wanda++ without regional optimisation");
    prune->add_option("--ro-iters", po.regional.ro_iters, "regional optimisation rounds")->capture_default_str();
    prune->add_option("--ro-samples", po.regional.ro_samples, "samples per RO round")->capture_default_str();
    prune->add_option("--ro-lr", po.regional.ro_lr, "RMSprop learning rate for RO")
        ->check(finite_in(0, 1e6, "a number > 0", true))
        ->capture_default_str();
    prune->add_flag("--regional-tf32", po.regional.tf32, "CUDA: TF32 tensor cores for the RGS/RO matmuls (3.4x faster on an H100)");
    text.add(prune, "\" \" for --calib-sampling windows");
    add_text_reading_flags(prune, po.calib.text, max_mib, "calib");
    prune->add_option("--protocol", po.calib.protocol, kProtocolHelp);
    compute.add(prune);
    logging.add(prune);
    return prune;
  }

  std::vector<std::string*> model_paths() override { return {&po.model_dir}; }

  std::vector<std::string> run_files() const override {
    std::vector<std::string> files{po.model_dir, po.calib.tokens_path, po.load_stats, po.out_dir, po.save_stats};
    files.insert(files.end(), po.calib.text_paths.begin(), po.calib.text_paths.end());
    return files;
  }

  void run(const Invocation& inv) override {
    po.calib.seqlen = resolve_seqlen(seqlen, po.model_dir, allow_untrained);
    po.method = parse_method(method);
    po.dsnot.skip = parse_dsnot_skip(dsnot_skip);
    po.geometry = parse_geometry(geometry);
    po.structure = parse_structure(structure);
    po.allocation = parse_allocation(allocation);
    if (stat_norm != "sequences" && stat_norm != "tokens") throw UsageError("--stat-norm must be sequences or tokens");
    po.stat_norm = stat_norm == "tokens" ? StatNorm::tokens : StatNorm::sequences;
    po.regional.ro = !no_ro;
    for (const auto& arg : sparsity_of) {
      const auto [type, s] = parse_sparsity_of(arg);
      if (!po.linears.sparsity_of.emplace(type, s).second) throw UsageError("--sparsity-of gives " + type + " twice");
    }
    refuse_flags_without_effect(*app_, po, no_ro);
    po.device = compute.device;
    po.dtype = compute.dtype;
    po.batch_size = compute.batch_size;
    po.threads = compute.threads;
    po.command_line = inv.command_line;
    po.calib.rows = text.view();
    po.calib.literals = text.literals();
    po.calib.text.max_bytes = static_cast<uint64_t>(max_mib) << 20;
    if (!po.calib.text_paths.empty()) check_calibration_size(po.calib);
    if (!po.calib.tokens_path.empty())
      check_token_file("--calib-tokens", po.calib.tokens_path, po.model_dir, app_->count("--nsamples") ? po.calib.nsamples : 0,
                       app_->count("--seqlen") ? po.calib.seqlen : 0);
    enwanda::prune(po);
  }

 private:
  CLI::App* app_ = nullptr;
  PruneOptions po;
  TextFlags text;
  ComputeFlags compute;
  std::string method = "en", geometry = "modified", structure = "unstructured", stat_norm = "sequences",
              allocation = "uniform", dsnot_skip = "mlp", seqlen = "auto";
  bool no_ro = false, allow_untrained = false;
  std::vector<std::string> sparsity_of;
  int64_t max_mib = kDefaultTextMaxMiB;
};

}  // namespace

std::unique_ptr<Subcommand> make_prune_command() { return std::make_unique<PruneCommand>(); }

}  // namespace enwanda::cli
