#include "enwanda/model/synth.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <filesystem>
#include <future>
#include <map>

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include "enwanda/errors.h"
#include "enwanda/io/json_text.h"
#include "enwanda/model/checkpoint.h"
#include "enwanda/io/output_directory.h"
#include "enwanda/io/replace_guard.h"
#include "enwanda/io/safetensors.h"
#include "enwanda/model/runtime.h"
#include "enwanda/text/tokenizer.h"
#include "enwanda/text/tokenizer_json_writer.h"

namespace fs = std::filesystem;

namespace enwanda {

namespace {
LlamaConfig make(int64_t hidden, int64_t inter, int64_t layers, int64_t heads, int64_t kv, int64_t vocab, int64_t max_pos,
                 double eps, double theta) {
  LlamaConfig c;
  c.hidden_size = hidden;
  c.intermediate_size = inter;
  c.num_hidden_layers = layers;
  c.num_attention_heads = heads;
  c.num_key_value_heads = kv;
  c.head_dim = hidden / heads;
  c.vocab_size = vocab;
  c.max_position_embeddings = max_pos;
  c.rms_norm_eps = eps;
  c.rope_theta = theta;
  return c;
}

uint64_t tensor_seed(uint64_t seed, const std::string& name) {  // FNV-1a of the name, mixed with the seed
  uint64_t h = 1469598103934665603ull ^ (seed * 0x9E3779B97F4A7C15ull);
  for (unsigned char ch : name) h = (h ^ ch) * 1099511628211ull;
  return h & 0x7fffffffffffffffull;
}
}  // namespace

namespace {
struct Shape {
  const char* name;
  const char* family;
  int64_t hidden, inter, layers, heads, kv, head_dim, vocab, max_pos;
  double eps, theta;
  bool tied;
  double llama3_factor;  // 0: no rope_scaling
  int64_t window;        // sliding window of every layer (mistral, qwen with use_sliding_window); 0: none
  bool bias;             // llama: attention_bias and mlp_bias
  const char* tokenizer; // "spm": a trained tokenizer.model; else a tokenizer.json of that family
};
// Published configs of each family, and tiny ones of the same families for tests (a vocab of 0 is
// the trained tokenizer's size).
const Shape kShapes[] = {
    {"tiny", "llama", 64, 176, 2, 4, 2, 16, 0, 512, 1e-5, 10000.0, false, 0, 0, false, "spm"},
    {"tiny-llama-bias", "llama", 64, 176, 2, 4, 2, 16, 0, 512, 1e-5, 10000.0, false, 0, 0, true, "spm"},
    {"tiny-mistral", "mistral", 64, 176, 2, 4, 2, 16, 0, 512, 1e-5, 10000.0, false, 0, 16, false, "spm"},
    {"tiny-qwen2", "qwen2", 64, 176, 2, 4, 2, 16, 0, 512, 1e-6, 1000000.0, true, 0, 0, false, "spm"},
    {"tiny-qwen3", "qwen3", 64, 176, 2, 4, 2, 32, 0, 512, 1e-6, 1000000.0, true, 0, 0, false, "spm"},
    {"llama2-7b", "llama", 4096, 11008, 32, 32, 32, 128, 32000, 4096, 1e-5, 10000.0, false, 0, 0, false, "spm"},
    {"llama2-13b", "llama", 5120, 13824, 40, 40, 40, 128, 32000, 4096, 1e-5, 10000.0, false, 0, 0, false, "spm"},
    {"llama2-70b", "llama", 8192, 28672, 80, 64, 8, 128, 32000, 4096, 1e-5, 10000.0, false, 0, 0, false, "spm"},
    {"llama3-8b", "llama", 4096, 14336, 32, 32, 8, 128, 128256, 8192, 1e-5, 500000.0, false, 0, 0, false, "llama3"},
    {"llama3.1-8b", "llama", 4096, 14336, 32, 32, 8, 128, 128256, 131072, 1e-5, 500000.0, false, 8.0, 0, false, "llama3"},
    {"llama3.2-1b", "llama", 2048, 8192, 16, 32, 8, 64, 128256, 131072, 1e-5, 500000.0, true, 32.0, 0, false, "llama3"},
    {"smollm2-135m", "llama", 576, 1536, 30, 9, 3, 64, 49152, 8192, 1e-5, 100000.0, true, 0, 0, false, "smollm"},
    {"mistral-7b", "mistral", 4096, 14336, 32, 32, 8, 128, 32000, 32768, 1e-5, 10000.0, false, 0, 4096, false, "spm"},
    {"qwen2.5-7b", "qwen2", 3584, 18944, 28, 28, 4, 128, 152064, 131072, 1e-6, 1000000.0, false, 0, 0, false, "qwen"},
    {"qwen3-8b", "qwen3", 4096, 12288, 36, 32, 8, 128, 151936, 40960, 1e-6, 1000000.0, false, 0, 0, false, "qwen"},
    // Gemma (their caps, scales and RoPE bases in kGemmaShapes; the window on the family's sliding layers)
    {"tiny-gemma2", "gemma2", 64, 176, 2, 4, 2, 16, 0, 512, 1e-6, 10000.0, true, 0, 16, false, "spm"},
    {"tiny-gemma3", "gemma3_text", 64, 176, 2, 4, 2, 16, 0, 512, 1e-6, 1000000.0, true, 0, 16, false, "spm"},
    {"gemma-2-2b", "gemma2", 2304, 9216, 26, 8, 4, 256, 256000, 8192, 1e-6, 10000.0, true, 0, 4096, false, "spm"},
    {"gemma-2-9b", "gemma2", 3584, 14336, 42, 16, 8, 256, 256000, 8192, 1e-6, 10000.0, true, 0, 4096, false, "spm"},
    {"gemma-3-4b", "gemma3_text", 2560, 10240, 34, 8, 4, 256, 262208, 131072, 1e-6, 1000000.0, true, 0, 1024, false, "spm"},
    // mixtures of experts (their experts in kMoeShapes)
    {"tiny-mixtral", "mixtral", 64, 96, 2, 4, 2, 16, 0, 512, 1e-5, 1000000.0, false, 0, 0, false, "spm"},
    {"tiny-qwen2-moe", "qwen2_moe", 64, 176, 2, 4, 2, 16, 0, 512, 1e-6, 1000000.0, false, 0, 0, false, "spm"},
    {"tiny-qwen3-moe", "qwen3_moe", 64, 176, 4, 4, 2, 32, 0, 512, 1e-6, 1000000.0, false, 0, 0, false, "spm"},
    {"tiny-olmoe", "olmoe", 64, 64, 2, 4, 4, 16, 0, 512, 1e-5, 10000.0, false, 0, 0, false, "spm"},
    {"mixtral-8x7b", "mixtral", 4096, 14336, 32, 32, 8, 128, 32000, 32768, 1e-5, 1000000.0, false, 0, 0, false, "spm"},
    {"qwen3-30b-a3b", "qwen3_moe", 2048, 6144, 48, 32, 4, 128, 151936, 40960, 1e-6, 1000000.0, false, 0, 0, false, "qwen"},
    {"olmoe-1b-7b", "olmoe", 2048, 1024, 16, 16, 16, 128, 50304, 4096, 1e-5, 10000.0, false, 0, 0, false, "smollm"},
    {"qwen1.5-moe-a2.7b", "qwen2_moe", 2048, 5632, 24, 16, 16, 128, 151936, 8192, 1e-6, 1000000.0, false, 0, 0, false, "qwen"},
};
// The experts of the MoE shapes (published configs, and tiny ones that exercise each feature: the
// tiny qwen3_moe has dense layers by decoder_sparse_step 2 and mlp_only_layers, the tiny olmoe a
// clip_qkv that clamps).
struct MoeShape {
  const char* name;
  int64_t experts, top_k, expert_inter, shared_inter, sparse_step;
  std::vector<int64_t> mlp_only;
  bool norm_topk;
  double clip_qkv;
};
// Gemma's caps, query scale, window pattern and local RoPE base (published configs; the tiny ones
// with caps small enough to act on random weights, a query scale apart from head_dim, and in the
// tiny gemma3 a pattern of 2, so that its two layers rotate with the two bases).
struct GemmaShape {
  const char* name;
  double attn_softcap, final_softcap, query_pre_attn_scalar;
  int64_t window_pattern;  // every window_pattern-th layer attends in full
  double rope_local_theta, linear_rope_factor;
};
const GemmaShape kGemmaShapes[] = {
    {"tiny-gemma2", 0.05, 0.2, 8, 2, 0, 0},
    {"tiny-gemma3", 0, 0, 8, 2, 10000.0, 0},
    {"gemma-2-2b", 50.0, 30.0, 256, 2, 0, 0},
    {"gemma-2-9b", 50.0, 30.0, 256, 2, 0, 0},
    {"gemma-3-4b", 0, 0, 256, 6, 10000.0, 8.0},
};
const MoeShape kMoeShapes[] = {
    {"tiny-mixtral", 4, 2, 96, 0, 1, {}, true, 0},
    {"tiny-qwen2-moe", 4, 2, 48, 96, 1, {}, false, 0},
    {"tiny-qwen3-moe", 8, 2, 32, 0, 2, {3}, true, 0},
    {"tiny-olmoe", 8, 2, 64, 0, 1, {}, false, 2.0},
    {"mixtral-8x7b", 8, 2, 14336, 0, 1, {}, true, 0},
    {"qwen3-30b-a3b", 128, 8, 768, 0, 1, {}, true, 0},
    {"olmoe-1b-7b", 64, 8, 1024, 0, 1, {}, false, 0},
    {"qwen1.5-moe-a2.7b", 60, 4, 1408, 5632, 1, {}, false, 0},
};
}  // namespace

std::string shape_names() {
  std::string names;
  for (const auto& sh : kShapes) names += std::string(names.empty() ? "" : "|") + sh.name;
  return names + "|PATH.json";
}

std::string shape_tokenizer(const std::string& shape, const LlamaConfig& c) {
  for (const auto& sh : kShapes)
    if (shape == sh.name) return sh.tokenizer;
  // Qwen and OLMoE ship no tokenizer.model
  if (c.model_type.rfind("qwen", 0) == 0) return "qwen";
  return c.model_type == "olmoe" ? "smollm" : "spm";
}

LlamaConfig shape_config(const std::string& shape) {
  if (shape.size() > 5 && shape.substr(shape.size() - 5) == ".json") return LlamaConfig::from_file(shape);
  for (const auto& sh : kShapes) {
    if (shape != sh.name) continue;
    LlamaConfig c;
    c.model_type = sh.family;
    c.hidden_size = sh.hidden;
    c.intermediate_size = sh.inter;
    c.num_hidden_layers = sh.layers;
    c.num_attention_heads = sh.heads;
    c.num_key_value_heads = sh.kv;
    c.head_dim = sh.head_dim;
    c.vocab_size = sh.vocab;
    c.max_position_embeddings = sh.max_pos;
    c.rms_norm_eps = sh.eps;
    c.rope_theta = sh.theta;
    c.tie_word_embeddings = sh.tied;
    if (sh.llama3_factor > 0) c.rope_scaling = {"llama3", sh.llama3_factor, 1.0, 4.0, 8192};
    c.layer_window.assign(static_cast<size_t>(sh.layers), sh.window);
    const ModelFamily& fam = c.family();
    for (int l = 0; l < 7; ++l)
      c.linear_bias[l] = sh.bias || (l < 3 && (fam.bias == BiasRule::qkv_always || fam.bias == BiasRule::qkv_flag));
    c.qk_norm = fam.qk_norm;
    for (const auto& m : kMoeShapes) {
      if (shape != m.name) continue;
      c.moe = {m.experts, m.top_k, m.expert_inter, m.norm_topk, m.shared_inter, m.sparse_step, m.mlp_only};
      c.clip_qkv = m.clip_qkv;
    }
    for (const auto& g : kGemmaShapes) {
      if (shape != g.name) continue;
      c.norm = fam.norm;
      c.activation = Activation::gelu_tanh;
      c.sandwich_norms = fam.sandwich_norms;
      c.scaled_embeddings = fam.scaled_embeddings;
      c.attn_softcap = g.attn_softcap, c.final_softcap = g.final_softcap;
      c.query_pre_attn_scalar = g.query_pre_attn_scalar;
      c.rope_local_theta = g.rope_local_theta;
      if (g.linear_rope_factor > 0) c.rope_scaling = {"linear", g.linear_rope_factor};
      for (int64_t i = 0; i < sh.layers; ++i)
        c.layer_window[static_cast<size_t>(i)] = (i + 1) % g.window_pattern == 0 ? 0 : sh.window;
    }
    return c;
  }
  throw UsageError("--shape must be one of " + shape_names() + ", got " + shape);
}

std::string default_tokenizer_corpus() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path installed = exe.parent_path().parent_path() / "share" / "enwanda" / "tokenizer_corpus.txt";
    if (fs::exists(installed)) return installed.string();
  }
  return std::string(ENWANDA_SOURCE_DATA_DIR) + "/tokenizer_corpus.txt";
}

