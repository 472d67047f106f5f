#include "enwanda/eval/inspect.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "enwanda/model/checkpoint.h"
#include "enwanda/model/model_family.h"
#include "enwanda/prune/mask.h"
#include "enwanda/prune/reproduce.h"

namespace enwanda {

namespace {
double fraction(int64_t part, int64_t whole) { return static_cast<double>(part) / static_cast<double>(std::max<int64_t>(whole, 1)); }

// What an enwanda_report.json beside the checkpoint records: the structure ("" when none is
// recorded) and which linears of each layer were pruned (a target in "layers"[i]["linears"]; a
// linear left dense on purpose, by --targets or --ignore, has none). The N:M check looks only at
// the linears pruned: those left dense need not follow the pattern.
struct RecordedPruning {
  std::string structure;
  std::map<int64_t, std::array<bool, 7>> pruned;  // layer -> per kLinearNames; a layer not listed: all
  bool was_pruned(int64_t layer, size_t j) const {
    const auto it = pruned.find(layer);
    return it == pruned.end() || it->second[j];
  }
};

RecordedPruning recorded_pruning(const std::string& dir) {
  RecordedPruning r;
  const auto path = std::filesystem::path(dir) / "enwanda_report.json";
  if (!std::filesystem::exists(path)) return r;
  try {
    std::ifstream in(path);
    const auto report = nlohmann::json::parse(in);
    r.structure = report.at("settings").at("structure").get<std::string>();
    for (const auto& layer : report.value("layers", nlohmann::json::array())) {
      if (!layer.is_object() || !layer.contains("linears") || !layer["linears"].is_object()) continue;
      std::array<bool, 7> pruned{};
      for (size_t j = 0; j < kLinearNames.size(); ++j) {
        const auto& lin = layer["linears"].value(kLinearNames[j], nlohmann::json());
        pruned[j] = !lin.is_object() || !lin.value("target", nlohmann::json()).is_null();
      }
      r.pruned[layer.at("layer").get<int64_t>()] = pruned;
    }
  } catch (const std::exception&) {
    return RecordedPruning{};
  }
  return r;
}

// Groups of M consecutive input columns, per row, holding fewer than N zeros.
int64_t n_m_violations(const torch::Tensor& w, const Structure& s) {
  if (w.size(1) % s.m != 0) return w.size(0);  // a row that cannot be cut into groups fails as a whole
  auto zeros = w.eq(0).reshape({w.size(0), w.size(1) / s.m, s.m}).sum(-1);
  return zeros.lt(s.n).sum().item<int64_t>();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0.0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

nlohmann::json describe_config(const LlamaConfig& c) {
  const ModelFamily& fam = c.family();
  nlohmann::json biases = nlohmann::json::array(), windows = nlohmann::json::array();
  for (size_t j = 0; j < kLinearNames.size(); ++j)
    if (c.linear_bias[j]) biases.push_back(kLinearNames[j]);
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) windows.push_back(c.window_of(i));
  nlohmann::json j = {{"model_type", c.model_type}, {"architecture", fam.architecture},
                      {"hidden_size", c.hidden_size}, {"intermediate_size", c.intermediate_size},
                      {"num_hidden_layers", c.num_hidden_layers}, {"num_attention_heads", c.num_attention_heads},
                      {"num_key_value_heads", c.num_key_value_heads}, {"head_dim", c.head_dim},
                      {"vocab_size", c.vocab_size}, {"torch_dtype", c.torch_dtype},
                      {"tie_word_embeddings", c.tie_word_embeddings}, {"biases", biases}, {"sliding_window", windows},
                      {"qk_norm", c.qk_norm == QkNorm::none ? "none" : c.qk_norm == QkNorm::per_head ? "per head" : "whole projection"}};
  if (c.clip_qkv > 0) j["clip_qkv"] = c.clip_qkv;
  j["norm"] = c.norm == NormKind::rms ? "rms" : "rms (1 + w)";
  j["activation"] = c.activation == Activation::silu ? "silu" : c.activation == Activation::gelu_tanh ? "gelu_pytorch_tanh" : "gelu";
  if (c.sandwich_norms) j["sandwich_norms"] = true;
  if (c.scaled_embeddings) j["embedding_scale"] = std::sqrt(static_cast<double>(c.hidden_size));
  if (c.query_pre_attn_scalar > 0) j["query_pre_attn_scalar"] = c.query_pre_attn_scalar;
  if (c.attn_softcap > 0) j["attn_logit_softcapping"] = c.attn_softcap;
  if (c.final_softcap > 0) j["final_logit_softcapping"] = c.final_softcap;
  if (c.rope_local_theta > 0) j["rope_local_base_freq"] = c.rope_local_theta;
  if (c.is_moe()) {
    nlohmann::json moe_layers = nlohmann::json::array();
    for (int64_t i = 0; i < c.num_hidden_layers; ++i)
      if (c.is_moe_layer(i)) moe_layers.push_back(i);
    j["experts"] = {{"num_experts", c.moe.num_experts}, {"top_k", c.moe.top_k},
                    {"expert_intermediate_size", c.moe.expert_intermediate_size},
                    {"shared_expert_intermediate_size", c.moe.shared_expert_intermediate_size},
                    {"norm_topk_prob", c.moe.norm_topk_prob}, {"moe_layers", moe_layers}};
  }
  return j;
}

// "0-3, 5, 7-9"
std::string ranges(const nlohmann::json& layers) {
  std::string out;
  for (size_t a = 0; a < layers.size();) {
    size_t b = a;
    while (b + 1 < layers.size() && layers[b + 1].get<int64_t>() == layers[b].get<int64_t>() + 1) ++b;
    out += (out.empty() ? "" : ", ") + layers[a].dump() + (b > a ? "-" + layers[b].dump() : "");
    a = b + 1;
  }
  return out.empty() ? "none" : out;
}
}  // namespace

nlohmann::json inspect_checkpoint(const std::string& dir) {
  auto ck = Checkpoint::open(dir);
  const LlamaConfig& c = ck->config();
  const RecordedPruning recorded = recorded_pruning(dir);
  const std::string& structure = recorded.structure;
  const Structure nm = structure.empty() ? Structure{} : parse_structure(structure);
  int64_t violations = 0;
  nlohmann::json layers = nlohmann::json::array();
  int64_t zeros_total = 0, numel_total = 0;
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    nlohmann::json row = {{"layer", i}};
    std::vector<int64_t> expert_zeros(static_cast<size_t>(c.moe.num_experts), 0), expert_numel(expert_zeros.size(), 0);
    int64_t shared_zeros = 0, shared_numel = 0;
    const auto linears = layer_linears(c, i);
    for (size_t k = 0; k < linears.size(); ++k) {
      const auto& lin = linears[k];
      const std::string name = layer_tensor_name(i, lin.suffix);
      auto w = ck->tensor(name);
      const int64_t zeros = w.numel() - torch::count_nonzero(w).item<int64_t>();
      const size_t j = k < 4 ? k : 4 + (k - 4) % 3;  // an expert's gate, up, down as the layer's (layer_walk)
      if (nm.nm() && recorded.was_pruned(i, j)) violations += n_m_violations(w, nm);
      ck->release(name);
      zeros_total += zeros;
      numel_total += w.numel();
      const std::string prefix = c.is_moe() ? std::string(c.family().experts) + "." : "";
      if (c.is_moe_layer(i) && lin.suffix.rfind(prefix, 0) == 0) {
        const auto e = static_cast<size_t>(std::atoll(lin.suffix.c_str() + prefix.size()));
        expert_zeros[e] += zeros, expert_numel[e] += w.numel();
      } else if (lin.suffix.rfind("mlp.shared_expert.", 0) == 0) {
        shared_zeros += zeros, shared_numel += w.numel();
      } else {
        row[lin.suffix] = fraction(zeros, w.numel());
      }
    }
    if (c.is_moe_layer(i)) {  // each expert's sparsity over its three linears, summarised
      std::vector<double> per_expert;
      for (size_t e = 0; e < expert_zeros.size(); ++e) per_expert.push_back(fraction(expert_zeros[e], expert_numel[e]));
      row["experts"] = {{"min", *std::min_element(per_expert.begin(), per_expert.end())}, {"median", median(per_expert)},
                        {"max", *std::max_element(per_expert.begin(), per_expert.end())}};
      if (shared_numel > 0) row["shared_expert"] = fraction(shared_zeros, shared_numel);
    }
    layers.push_back(row);
  }
  nlohmann::json j = {{"model", dir},
                      {"config", describe_config(c)},
                      {"shards", ck->shard_names().size()},
                      {"tensors", ck->tensor_names().size()},
                      {"bytes", ck->total_bytes()},
                      {"weight_dtype", dtype_name(ck->weight_dtype())},
                      {"linear_sparsity", fraction(zeros_total, numel_total)},
                      {"pruned_by", pruned_by(dir)},
                      {"layers", layers}};
  if (nm.nm()) j["n_m_check"] = {{"pattern", structure}, {"groups_violating", violations}, {"ok", violations == 0}};
  return j;
}

