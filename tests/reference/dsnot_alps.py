#!/usr/bin/python3
"""Independent reference for enwanda's DSnoT and ALPS, in plain PyTorch, written from the papers'
code: zyxxmu/DSnoT (lib/prune.py prune_DSnoT with initial_method wanda; lib/layerwrapper.py
WrappedGPT.add_batch for the statistics) and mazumder-lab/ALPS (alps.py ALPS_prune.ALPS_admm and
cg_batch). The model, its forward and Wanda's and SparseGPT's pieces come from reference.py.

DSnoT is run the way the published loop runs it, quirks included: every row's pointers advance
in every pass, stopped rows still write their masks, and the regrow order holds the kept weights
(with value 0). On rows of a few hundred inputs or more none of that changes a mask, so enwanda's
masks must be identical; the pass also checks enwanda's counts per row and per group of M. Rows
whose Wanda cut is a near-tie (within 1e-5 relative, where two fp32 forwards may disagree) are left
out of the comparison, at most 1% of them; each layer's inputs come from enwanda's pruned layer
before it, so rounding does not drift from layer to layer.

Usage:
  dsnot_alps.py dsnot --model DIR --tokens CALIB.npy --pruned DIR [--sparsity S | --structure N:M]
                      [--cycles 50 --threshold 0.1 --pow-var 1 --skip mlp]
  dsnot_alps.py alps  --model DIR --tokens CALIB.npy --pruned DIR [--sparsity S | --structure N:M]
                      [--rho 0.1 --iters 300]
    ALPS: per linear, masks >= 0.99 equal, the relative reconstruction error
    tr(ΔW H ΔWᵀ)/tr(W H Wᵀ) within 1% of this reference's, and below SparseGPT's and Wanda's on
    the same inputs. Each layer's inputs come from enwanda's pruned layer before it.
"""
import argparse
import os
import sys
from types import SimpleNamespace

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import (INPUT_OF, LINEARS, Llama, RunningGram, RunningStats, load_model, make_mask,  # noqa: E402
                       scale, sparsegpt_prune)

INPUTS = ("qkv", "o", "mlp", "down")


class Moments:
    """WrappedGPT.add_batch's sum_metric_row (signed sums, a running mean over samples) and its
    var (each sample's population variance over its tokens, merged weighted by tokens)."""

    def __init__(self):
        self.n, self.ntokens, self.sum, self.var = 0, 0, None, None

    def add(self, x):  # x: [1, T, in]
        inp = x.reshape(-1, x.shape[-1]).t().double()
        var_inp, num = torch.var(inp, dim=1, unbiased=False), inp.shape[1]
        self.var = var_inp if self.ntokens == 0 else (self.var * self.ntokens + var_inp * num) / (self.ntokens + num)
        self.ntokens += num
        if self.sum is None:
            self.sum = torch.zeros(inp.shape[0], dtype=torch.float64)
        self.sum *= self.n / (self.n + 1)
        self.n += 1
        self.sum += inp.sum(dim=1) / self.n


def reorder_index(t):
    """return_reorder_indice: negatives in order, then positives in reverse order (zeros: index 0)."""
    cols = torch.arange(t.shape[1], dtype=torch.float64).repeat(t.shape[0], 1)
    pos, neg = cols.clone(), cols.clone()
    pos[~(t > 0)] = float("inf")
    neg[~(t < 0)] = float("inf")
    pos = torch.flip(torch.sort(pos, dim=1)[0], dims=[1])
    neg = torch.sort(neg, dim=1)[0]
    pos[pos == float("inf")] = 0
    neg[neg == float("inf")] = 0
    return (pos + neg).long()


