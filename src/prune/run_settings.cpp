#include "enwanda/prune/run_settings.h"

#include <filesystem>
#include <fstream>

#include "enwanda/errors.h"
#include "enwanda/io/json_text.h"
#include "enwanda/io/replace_guard.h"
#include "enwanda/model/blas_kernels.h"
#include "enwanda/model/runtime.h"
#include "enwanda/prune/layer_sparsity.h"
#include "enwanda/prune/method.h"
#include "enwanda/prune/score.h"
#include "enwanda/text/calibration.h"
#include "enwanda/text/text_corpus.h"

namespace enwanda {

nlohmann::json run_settings(const PruneOptions& opt, const StatsKey& key, const torch::Tensor& tokens, const Runtime& rt) {
  auto absolute = [](const std::string& p) { return std::filesystem::absolute(p).lexically_normal().string(); };
  nlohmann::json s = {
      {"model", absolute(opt.model_dir)}, {"out", absolute(opt.out_dir)}, {"method", method_name(opt.method)}, {"sparsity", opt.sparsity},
      {"structure", opt.structure.str()}, {"allocation", allocation_name(opt.allocation)},
      {"stat_norm", key.stat_norm}, {"sequential", opt.sequential},
      {"nsamples", tokens.defined() ? tokens.size(0) : 0}, {"seqlen", tokens.defined() ? tokens.size(1) : 0},
      {"seed", opt.calib.seed}, {"calib_mult", opt.calib.calib_mult}, {"device", rt.device.str()},
      {"compute_dtype", std::string(c10::toString(rt.compute_dtype))}, {"batch_size", rt.batch_size},
      {"threads", rt.threads}, {"blas", blas_library()}, {"blas_kernels", blas_kernels()}, {"overlap_io", opt.overlap_io},
      {"load_stats", opt.load_stats.empty() ? "" : absolute(opt.load_stats)},
      {"save_stats", opt.save_stats.empty() ? "" : absolute(opt.save_stats)}};
  // the calibration input: each file read, with its size and sha256
  nlohmann::json files = nlohmann::json::array();
  std::vector<std::string> read = opt.calib.tokens_path.empty() ? corpus_file_paths(opt.calib.text_paths)
                                                                 : std::vector<std::string>{opt.calib.tokens_path};
  for (const auto& f : read) {
    if (f.empty()) continue;
    const FileDigest d = text_file_digest(f);  // as read: a stream cannot be read again
    files.push_back({{"path", absolute(f)}, {"bytes", d.bytes}, {"sha256", d.sha256}});
  }
  s["calibration"] = {{"files", files}, {"kind", opt.calib.tokens_path.empty() ? "text" : "tokens"},
                      {"used", uses_activations(opt.method) || opt.allocation == Allocation::owl}};
  if (!opt.calibration_ignored.empty()) s["calibration"]["ignored_flags"] = opt.calibration_ignored;
  if (opt.calib.tokens_path.empty() && s["calibration"]["used"].get<bool>()) {
    s["calibration"]["sampling"] = opt.calib.sampling;
    s["calibration"]["loader"] = calibration_loader_name(opt.calib.sampling);  // locuslab/wanda lib/data.py
    s["calibration"]["seed"] = opt.calib.seed;                                 // random.seed(seed)
    s["calibration"]["rows"] = rows_view_name(opt.calib.rows);
    s["calibration"]["special_literals"] = opt.calib.literals == SpecialLiterals::as_ids ? "ids" : "text";
    s["calibration"]["field"] = opt.calib.text.field;
    s["calibration"]["max_mib"] = opt.calib.text.max_bytes >> 20;
  }
  s["protocol"] = opt.calib.protocol;
  if (uses_elastic_net(opt.method)) {
    s["geometry"] = geometry_name(opt.geometry);
    s["alpha"] = opt.alpha;
  }
  if (uses_regional_gradients(opt.method))
    s["regional"] = {{"rgs_scale", opt.regional.gamma}, {"rgs_samples", opt.regional.rgs_samples}, {"ro", opt.regional.ro},
                     {"ro_iters", opt.regional.ro_iters}, {"ro_samples", opt.regional.ro_samples},
                     {"ro_lr", opt.regional.ro_lr}, {"tf32", opt.regional.tf32}};
  if (opt.method == Method::sparsegpt) s["sparsegpt"] = {{"damp", opt.sparsegpt.damp}, {"block", opt.sparsegpt.block}};
  if (opt.method == Method::ria) s["ria"] = {{"power", opt.ria.power}};
  if (opt.method == Method::dsnot)
    s["dsnot"] = {{"cycles", opt.dsnot.cycles}, {"threshold", opt.dsnot.threshold}, {"pow_var", opt.dsnot.pow_var},
                  {"skip", dsnot_skip_name(opt.dsnot.skip)}};
  if (opt.method == Method::alps) s["alps"] = {{"rho", opt.alps.rho}, {"iters", opt.alps.iters}};
  if (opt.allocation == Allocation::owl) s["owl"] = {{"m", opt.owl.m}, {"lambda", opt.owl.lambda}};
  const LinearSelection& l = opt.linears;
  if (!l.selects_all() || !l.sparsity_of.empty())
    s["linears"] = {{"targets", l.targets}, {"ignore", l.ignore}, {"sparsity_of", l.sparsity_of}};
  // the chain: an input that is enwanda's output brings its own report (and that one its input's)
  const auto input_report = std::filesystem::path(opt.model_dir) / kReportFile;
  if (std::ifstream in(input_report); in) {
    try {
      s["input_report"] = parse_json(in, input_report.string());
    } catch (const InputError&) {
      s["input_report"] = "unreadable: " + input_report.string();
    }
  }
  return s;
}

}  // namespace enwanda