std::string format_inspection(const nlohmann::json& j) {
  std::ostringstream out;
  const auto& c = j["config"];
  std::string family = c["architecture"].get<std::string>();
  family = family.substr(0, family.find("ForCausalLM"));
  out << j["model"].get<std::string>() << ": " << family << " (model_type " << c["model_type"].get<std::string>() << "), "
      << c["num_hidden_layers"] << " layers, hidden " << c["hidden_size"] << ", intermediate " << c["intermediate_size"]
      << ", heads " << c["num_attention_heads"] << " (kv " << c["num_key_value_heads"] << ", head_dim " << c["head_dim"]
      << "), vocab " << c["vocab_size"] << "\n";
  std::string biases;
  for (const auto& b : c["biases"]) biases += (biases.empty() ? "" : ", ") + b.get<std::string>();
  std::set<int64_t> windows;
  for (const auto& w : c["sliding_window"]) windows.insert(w.get<int64_t>());
  std::string window = windows.size() == 1 && *windows.begin() == 0 ? "none" : "";
  if (window.empty())
    for (size_t i = 0; i < c["sliding_window"].size(); ++i)
      window += (i ? " " : "per layer: ") + c["sliding_window"][i].dump();
  out << "attention: sliding window " << window << "; biases " << (biases.empty() ? "none" : biases) << "; q/k norm "
      << c["qk_norm"].get<std::string>() << (c.contains("clip_qkv") ? "; clip_qkv " + c["clip_qkv"].dump() : "")
      << "; tied embeddings " << (c["tie_word_embeddings"].get<bool>() ? "yes" : "no") << "\n";
  if (c.contains("experts")) {
    const auto& e = c["experts"];
    out << "experts: " << e["num_experts"] << ", top-" << e["top_k"] << (e["norm_topk_prob"].get<bool>() ? " renormalised" : "")
        << ", intermediate " << e["expert_intermediate_size"];
    if (e["shared_expert_intermediate_size"].get<int64_t>() > 0)
      out << ", shared expert intermediate " << e["shared_expert_intermediate_size"];
    out << "; MoE layers: " << ranges(e["moe_layers"]) << "\n";
  }
  out << j["tensors"] << " tensors in " << j["shards"] << " shard(s), " << j["bytes"] << " bytes, weights "
      << j["weight_dtype"].get<std::string>() << "\n";
  char buf[200];
  std::snprintf(buf, sizeof(buf), "%5s %7s %7s %7s %7s %7s %7s %7s\n", "layer", "q", "k", "v", "o", "gate", "up", "down");
  out << buf;
  for (const auto& row : j["layers"]) {
    std::snprintf(buf, sizeof(buf), "%5lld", static_cast<long long>(row["layer"].get<int64_t>()));
    out << buf;
    for (const auto& lin : kLinearNames) {
      if (!row.contains(lin)) continue;
      std::snprintf(buf, sizeof(buf), " %7.4f", row[lin].get<double>());
      out << buf;
    }
    if (row.contains("experts")) {
      const auto& e = row["experts"];
      std::snprintf(buf, sizeof(buf), "  experts min %.4f median %.4f max %.4f", e["min"].get<double>(),
                    e["median"].get<double>(), e["max"].get<double>());
      out << buf;
      if (row.contains("shared_expert")) {
        std::snprintf(buf, sizeof(buf), ", shared %.4f", row["shared_expert"].get<double>());
        out << buf;
      }
    }
    out << "\n";
  }
  std::snprintf(buf, sizeof(buf), "linear sparsity (fraction of exact zeros): %.6f\n", j["linear_sparsity"].get<double>());
  out << buf;
  if (j.contains("n_m_check")) {
    const auto& m = j["n_m_check"];
    out << m["pattern"].get<std::string>() << " pattern: "
        << (m["ok"].get<bool>() ? "every group follows it"
                                : m["groups_violating"].dump() + " groups of the linears have too few zeros")
        << "\n";
  }
  if (!j["pruned_by"].get<std::string>().empty()) out << "pruned by: " << j["pruned_by"].get<std::string>() << "\n";
  return out.str();
}

}  // namespace enwanda