def dsnot_mask(W, wanda, d, var, sparsity, structure, cycles, threshold, pow_var, refine):
    """prune_DSnoT for one linear, literally (both branches); returns the mask (True = pruned)."""
    rows, cols = W.shape
    mask = torch.zeros_like(W, dtype=torch.bool)
    if structure:
        n, m = map(int, structure.split(":"))
        groups = [ii + torch.sort(wanda[:, ii:ii + m], dim=1, stable=True)[1] for ii in range(0, cols, m)]
        prune_idx = torch.cat([g[:, :n] for g in groups], dim=1)
        res_idx = torch.cat([g[:, n:] for g in groups], dim=1)
        mask.scatter_(1, prune_idx, True)
        if not refine:
            return mask
        regrow_metric = d.clone()
        regrow_metric.scatter_(1, res_idx, 0)
        e = regrow_metric.sum(dim=1, keepdim=True)
        e_sign = torch.sign(e)
        if pow_var:
            regrow_metric /= var.reshape(1, -1) ** pow_var
        regrow_block = torch.sort(regrow_metric, dim=1, stable=True)[1]
        rg_ptr = torch.tensor([[0, cols - 1]]).repeat(rows, 1)
        rg_step = torch.tensor([[1, -1]]).repeat(rows, 1)
        metric = wanda.clone().double()
        metric.scatter_(1, prune_idx, float("inf"))
        top = metric.max(dim=1, keepdim=True)[0] + 1
        update = torch.ones((rows, 1), dtype=torch.bool)
        cycle = 1
        while not (torch.all(~update) or cycle > cycles):
            cycle += 1
            sel = (e > 0).long()
            ptr = rg_ptr.gather(1, sel)
            r = regrow_block.gather(1, ptr)
            d_r = d.gather(1, r)
            start = r - r % m
            block = torch.arange(m).repeat(1, 1) + start
            p = start + torch.topk(metric.gather(1, block), 1, dim=1, largest=False)[1]
            d_p = d.gather(1, p)
            after = e + d_p - d_r
            update = update & (e_sign == torch.sign(after)) & (e.abs() > threshold)
            metric.scatter_(1, p, top)
            mask.scatter_(1, p, update)
            mask.scatter_(1, r, ~update)
            e = e + torch.where(update, d_p, torch.zeros_like(d_p)) - torch.where(update, d_r, torch.zeros_like(d_r))
            rg_ptr.scatter_(1, sel, ptr + rg_step.gather(1, sel))
        return mask
    order = torch.sort(wanda, dim=-1, stable=True)[1]
    pruned = int(cols * sparsity)
    prune_idx, res_idx = order[:, :pruned], order[:, pruned:]
    mask.scatter_(1, prune_idx, True)
    if not refine:
        return mask
    regrow_metric = d.clone()
    regrow_metric.scatter_(1, res_idx, 0)
    e = regrow_metric.sum(dim=1, keepdim=True)
    if pow_var:
        regrow_metric /= var.reshape(1, -1) ** pow_var
    regrow_block = torch.sort(regrow_metric, dim=1, stable=True)[1]
    w2 = wanda.clone().double()
    w2.scatter_(1, prune_idx, float("inf"))
    kept_by_wanda = torch.sort(w2, dim=1, stable=True)[1][:, :cols - pruned]
    prune_block = kept_by_wanda.gather(1, reorder_index(d.gather(1, kept_by_wanda)))
    rg_ptr = torch.tensor([[0, cols - 1]]).repeat(rows, 1)
    pr_ptr = torch.tensor([[0, cols - pruned - 1]]).repeat(rows, 1)
    step = torch.tensor([[1, -1]]).repeat(rows, 1)
    update = torch.ones((rows, 1), dtype=torch.bool)
    cycle = 0
    while not (torch.all(~update) or cycle >= cycles):
        cycle += 1
        sel = (e > 0).long()
        ptr = rg_ptr.gather(1, sel)
        r = regrow_block.gather(1, ptr)
        d_r = d.gather(1, r)
        rg_ptr.scatter_(1, sel, ptr + step.gather(1, sel))
        selp = (e < 0).long()
        ptrp = pr_ptr.gather(1, selp)
        p = prune_block.gather(1, ptrp)
        d_p = d.gather(1, p)
        pr_ptr.scatter_(1, selp, ptrp + step.gather(1, selp))
        update = update & (e.abs() > threshold)  # --without_same_sign: always True
        mask.scatter_(1, p, update)
        mask.scatter_(1, r, ~update)
        e = e + torch.where(update, d_p, torch.zeros_like(d_p)) - torch.where(update, d_r, torch.zeros_like(d_r))
    return mask