void synth(const SynthOptions& opt) {
  LlamaConfig c = shape_config(opt.shape);
  const bool given_config = c.raw.is_object() && !c.raw.empty();  // --shape CONFIG.json: kept as given
  if (opt.layers > 0 && opt.layers != c.num_hidden_layers) {  // the window pattern repeated over the new count
    std::vector<int64_t> windows;
    for (int64_t i = 0; i < opt.layers; ++i) windows.push_back(c.window_of(i % c.num_hidden_layers));
    c.num_hidden_layers = opt.layers;
    c.layer_window = windows;
    if (given_config) c = LlamaConfig::from_json(c.to_json(), opt.shape);  // as transformers will read it
  }
  // --dtype, else the config's torch_dtype, else fp32
  static const std::map<std::string, std::pair<Dtype, const char*>> dtypes = {
      {"fp32", {Dtype::F32, "float32"}}, {"fp16", {Dtype::F16, "float16"}}, {"bf16", {Dtype::BF16, "bfloat16"}}};
  std::string dtype_flag = opt.dtype;
  if (dtype_flag.empty())
    dtype_flag = !given_config ? "fp32" : c.torch_dtype == "float16" ? "fp16" : c.torch_dtype == "bfloat16" ? "bf16" : "fp32";
  if (!dtypes.count(dtype_flag)) throw UsageError("--dtype must be fp32, fp16 or bf16, got " + dtype_flag);
  const Dtype dtype = dtypes.at(dtype_flag).first;
  c.torch_dtype = dtypes.at(dtype_flag).second;

  OutputDirectory out(opt.out, opt.overwrite);
  const fs::path dir = out.path();
  // tokenizer: copied, or trained on the shipped corpus: a tokenizer.model, or for the families
  // that ship none a byte-level tokenizer.json
  fs::path tok_path = dir / "tokenizer.model";
  const std::string tokenizer_kind = opt.tokenizer.empty() ? shape_tokenizer(opt.shape, c) : "spm";
  if (tokenizer_kind != "spm") {
    tok_path = dir / "tokenizer.json";
    const std::string corpus = default_tokenizer_corpus();
    if (!fs::exists(corpus)) throw InputError(corpus + ": the shipped tokenizer corpus is missing");
    write_byte_level_tokenizer_json(corpus, tok_path.string(), tokenizer_kind, 200);
  } else if (!opt.tokenizer.empty()) {
    Tokenizer::load(opt.tokenizer);  // validates
    fs::copy_file(opt.tokenizer, tok_path);
  } else {
    std::string corpus = default_tokenizer_corpus();
    if (!fs::exists(corpus)) throw InputError(corpus + ": the shipped tokenizer corpus is missing");
    Tokenizer::train(corpus, (dir / "tokenizer").string(), 512);
    fs::remove(dir / "tokenizer.vocab");
  }
  auto tok = Tokenizer::load(tok_path.string());
  if (c.vocab_size == 0) c.vocab_size = tok->vocab_size();
  if (tok->vocab_size() > c.vocab_size)
    throw UsageError("tokenizer has " + std::to_string(tok->vocab_size()) + " pieces, more than the shape's vocab_size " +
                     std::to_string(c.vocab_size));
  if (!given_config) {  // a given config keeps its own ids
    c.bos_token_id = tok->bos_id() >= 0 ? tok->bos_id() : tok->eos_id();  // Qwen: no BOS, bos_token_id = eos
    c.eos_token_id = tok->eos_id();
  }

  // tensor list in HF order
  enum class Init { normal, ones, near_one, bias, router };
  struct Spec {
    std::string name;
    std::vector<int64_t> shape;
    Init init;
  };
  std::vector<Spec> specs;
  // norms near one: w = 1, or for x̂·(1 + w) norms w ~ N(0, 0.1) (so that 1 + w is near one, and a
  // forward that used w·x̂ in its place would show); q/k norms always spread
  const bool one_plus = c.norm == NormKind::rms_one_plus;
  const Init norm_init = one_plus ? Init::bias : Init::ones, qk_norm_init = one_plus ? Init::bias : Init::near_one;
  specs.push_back({"model.embed_tokens.weight", {c.vocab_size, c.hidden_size}, Init::normal});
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    // HF's order: input norm, attention (biases, q/k norms beside), post-attention norm, MLP or router and experts
    const auto linears = layer_linears(c, i);
    auto parameter = [&](const std::string& name) {
      for (const auto& p : layer_parameters(c, i))
        if (p.suffix == name) return p;
      return LayerTensor{};
    };
    auto add_linear = [&](const LayerTensor& lin) {
      specs.push_back({layer_tensor_name(i, lin.suffix), lin.shape, Init::normal});
      const auto bias = parameter(layer_bias_name(i, lin.suffix));
      if (!bias.suffix.empty()) specs.push_back({bias.suffix, bias.shape, Init::bias});
    };
    specs.push_back({layer_tensor_name(i, "input_layernorm"), {c.hidden_size}, norm_init});
    for (size_t j = 0; j < 4; ++j) {
      add_linear(linears[j]);
      if (j == 1 && c.qk_norm != QkNorm::none)
        for (const char* norm : {"self_attn.q_norm", "self_attn.k_norm"}) {
          const auto p = parameter(layer_tensor_name(i, norm));
          specs.push_back({p.suffix, p.shape, qk_norm_init});
        }
    }
    specs.push_back({layer_tensor_name(i, "post_attention_layernorm"), {c.hidden_size}, norm_init});
    if (c.sandwich_norms) specs.push_back({layer_tensor_name(i, "pre_feedforward_layernorm"), {c.hidden_size}, norm_init});
    if (c.is_moe_layer(i)) specs.push_back({layer_tensor_name(i, router_module(c)), {c.moe.num_experts, c.hidden_size}, Init::router});
    for (size_t j = 4; j < linears.size(); ++j) add_linear(linears[j]);
    if (c.sandwich_norms) specs.push_back({layer_tensor_name(i, "post_feedforward_layernorm"), {c.hidden_size}, norm_init});
    if (c.is_moe_layer(i) && c.moe.shared_expert_intermediate_size > 0)
      specs.push_back({layer_tensor_name(i, kSharedExpertGate), {1, c.hidden_size}, Init::router});
  }
  specs.push_back({"model.norm.weight", {c.hidden_size}, norm_init});
  if (!c.tie_word_embeddings) specs.push_back({"lm_head.weight", {c.vocab_size, c.hidden_size}, Init::normal});

  // assign shards by size
  const uint64_t shard_limit = static_cast<uint64_t>(opt.shard_mib) << 20;
  std::vector<std::vector<size_t>> shards(1);
  uint64_t total = 0, in_shard = 0;
  for (size_t k = 0; k < specs.size(); ++k) {
    uint64_t bytes = dtype_size(dtype);
    for (auto d : specs[k].shape) bytes *= static_cast<uint64_t>(d);
    if (in_shard > 0 && in_shard + bytes > shard_limit) shards.emplace_back(), in_shard = 0;
    shards.back().push_back(k);
    in_shard += bytes;
    total += bytes;
  }
  require_free_space(opt.out, total);
  const size_t n_shards = shards.size();
  auto shard_name = [&](size_t s) {
    if (n_shards == 1) return std::string("model.safetensors");
    char buf[64];
    std::snprintf(buf, sizeof(buf), "model-%05zu-of-%05zu.safetensors", s + 1, n_shards);
    return std::string(buf);
  };
  // Tensors are generated on worker threads, a few ahead of the writer (a 7B checkpoint is 6.7e9
  // normal draws, and one generator is serial). Each tensor has its own seed, so the bytes do not
  // depend on which thread draws them.
  auto make_tensor = [&](size_t k) {
    const auto& sp = specs[k];
    if (sp.init == Init::ones) return torch::ones(sp.shape, torch::kFloat32).to(to_torch(dtype));
    // weights N(0, 0.02); biases N(0, 0.1) and q/k norms 1 + N(0, 0.1), so that a forward that
    // left either out (or swapped q's and k's norm) would show; routers (and the shared expert's
    // gate) N(0, 4/hidden), so that router logits spread by about 2 and routing has no near-ties
    auto gen = at::detail::createCPUGenerator(tensor_seed(opt.seed, sp.name));
    const double std = sp.init == Init::normal ? 0.02
                       : sp.init == Init::router ? 2.0 / std::sqrt(static_cast<double>(c.hidden_size))
                                                 : 0.1;
    auto t = at::normal(0.0, std, sp.shape, gen, torch::TensorOptions().dtype(torch::kFloat32));
    if (sp.init == Init::near_one) t = t + 1.0;
    return t.to(to_torch(dtype)).contiguous();
  };
  std::vector<size_t> order;
  for (const auto& shard : shards) order.insert(order.end(), shard.begin(), shard.end());
  std::deque<std::future<torch::Tensor>> pending;
  size_t launched = 0;
  auto next_tensor = [&] {
    while (launched < order.size() && pending.size() < static_cast<size_t>(worker_threads()))
      pending.push_back(std::async(std::launch::async, make_tensor, order[launched++]));
    auto t = pending.front().get();
    pending.pop_front();
    return t;
  };

  nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
  for (size_t s = 0; s < n_shards; ++s) {
    std::vector<SafetensorsWriter::Entry> entries;
    for (size_t k : shards[s]) entries.push_back({specs[k].name, dtype, specs[k].shape});
    SafetensorsWriter w((dir / shard_name(s)).string(), entries, {{"format", "pt"}, {"enwanda.synth_seed", std::to_string(opt.seed)}});
    for (size_t k : shards[s]) {
      check_interrupted();
      const auto& sp = specs[k];
      w.write(sp.name, next_tensor());
      weight_map[sp.name] = shard_name(s);
    }
    w.finish();
    spdlog::info("wrote {} ({} tensors)", shard_name(s), shards[s].size());
  }
  if (n_shards > 1) {
    nlohmann::ordered_json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
    write_text_file((dir / "model.safetensors.index.json").string(), index.dump(2) + "\n");
  }
  write_text_file((dir / "config.json").string(), c.to_json().dump(2) + "\n");
  nlohmann::json gen = {{"bos_token_id", c.bos_token_id}, {"eos_token_id", c.eos_token_id}, {"_from_model_config", true}};
  write_text_file((dir / "generation_config.json").string(), gen.dump(2) + "\n");
  // enwanda's mark (replace_guard.h): what a later synth --overwrite may replace
  std::vector<std::string> files = {kReportFile};
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path().filename().string());
  std::sort(files.begin(), files.end());
  const nlohmann::json report = {{"enwanda_version", ENWANDA_VERSION}, {"command", "synth"}, {"shape", opt.shape},
                                 {"seed", opt.seed}, {"files", files}};
  write_text_file((dir / kReportFile).string(), dump_json(report) + "\n");
  out.commit();
  spdlog::info("synthesised {}-shaped checkpoint: {} layers, {} bytes in {} shard(s) -> {}", opt.shape, c.num_hidden_layers,
               total, n_shards, opt.out);
}

}  // namespace enwanda
