#include "enwanda/prune/methods/dsnot.h"

#include <cmath>

#include "enwanda/errors.h"
#include "enwanda/prune/methods/activation_score.h"

namespace enwanda {

DsnotSkip parse_dsnot_skip(const std::string& s) {
  for (DsnotSkip k : {DsnotSkip::mlp, DsnotSkip::attention, DsnotSkip::none})
    if (s == dsnot_skip_name(k)) return k;
  throw UsageError("--dsnot-skip must be mlp, attention or none, got " + s);
}

std::string dsnot_skip_name(DsnotSkip s) {
  switch (s) {
    case DsnotSkip::mlp: return "mlp";
    case DsnotSkip::attention: return "attention";
    case DsnotSkip::none: return "none";
  }
  return "?";
}

namespace {

// one entry per row: list[row, pointer[row]]   (list [R, L], pointer [R] int64, clamped into the list)
torch::Tensor at_pointer(const torch::Tensor& list, const torch::Tensor& pointer) {
  return list.gather(1, pointer.clamp(0, list.size(1) - 1).unsqueeze(1)).squeeze(1);
}

torch::Tensor row_values(const torch::Tensor& m, const torch::Tensor& cols) {  // m[row, cols[row]]
  return m.gather(1, cols.unsqueeze(1)).squeeze(1);
}

// Per row, the first `count` columns where `member` holds, in ascending order of `value` (stable:
// equal values keep column order). Columns outside `member` never enter, whatever their value: a
// value of +inf or NaN among the members cannot let an outsider in (a fill of INFINITY for the
// outsiders would tie with a member's +inf and put a kept column in the regrow list).
torch::Tensor ranked_members(const torch::Tensor& value, const torch::Tensor& member, int64_t count) {
  const auto by_value = std::get<1>(value.sort(/*stable=*/true, 1, false));                    // [R, C]
  const auto outside = member.gather(1, by_value).logical_not().to(torch::kUInt8);
  const auto members_first = std::get<1>(outside.sort(/*stable=*/true, 1, false));
  return by_value.gather(1, members_first).slice(1, 0, count);
}

// The regrow key d / var^p as one number per weight that sorts as the quotient would, for every
// finite p: the quotient itself (as lib/prune.py computes it) where float64 holds it for every
// weight, else sign(q)·log|q| = sign(d)·(log|d| − p·log var), which neither overflows nor
// underflows (var^200 of a variance of 0.01 is 0 in float64, so every quotient would be ±inf).
torch::Tensor regrow_key(const torch::Tensor& d, const torch::Tensor& var, double p) {
  if (p == 0.0) return d;
  const auto positive = var > 0;
  const auto q = torch::where(positive, d / var.pow(p), d);
  const bool exact = q.isfinite().all().item<bool>() && q.ne(0).eq(d.ne(0)).all().item<bool>();
  if (exact) return q;
  const auto log_var = torch::where(positive, var.log(), torch::zeros_like(var));
  const auto log_q = d.abs().log() - p * log_var;  // -inf where d == 0
  const auto sign = d.sign();
  // sign(q)·log|q| orders the negatives and the positives apart; a shift keeps every negative
  // below zero and every positive above it (d == 0 sits at 0)
  const auto lo = log_q.masked_fill(d.eq(0), INFINITY).min().item<double>();
  const double shift = std::isfinite(lo) ? 1.0 - lo : 0.0;
  return torch::where(d.eq(0), torch::zeros_like(d), sign * (log_q + shift));
}

// swaps in the rows of `take`: prune column p, regrow column r
void swap_in_rows(torch::Tensor& mask, const torch::Tensor& take, const torch::Tensor& p, const torch::Tensor& r) {
  const auto rows = take.nonzero().squeeze(1);
  mask.index_put_({rows, p.index({rows})}, true);
  mask.index_put_({rows, r.index({rows})}, false);
}
}  // namespace

DsnotMask dsnot_mask(const torch::Tensor& weight, const ChannelStats& stats, double sparsity, const Structure& structure,
                     const DsnotOptions& opt, bool refine) {
  torch::NoGradGuard no_grad;
  const auto score = score_elastic_net(weight, activation_scale(Method::wanda, Geometry::modified, 0.0, stats));  // [R, C]
  DsnotMask out{wanda_family_mask(score, sparsity, structure), 0};
  auto& mask = out.mask;
  const int64_t rows = weight.size(0), cols = weight.size(1);
  const int64_t pruned = rows ? mask[0].sum().item<int64_t>() : 0;  // the same in every row
  if (!refine || opt.cycles == 0 || pruned == 0 || pruned == cols) return out;

  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64).device(weight.device());
  const auto i64 = torch::TensorOptions().dtype(torch::kInt64).device(weight.device());
  // lib/prune.py prune_DSnoT: DSnoT_metric = W · sum_metric_row; reconstruction_error = the row's
  // sum of it over the pruned weights
  const auto d = weight.to(f64) * stats.mean.to(f64).unsqueeze(0);  // [R, C]
  auto e = d.masked_fill(mask.logical_not(), 0.0).sum(1);             // [R]
  // metric_for_regrowing /= var^pow_of_var_regrowing (a channel of zero variance is left undivided)
  const auto key = regrow_key(d, stats.var.to(f64).unsqueeze(0).expand_as(d), opt.pow_var);
  // regrowing_indices_block: here the pruned columns alone, by key ascending (a stable sort)
  const auto regrow = ranked_members(key, mask, pruned);  // [R, P]
  auto rg_lo = torch::zeros({rows}, i64), rg_hi = torch::full({rows}, pruned - 1, i64);
  auto active = torch::ones({rows}, torch::TensorOptions().dtype(torch::kBool).device(weight.device()));
  const double threshold = opt.threshold;