def near_tie_rows(wanda, sparsity, structure, rel=1e-5):
    """Rows whose Wanda cut is decided by scores within `rel` of each other: there the two forwards'
    rounding (fp32, summed in other orders) may pick the other weight, and DSnoT starts elsewhere."""
    rows, cols = wanda.shape
    if structure:
        n, m = map(int, structure.split(":"))
        s = torch.sort(wanda.reshape(rows, cols // m, m).double(), dim=2)[0]
        lo, hi = s[:, :, n - 1], s[:, :, n]
        return ((hi - lo) <= rel * hi.abs()).any(dim=1)
    k = int(cols * sparsity)
    if k == 0:
        return torch.zeros(rows, dtype=torch.bool)
    s = torch.sort(wanda.double(), dim=1)[0]
    return (s[:, k] - s[:, k - 1]) <= rel * s[:, k].abs()


def check_counts(name, got, sparsity, structure):
    """enwanda's zeros: exactly floor(in·S) per row, or N in every group of M."""
    rows, cols = got.shape
    if structure:
        n, m = map(int, structure.split(":"))
        per = got.reshape(rows, cols // m, m).sum(dim=2)
        ok = bool((per == n).all())
    else:
        per = got.sum(dim=1)
        ok = bool((per == int(cols * sparsity)).all())
    if not ok:
        print(f"MISMATCH {name}: counts per row/group not exact (min {per.min().item()}, max {per.max().item()})")
    return ok


def cmd_dsnot(args):
    cfg, w = load_model(args.model)
    model = Llama(cfg, w)
    _, pruned = load_model(args.pruned)
    tokens = torch.from_numpy(np.load(args.tokens)).long()
    inps = [model.embed(tokens[n:n + 1]) for n in range(tokens.shape[0])]
    wanda_args = SimpleNamespace(method="wanda")
    bad, total, swapped, undecided, rows = 0, 0, 0, 0, 0
    for i in range(cfg["num_hidden_layers"]):
        stats = {k: RunningStats() for k in INPUTS}
        moments = {k: Moments() for k in INPUTS}

        def observe(which, t):
            stats[which].add(t)
            moments[which].add(t)
        with torch.no_grad():
            for x in inps:
                model.layer(i, x, hook=observe)  # one sequence per forward
            for name in LINEARS:
                key = f"model.layers.{i}.{name}.weight"
                W = model.lw(i, name)
                src = INPUT_OF[name]
                wanda = W.abs() * scale(wanda_args, stats[src])[None, :]
                d = W.double() * moments[src].sum[None, :]
                attention = name.startswith("self_attn")
                refine = args.skip == "none" or (args.skip == "mlp") == attention
                mask = dsnot_mask(W, wanda, d, moments[src].var, args.sparsity, args.structure, args.cycles,
                                  args.threshold, args.pow_var, refine)
                swapped += (mask != make_mask(SimpleNamespace(structure=args.structure, method="wanda"), W, wanda,
                                              args.sparsity)).sum().item() // 2
                got = pruned[key] == 0
                decided = ~near_tie_rows(wanda, args.sparsity, args.structure)
                diff = (got != mask)[decided].sum().item()
                if diff:
                    print(f"MISMATCH {key}: {diff} of {mask.numel()} positions differ")
                ok = check_counts(key, got, args.sparsity, args.structure)
                undecided += (~decided).sum().item()
                rows += W.shape[0]
                bad += 1 if diff or not ok else 0
                total += 1
            # sequential: the next inputs from enwanda's pruned layer (no drift from rounding)
            inps = [model.layer(i, x, weights={n: pruned[f"model.layers.{i}.{n}.weight"] for n in LINEARS}) for x in inps]
    if undecided > 0.01 * rows:
        print(f"MISMATCH {undecided} of {rows} rows have a near-tie at Wanda's cut (more than 1%)")
        bad += 1
    print(f"dsnot: {total - bad}/{total} linears identical to the reference ({undecided} of {rows} rows left out: "
          f"a near-tie at Wanda's cut), counts exact; {swapped} weights swapped against Wanda's masks")
    return 1 if bad else 0


def alps_project(Z, keep, nm):
    """keep the `keep` largest Z² (topk of −Z² zeroes the rest); N:M: per output row (Zᵀ), the
    M − N largest of each group of M consecutive inputs. The published code zeroes M − N of each
    group, which is the same for 2:4 (N = M − N)."""
    if nm:
        n, m = nm
        T = Z.t().reshape(-1, m).clone()
        idx = torch.topk(-T ** 2, n, dim=1)[1]
        T.scatter_(1, idx, 0)
        return T.reshape(Z.shape[1], Z.shape[0]).t()
    flat = Z.reshape(-1).clone()
    idx = torch.topk(-flat ** 2, flat.numel() - keep)[1]
    flat[idx] = 0
    return flat.reshape(Z.shape)


def alps_prune(W, XtX, sp, nm, rho=0.1, max_iter=300, update_iter=3, switch_iter=30):
    """ALPS_admm in fp64; returns the pruned weight [out, in]."""
    W = W.double()
    XtX = XtX.clone().double()
    XtX[range(XtX.shape[0]), range(XtX.shape[0])] += 0.01 * torch.mean(torch.diag(XtX)).item()
    X_norm = torch.diag(XtX).sqrt() + 1e-8
    XtX = XtX / X_norm
    XtX = (XtX.T / X_norm).T
    YtX = torch.matmul(W * X_norm, XtX)
    B = (W * X_norm).t().clone()
    B_orig = B.clone()
    V = torch.zeros_like(B)
    L, Q = torch.linalg.eigh(XtX)
    XTX_inv = Q @ ((1 / (L + rho)) * Q).T
    k_spar = B.numel() * (nm[1] - nm[0]) // nm[1] if nm else int(np.round((1 - sp) * B.numel()))
    D = alps_project(B, k_spar, nm)
    D_suppp = (D == 0).double()
    D_init = D.clone()
    init_rho = False
    for i_admm in range(max_iter):
        B = XTX_inv @ (YtX.T - V + rho * D)
        D = alps_project((V + rho * B) / rho, k_spar, nm)
        V = V + rho * (B - D)
        if (i_admm + 1) % update_iter == 0:
            D_supp = (D == 0).double()
            supp_change = torch.sum((D_supp - D_suppp) ** 2)
            if supp_change / k_spar > 0.1:
                init_rho = True
                rho *= 1.3
            elif supp_change / k_spar > 0.005:
                init_rho = True
                rho *= 1.2
            elif supp_change > 0.5:
                if init_rho:
                    rho *= 1.1
                else:
                    rho /= 5
                    B, D, V = B_orig.clone(), D_init.clone(), torch.zeros_like(B)
            else:
                if init_rho:
                    break
                rho /= 5
            D_suppp = D_supp.clone()
            rho = min(rho, 1e6)
            XTX_inv = Q @ ((1 / (L + rho)) * Q).T
            if i_admm >= switch_iter and supp_change / k_spar < 0.0003:
                break
    B = alps_project(B, k_spar, nm)
    B = cg(XtX, YtX.T, (B != 0).double(), B, rtol=1e-4, maxiter=10)
    return (B.t() / X_norm)


def cg(A, Bm, supp, X0, rtol, maxiter):
    """cg_batch without a preconditioner: the residual restricted to the support."""
    X = X0
    R = (Bm - A @ X) * supp
    P = torch.zeros_like(R)
    R1 = R
    B_norm = torch.norm(Bm, dim=1)
    for k in range(1, maxiter + 1):
        if k == 1:
            P, R1, X1 = R, R, X
        else:
            R2, P1, R1, X1 = R1, P, R, X
            den = (R2 * R2).sum(0)
            den[den == 0] = 1e-8
            P = R1 + ((R1 * R1).sum(0) / den).unsqueeze(0) * P1
        den = (P * (A @ P)).sum(0)
        den[den == 0] = 1e-8
        alpha = (R1 * R1).sum(0) / den
        X = X1 + alpha.unsqueeze(0) * P
        R = (R1 - alpha.unsqueeze(0) * (A @ P)) * supp
        if (torch.norm(A @ X - Bm, dim=1) <= rtol * B_norm).all():
            print(f"note: cg_batch's stopping test met after {k} steps")
            break
    return X


def rel_error(W, Wp, H):
    dW = (W - Wp).double()
    return (torch.trace(dW @ H @ dW.t()) / torch.trace(W.double() @ H @ W.double().t())).item()


def cmd_alps(args):
    cfg, w = load_model(args.model)
    model = Llama(cfg, w)
    _, pruned = load_model(args.pruned)
    tokens = torch.from_numpy(np.load(args.tokens)).long()
    inps = [model.embed(tokens[n:n + 1]) for n in range(tokens.shape[0])]
    nm = tuple(map(int, args.structure.split(":"))) if args.structure else None
    margs = SimpleNamespace(structure=args.structure, method="wanda")
    bad, total, worst_mask, worst_err = 0, 0, 1.0, 0.0
    for i in range(cfg["num_hidden_layers"]):
        stats = {k: RunningStats() for k in INPUTS}
        grams = {k: RunningGram() for k in INPUTS}

        def observe(which, t):
            stats[which].add(t)
            grams[which].add(t)
        with torch.no_grad():
            for x in inps:
                model.layer(i, x, hook=observe)
            ours = {}
            for name in LINEARS:
                key = f"model.layers.{i}.{name}.weight"
                W, H = model.lw(i, name), grams[INPUT_OF[name]].H
                ref = alps_prune(W, H, args.sparsity, nm, args.rho, args.iters)
                got = pruned[key].double()
                ours[name] = pruned[key]
                same = ((got == 0) == (ref == 0)).double().mean().item()
                e_got, e_ref = rel_error(W, got, H), rel_error(W, ref, H)
                e_sgpt = rel_error(W, sparsegpt_prune(W, H, args.sparsity, args.structure, 128, 0.01), H)
                wanda = W.clone()
                wanda[make_mask(margs, W, W.abs() * scale(margs, stats[INPUT_OF[name]])[None, :], args.sparsity)] = 0
                e_wanda = rel_error(W, wanda, H)
                line = (f"{key}: masks {same:.4f} equal, error {e_got:.5f} (reference {e_ref:.5f}, "
                        f"SparseGPT {e_sgpt:.5f}, Wanda {e_wanda:.5f})")
                ok = same >= 0.99 and abs(e_got - e_ref) <= 0.01 * e_ref and e_got < e_sgpt and e_got < e_wanda
                ok = ok and check_counts(key, got == 0, args.sparsity, args.structure) if nm else ok
                if not ok:
                    print("MISMATCH " + line)
                elif args.verbose:
                    print(line)
                worst_mask, worst_err = min(worst_mask, same), max(worst_err, abs(e_got - e_ref) / e_ref)
                bad += 0 if ok else 1
                total += 1
            inps = [model.layer(i, x, weights=ours) for x in inps]  # enwanda's pruned layer feeds the next
    print(f"alps: {total - bad}/{total} linears agree (masks >= {worst_mask:.4f} equal, errors within "
          f"{100 * worst_err:.3f}% of the reference's, below SparseGPT's and Wanda's)")
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["dsnot", "alps"])
    ap.add_argument("--model", required=True)
    ap.add_argument("--tokens", required=True)
    ap.add_argument("--pruned", required=True)
    ap.add_argument("--sparsity", type=float, default=0.5)
    ap.add_argument("--structure", default="")
    ap.add_argument("--cycles", type=int, default=50)
    ap.add_argument("--threshold", type=float, default=0.1)
    ap.add_argument("--pow-var", type=float, default=1.0)
    ap.add_argument("--skip", default="mlp", choices=["mlp", "attention", "none"])
    ap.add_argument("--rho", type=float, default=0.1)
    ap.add_argument("--iters", type=int, default=300)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if args.structure:
        n, m = map(int, args.structure.split(":"))
        args.sparsity = n / m
    return cmd_dsnot(args) if args.command == "dsnot" else cmd_alps(args)


if __name__ == "__main__":
    sys.exit(main())
