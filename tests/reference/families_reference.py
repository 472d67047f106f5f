#!/usr/bin/python3
"""Forward references for the families past LLaMA's shape, written from transformers' modeling files,
plugged into reference.py's masks and ppl commands (the pruning loop and the perplexity are
reference.py's; only the model differs).

  gemma2       models/gemma2/modeling_gemma2.py: Gemma2RMSNorm (x̂·(1 + w) in fp32, then cast), Gemma2MLP
               (act_fn = hidden_activation, gelu_pytorch_tanh), eager_attention_forward (scores ·
               query_pre_attn_scalar^-½, then attn_logit_softcapping's tanh cap, then the causal and
               sliding mask), Gemma2DecoderLayer (post_attention_layernorm on the attention output before
               the residual add, pre_/post_feedforward_layernorm around the MLP), Gemma2Model (embeddings
               times the normalizer √hidden_size in the activation dtype), Gemma2ForCausalLM
               (final_logit_softcapping); configuration_gemma2.py's defaults (layer_types: sliding on
               even layers).
  gemma3_text  models/gemma3/modeling_gemma3.py: Gemma3Attention (q_norm/k_norm, Gemma3RMSNorm over each
               head, before RoPE), Gemma3TextModel (rotary_emb_local: rope_local_base_freq and the default
               rope type on sliding layers); configuration_gemma3.py's Gemma3TextConfig defaults
               (softcaps None, sliding_window_pattern 6).

Usage: families_reference.py masks|ppl ... (reference.py's flags)
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference  # noqa: E402

LlamaBase = reference.Llama


def gemma_windows(cfg):
    """Per layer: the sliding window (0: full attention), from layer_types, else the family's default."""
    n, family = cfg["num_hidden_layers"], cfg["model_type"]
    window = cfg.get("sliding_window", 4096) or 0
    if cfg.get("layer_types") is not None:
        types = cfg["layer_types"]
    elif family == "gemma2":
        types = ["sliding_attention" if (i + 1) % 2 else "full_attention" for i in range(n)]
    else:
        pattern = cfg.get("sliding_window_pattern", 6)
        types = ["sliding_attention" if (i + 1) % pattern else "full_attention" for i in range(n)]
    return [window if t == "sliding_attention" else 0 for t in types], types


def gelu_tanh(x):
    """transformers' gelu_pytorch_tanh (PytorchGELUTanh): GELU's tanh approximation, written out."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


class Gemma(LlamaBase):
    def __init__(self, cfg, w):
        cfg = dict(cfg)
        cfg.setdefault("head_dim", 256)
        scaling = cfg.pop("rope_scaling", None) or {}  # modelled below (reference.py's has no linear)
        super().__init__(cfg, w)
        self.windows, self.types = gemma_windows(cfg)
        defaults = (50.0, 30.0) if cfg["model_type"] == "gemma2" else (None, None)
        self.attn_cap = cfg.get("attn_logit_softcapping", defaults[0])
        self.final_cap = cfg.get("final_logit_softcapping", defaults[1])
        self.scaling = cfg.get("query_pre_attn_scalar", 256) ** -0.5
        act = cfg.get("hidden_activation", "gelu_pytorch_tanh")
        if act != "gelu_pytorch_tanh":
            raise SystemExit(f"families_reference: hidden_activation {act} not modelled")
        kind = scaling.get("rope_type", scaling.get("type", "default"))
        if kind == "linear":  # _compute_linear_scaling_rope_parameters: inv_freq / factor (the global rotary only)
            self.inv_freq = self.inv_freq / scaling["factor"]
        elif kind != "default":
            raise SystemExit(f"families_reference: rope type {kind} not modelled")
        self.local_inv_freq = None
        if cfg["model_type"] == "gemma3_text":
            base = cfg.get("rope_local_base_freq", 10000.0)
            self.local_inv_freq = 1.0 / (base ** (torch.arange(0, self.hd, 2, dtype=torch.int64).float() / self.hd))

    def rmsnorm(self, x, weight):
        out = x.float() * torch.rsqrt(x.float().pow(2).mean(-1, keepdim=True) + self.eps)
        return (out * (1.0 + weight.float())).type_as(x)

    def rope_of(self, i, T):
        inv = self.local_inv_freq if self.local_inv_freq is not None and self.windows[i] else self.inv_freq
        f = torch.arange(T).float()[:, None] * inv[None, :]
        e = torch.cat([f, f], dim=-1)
        return e.cos(), e.sin()

    def attend(self, q, k, v, window):
        B, h, T, d = q.shape
        rep = h // k.shape[1]
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        s = (q @ k.transpose(-1, -2)) * self.scaling
        if self.attn_cap:
            s = torch.tanh(s / self.attn_cap) * self.attn_cap
        qpos, kpos = torch.arange(T)[:, None], torch.arange(T)[None, :]
        visible = kpos <= qpos
        if window:
            visible &= kpos > qpos - window
        s = s.masked_fill(~visible, float("-inf"))
        p = torch.softmax(s.float(), dim=-1).to(q.dtype)
        return (p @ v).transpose(1, 2).reshape(B, T, h * d)

    def layer(self, i, x, weights=None, hook=None):
        W = (lambda n: weights[n]) if weights is not None else (lambda n: self.lw(i, n))

        def lin(t, n):
            b = self.lb(i, n)
            return t @ W(n).T + (b if b is not None else 0)
        B, T, _ = x.shape
        a = self.rmsnorm(x, self.lw(i, "input_layernorm"))
        if hook: hook("qkv", a)
        q = lin(a, "self_attn.q_proj").view(B, T, self.nh, self.hd)
        k = lin(a, "self_attn.k_proj").view(B, T, self.nkv, self.hd)
        v = lin(a, "self_attn.v_proj").view(B, T, self.nkv, self.hd).transpose(1, 2)
        if self.cfg["model_type"] == "gemma3_text":
            q = self.rmsnorm(q, self.lw(i, "self_attn.q_norm"))
            k = self.rmsnorm(k, self.lw(i, "self_attn.k_norm"))
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        cos, sin = self.rope_of(i, T)
        q = q * cos + self.rot(q) * sin
        k = k * cos + self.rot(k) * sin
        o = self.attend(q, k, v, self.windows[i])
        if hook: hook("o", o)
        x = x + self.rmsnorm(lin(o, "self_attn.o_proj"), self.lw(i, "post_attention_layernorm"))
        m = self.rmsnorm(x, self.lw(i, "pre_feedforward_layernorm"))
        if hook: hook("mlp", m)
        g = gelu_tanh(lin(m, "mlp.gate_proj")) * lin(m, "mlp.up_proj")
        if hook: hook("down", g)
        return x + self.rmsnorm(lin(g, "mlp.down_proj"), self.lw(i, "post_feedforward_layernorm"))

    def embed(self, tokens):
        e = self.w["model.embed_tokens.weight"][tokens]
        return e * torch.tensor(self.h ** 0.5, dtype=e.dtype)

    def logprobs(self, x):
        head = self.w.get("lm_head.weight", self.w["model.embed_tokens.weight"])
        logits = self.rmsnorm(x, self.w["model.norm.weight"]) @ head.T
        if self.final_cap:
            logits = torch.tanh(logits / self.final_cap) * self.final_cap
        return torch.log_softmax(logits.float(), dim=-1)


FAMILIES = {"gemma2": Gemma, "gemma3_text": Gemma}


def family_model(cfg, w):
    return FAMILIES.get(cfg.get("model_type"), LlamaBase)(cfg, w)


if __name__ == "__main__":
    reference.Llama = family_model  # cmd_masks and cmd_ppl build their model through this name
    reference.main()