  if (!structure.nm()) {
    // pruning_indices_block: the kept columns in ascending Wanda order (wanda_res_indices),
    // reordered by return_reorder_indice: d < 0 in that order, then d > 0 in reverse order
    const int64_t kept = cols - pruned;
    const auto by_wanda = ranked_members(score, mask.logical_not(), kept);
    const auto dk = d.gather(1, by_wanda);  // [R, K]
    const auto pos = torch::arange(kept, f64).unsqueeze(0).expand({rows, kept});
    const auto order = torch::where(dk < 0, pos, torch::where(dk > 0, 3.0 * kept - pos, kept + pos));
    const auto prune_list = by_wanda.gather(1, std::get<1>(order.sort(1)));  // [R, K]
    auto pr_lo = torch::zeros({rows}, i64), pr_hi = torch::full({rows}, kept - 1, i64);
    for (int64_t cycle = 0; cycle < opt.cycles; ++cycle) {
      // update_mask &= |reconstruction_error| > update_threshold (no sign test: --without_same_sign
      // is a bool flag whose default True is never turned off)
      active &= e.abs() > threshold;
      active &= (rg_lo <= rg_hi).logical_and_(pr_lo <= pr_hi);
      if (!active.any().item<bool>()) break;
      const auto up = e > 0;  // regrow from the top, prune from the front
      const auto r = at_pointer(regrow, torch::where(up, rg_hi, rg_lo));
      const auto p = at_pointer(prune_list, torch::where(up, pr_lo, pr_hi));
      swap_in_rows(mask, active, p, r);
      e = torch::where(active, e + row_values(d, p) - row_values(d, r), e);
      const auto a_up = active.logical_and(up), a_down = active.logical_and(up.logical_not());
      rg_hi -= a_up.to(torch::kInt64);
      pr_lo += a_up.to(torch::kInt64);
      rg_lo += a_down.to(torch::kInt64);
      pr_hi -= a_down.to(torch::kInt64);
      out.swaps += active.sum().item<int64_t>();
    }
    return out;
  }

  // N:M (the prune_n != 0 branch): the weight pruned is the kept-from-the-start one with the
  // lowest Wanda score in the regrown weight's group; a swap must keep the sign of the error
  const int64_t m = structure.m;
  auto candidate = mask.logical_not();  // kept from the start and not yet pruned by a swap
  const auto start_sign = e.sign();
  const auto in_group = torch::arange(m, i64).unsqueeze(0);  // [1, M]
  for (int64_t cycle = 0; cycle < opt.cycles; ++cycle) {
    active &= e.abs() > threshold;
    active &= rg_lo <= rg_hi;
    if (!active.any().item<bool>()) break;
    const auto up = e > 0;
    const auto r = at_pointer(regrow, torch::where(up, rg_hi, rg_lo));
    const auto group = (r - r.remainder(m)).unsqueeze(1) + in_group;  // [R, M] the regrown weight's group
    const auto open = candidate.gather(1, group);
    const auto p = group.gather(1, score.gather(1, group).masked_fill(open.logical_not(), INFINITY).argmin(1, true)).squeeze(1);
    const auto after = e + row_values(d, p) - row_values(d, r);
    // update_mask &= sign(initialize_error_sign) == sign(reconstruction_error_after); a row whose
    // group has no candidate left stops as well
    active &= open.any(1).logical_and_(after.sign() == start_sign);
    swap_in_rows(mask, active, p, r);
    candidate.index_put_({active.nonzero().squeeze(1), p.index({active.nonzero().squeeze(1)})}, false);
    e = torch::where(active, after, e);
    rg_hi -= active.logical_and(up).to(torch::kInt64);
    rg_lo += active.logical_and(up.logical_not()).to(torch::kInt64);
    out.swaps += active.sum().item<int64_t>();
  }
  return out;
}

DsnotMethod::DsnotMethod(const MethodOptions& opt) : opt_(opt) {
  if (opt.dsnot.cycles < 0) throw UsageError("--dsnot-cycles must be >= 0, got " + std::to_string(opt.dsnot.cycles));
  if (!(opt.dsnot.threshold >= 0.0)) throw UsageError("--dsnot-threshold must be >= 0");
  if (!std::isfinite(opt.dsnot.pow_var)) throw UsageError("--dsnot-pow-var must be a finite number");
}

nlohmann::json DsnotMethod::prune_layer(LayerWeights& w, const LayerEvidence& e, const LinearTargets& targets) const {
  torch::NoGradGuard no_grad;
  int64_t swaps = 0;
  for (size_t j = 0; j < w.linears.size(); ++j) {
    if (!targets[j]) continue;
    // lib/prune.py: name.split(".")[0] == args.skip_layer keeps the Wanda mask ("mlp" by default)
    const bool attention = j < 4;
    const bool refine = opt_.dsnot.skip == DsnotSkip::none || (opt_.dsnot.skip == DsnotSkip::mlp) == attention;
    auto& W = w.linears[j];
    const DsnotMask m = dsnot_mask(W, e.stats[j], *targets[j], opt_.structure, opt_.dsnot, refine);
    W.masked_fill_(m.mask, 0.0);
    swaps += m.swaps;
  }
  return {{"dsnot_swaps", swaps}};
}

}  // namespace enwanda
