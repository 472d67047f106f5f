#include "enwanda/prune/reproduce.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

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
  const PruneOptions d;  // the defaults
  std::string cmd = "enwanda prune";
  auto flag = [&](const std::string& name) { cmd += " " + name; };
  auto value = [&](const std::string& name, const std::string& v) { cmd += " " + name + " " + shell_word(v); };
  auto number = [&](const std::string& name, const nlohmann::json& v) { cmd += " " + name + " " + v.dump(); };
  auto path = [&](const std::string& p) { return std::filesystem::absolute(p).lexically_normal().string(); };

  value("--model", path(opt.model_dir));
  if (!opt.calib.tokens_path.empty()) value("--calib-tokens", path(opt.calib.tokens_path));
  for (const auto& p : opt.calib.text_paths) value("--calib", path(p));
  value("--out", path(opt.out_dir));
  value("--method", method_name(opt.method));
  if (uses_elastic_net(opt.method)) {
    if (opt.geometry != d.geometry) value("--geometry", geometry_name(opt.geometry));
    if (opt.alpha != d.alpha) number("--alpha", opt.alpha);
  }
  if (opt.structure.str() != "unstructured") value("--structure", opt.structure.str());
  else if (opt.sparsity != d.sparsity) number("--sparsity", opt.sparsity);
  for (const auto& t : opt.linears.targets) value("--targets", t);
  for (const auto& t : opt.linears.ignore) value("--ignore", t);
  for (const auto& [type, s] : opt.linears.sparsity_of) value("--sparsity-of", type + "=" + nlohmann::json(s).dump());
  if (opt.allocation != d.allocation) value("--allocation", allocation_name(opt.allocation));
  if (opt.allocation == Allocation::owl) {
    if (opt.owl.m != d.owl.m) number("--owl-m", opt.owl.m);
    if (opt.owl.lambda != d.owl.lambda) number("--owl-lambda", opt.owl.lambda);
  }
  if (opt.method == Method::sparsegpt) {
    if (opt.sparsegpt.damp != d.sparsegpt.damp) number("--sparsegpt-damp", opt.sparsegpt.damp);
    if (opt.sparsegpt.block != d.sparsegpt.block) number("--sparsegpt-block", opt.sparsegpt.block);
  }
  if (opt.method == Method::ria && opt.ria.power != d.ria.power) number("--ria-power", opt.ria.power);
  if (opt.method == Method::dsnot) {
    if (opt.dsnot.cycles != d.dsnot.cycles) number("--dsnot-cycles", opt.dsnot.cycles);
    if (opt.dsnot.threshold != d.dsnot.threshold) number("--dsnot-threshold", opt.dsnot.threshold);
    if (opt.dsnot.pow_var != d.dsnot.pow_var) number("--dsnot-pow-var", opt.dsnot.pow_var);
    if (opt.dsnot.skip != d.dsnot.skip) value("--dsnot-skip", dsnot_skip_name(opt.dsnot.skip));
  }
  if (opt.method == Method::alps) {
    if (opt.alps.rho != d.alps.rho) number("--alps-rho", opt.alps.rho);
    if (opt.alps.iters != d.alps.iters) number("--alps-iters", opt.alps.iters);
  }
  if (uses_regional_gradients(opt.method)) {
    const auto &r = opt.regional, &rd = d.regional;
    if (r.gamma != rd.gamma) number("--rgs-scale", r.gamma);
    if (r.rgs_samples != rd.rgs_samples) number("--rgs-samples", r.rgs_samples);
    if (!r.ro) flag("--no-ro");
    if (r.ro && r.ro_iters != rd.ro_iters) number("--ro-iters", r.ro_iters);
    if (r.ro && r.ro_samples != rd.ro_samples) number("--ro-samples", r.ro_samples);
    if (r.ro && r.ro_lr != rd.ro_lr) number("--ro-lr", r.ro_lr);
    if (r.tf32) flag("--regional-tf32");
  }
  if (opt.calib.tokens_path.empty()) {
    const auto &c = opt.calib, &cd = d.calib;
    if (c.nsamples != cd.nsamples) number("--nsamples", c.nsamples);
    if (c.seqlen != cd.seqlen) number("--seqlen", c.seqlen);
    if (c.seed != cd.seed) number("--seed", c.seed);
    if (c.calib_mult != cd.calib_mult) number("--calib-mult", c.calib_mult);
    if (c.sampling != cd.sampling) value("--calib-sampling", c.sampling);
    if (c.rows != cd.rows) value("--rows", rows_view_name(c.rows));
    if (c.literals != cd.literals) flag("--split-special-tokens");
    if (!c.protocol.empty()) value("--protocol", c.protocol);
  } else if (opt.calib.seed != d.calib.seed) {
    number("--seed", opt.calib.seed);  // Wanda++'s RO sample order
  }
  if (opt.stat_norm != d.stat_norm) value("--stat-norm", "tokens");
  if (!opt.sequential) flag("--no-sequential");
  if (!opt.save_stats.empty()) value("--save-stats", path(opt.save_stats));
  if (!opt.load_stats.empty()) value("--load-stats", path(opt.load_stats));
  if (opt.device != d.device) value("--device", opt.device);
  if (opt.dtype != d.dtype) value("--dtype", opt.dtype);
  if (opt.batch_size != d.batch_size) number("--batch-size", opt.batch_size);
  if (opt.threads != d.threads) number("--threads", opt.threads);
  if (!opt.overlap_io) flag("--no-overlap");
  return cmd;
}

std::string pruned_by(const std::string& dir) {
  const auto report_path = std::filesystem::path(dir) / "enwanda_report.json";
  if (!std::filesystem::exists(report_path)) return "";
  try {
    std::ifstream in(report_path);
    const auto report = nlohmann::json::parse(in);
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
