#include "enwanda/prune/reproduce.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "enwanda/io/json_text.h"

namespace enwanda {

std::string shell_word(const std::string& word) {
  if (!word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=./:,@%") ==
                           std::string::npos)
    return word;
  std::string quoted = "'";
  for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string reproducing_command(const PruneOptions& opt) {
  std::string cmd = "enwanda prune";
  auto flag = [&](const std::string& name) { cmd += " " + name; };
  auto value = [&](const std::string& name, const std::string& v) { cmd += " " + name + " " + shell_word(v); };
  auto number = [&](const std::string& name, const nlohmann::json& v) { cmd += " " + name + " " + v.dump(); };
  auto path = [&](const std::string& p) { return std::filesystem::absolute(p).lexically_normal().string(); };
  // every setting the run used, defaults included (a later change of a default must not change
  // what this reproduces), and none that the method would refuse as without effect
  const bool calibrated = uses_activations(opt.method) || opt.allocation == Allocation::owl;

  value("--model", path(opt.model_dir));
  if (!opt.calib.tokens_path.empty()) value("--calib-tokens", path(opt.calib.tokens_path));
  for (const auto& p : opt.calib.text_paths) value("--calib", path(p));
  value("--out", path(opt.out_dir));
  value("--method", method_name(opt.method));
  if (uses_elastic_net(opt.method)) {
    value("--geometry", geometry_name(opt.geometry));
    number("--alpha", opt.alpha);
  }
  if (opt.structure.nm()) value("--structure", opt.structure.str());
  else number("--sparsity", opt.sparsity);
  for (const auto& t : opt.linears.targets) value("--targets", t);
  for (const auto& t : opt.linears.ignore) value("--ignore", t);
  for (const auto& [type, s] : opt.linears.sparsity_of) value("--sparsity-of", type + "=" + nlohmann::json(s).dump());
  value("--allocation", allocation_name(opt.allocation));
  if (opt.allocation == Allocation::owl) {
    number("--owl-m", opt.owl.m);
    number("--owl-lambda", opt.owl.lambda);
  }
  if (opt.method == Method::sparsegpt) {
    number("--sparsegpt-damp", opt.sparsegpt.damp);
    number("--sparsegpt-block", opt.sparsegpt.block);
  }
  if (opt.method == Method::ria) number("--ria-power", opt.ria.power);
  if (opt.method == Method::dsnot) {
    number("--dsnot-cycles", opt.dsnot.cycles);
    number("--dsnot-threshold", opt.dsnot.threshold);
    number("--dsnot-pow-var", opt.dsnot.pow_var);
    value("--dsnot-skip", dsnot_skip_name(opt.dsnot.skip));
  }
  if (opt.method == Method::alps) {
    number("--alps-rho", opt.alps.rho);
    number("--alps-iters", opt.alps.iters);
  }
  if (uses_regional_gradients(opt.method)) {
    const auto& r = opt.regional;
    number("--rgs-scale", r.gamma);
    number("--rgs-samples", r.rgs_samples);
    if (!r.ro) flag("--no-ro");
    if (r.ro) {
      number("--ro-iters", r.ro_iters);
      number("--ro-samples", r.ro_samples);
      number("--ro-lr", r.ro_lr);
    }
    if (r.tf32) flag("--regional-tf32");
  }
  if (calibrated) {
    const auto& c = opt.calib;
    if (c.tokens_path.empty()) {  // a token file's shape is its nsamples and seqlen
      if (!c.protocol.empty()) value("--protocol", c.protocol);  // the values below override it
      number("--nsamples", c.nsamples);
      number("--seqlen", c.seqlen);
      number("--calib-mult", c.calib_mult);
      value("--calib-sampling", c.sampling);
      value("--rows", rows_view_name(c.rows));
      value("--calib-field", c.text.field);
      number("--calib-max-mib", c.text.max_bytes >> 20);
      if (c.literals != SpecialLiterals::as_ids) flag("--split-special-tokens");
    }
    number("--seed", c.seed);  // also Wanda++'s RO sample order
    value("--stat-norm", opt.stat_norm == StatNorm::tokens ? "tokens" : "sequences");
  }
  flag(opt.sequential ? "--sequential" : "--no-sequential");
  if (!opt.save_stats.empty()) value("--save-stats", path(opt.save_stats));
  if (!opt.load_stats.empty()) value("--load-stats", path(opt.load_stats));
  value("--device", opt.device);
  value("--dtype", opt.dtype);
  number("--batch-size", opt.batch_size);
  number("--threads", opt.threads);
  if (!opt.overlap_io) flag("--no-overlap");
  return cmd;
}

std::string pruned_by(const std::string& dir) {
  const auto report_path = std::filesystem::path(dir) / "enwanda_report.json";
  if (!std::filesystem::exists(report_path)) return "";
  try {
    std::ifstream in(report_path);
    const auto report = parse_json(in, report_path.string());
    if (report.value("command", "") == "synth") return "";  // synth's mark, not a pruning
    if (report.contains("reproduce") && report["reproduce"].is_string()) return report["reproduce"].get<std::string>();
    // reports written before the reproducing command was recorded
    const auto s = report.at("settings");
    const auto method = s.at("method").get<std::string>(), structure = s.at("structure").get<std::string>();
    std::string run = "enwanda prune --method " + method;
    if (method == "en" || method == "en++")
      run += " --geometry " + s.at("geometry").get<std::string>() + " --alpha " + s.at("alpha").dump();
    run += structure == "unstructured" ? " --sparsity " + s.at("sparsity").dump() : " --structure " + structure;
    if (s.value("allocation", "uniform") == "owl")
      run += " --allocation owl --owl-m " + s.at("owl").at("m").dump() + " --owl-lambda " + s.at("owl").at("lambda").dump();
    if (method == "sparsegpt")
      run += " --sparsegpt-damp " + s.at("sparsegpt").at("damp").dump() + " --sparsegpt-block " +
             s.at("sparsegpt").at("block").dump();
    if (method == "ria") run += " --ria-power " + s.at("ria").at("power").dump();
    return run;
  } catch (const std::exception&) {  // an older or hand-edited report
    return "an enwanda prune (its enwanda_report.json does not say how)";
  }
}

}  // namespace enwanda
