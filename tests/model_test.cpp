// The LLaMA forward: GQA equals MHA with duplicated k/v heads; zeroed linears leave only the
// embedding and head; perplexity windows and slices; streaming groups do not change results
// and report their progress; a freed block of the heap's top is kept for the next allocation.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdlib>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "enwanda/eval/perplexity.h"
#include "enwanda/model/checkpoint.h"
#include "enwanda/model/device_memory.h"
#include "enwanda/model/llama_model.h"
#include "enwanda/model/runtime.h"
#include "enwanda/progress_log.h"
#include "enwanda/prune/activation_stats.h"
#include "test_util.h"

using namespace enwanda;

namespace {
LlamaConfig small_config(int64_t kv_heads) {
  return LlamaConfig::from_json({{"model_type", "llama"}, {"hidden_size", 32}, {"intermediate_size", 48},
                                 {"num_hidden_layers", 1}, {"num_attention_heads", 4}, {"num_key_value_heads", kv_heads},
                                 {"vocab_size", 10}},
                                "test");
}
LayerWeights random_layer(const LlamaConfig& c) {
  LayerWeights w;
  w.input_norm = torch::rand({c.hidden_size}) + 0.5;
  w.post_norm = torch::rand({c.hidden_size}) + 0.5;
  w.linears = {torch::randn({c.q_dim(), c.hidden_size}) * 0.2, torch::randn({c.kv_dim(), c.hidden_size}) * 0.2,
               torch::randn({c.kv_dim(), c.hidden_size}) * 0.2, torch::randn({c.hidden_size, c.q_dim()}) * 0.2,
               torch::randn({c.intermediate_size, c.hidden_size}) * 0.2, torch::randn({c.intermediate_size, c.hidden_size}) * 0.2,
               torch::randn({c.hidden_size, c.intermediate_size}) * 0.2};
  return w;
}
}  // namespace

TEST(LlamaLayer, GqaEqualsMhaWithRepeatedKvHeads) {
  torch::manual_seed(0);
  auto gqa = small_config(2), mha = small_config(4);
  auto w = random_layer(gqa);
  LayerWeights w_mha = w;
  const int64_t d = gqa.head_dim;
  // kv head h serves query heads 2h and 2h+1: duplicate its rows in that order
  auto dup = [&](const torch::Tensor& t) {
    return t.view({2, 1, d, -1}).expand({2, 2, d, t.size(1)}).reshape({4 * d, t.size(1)});
  };
  w_mha.linears[1] = dup(w.linears[1]);
  w_mha.linears[2] = dup(w.linears[2]);
  Runtime rt;
  auto x = torch::randn({2, 9, 32});
  auto a = layer_forward(w, x, make_rotary_tables(gqa, 9, rt), gqa);
  auto b = layer_forward(w_mha, x, make_rotary_tables(mha, 9, rt), mha);
  EXPECT_TRUE(fixtures::check_tensor(a, b, 1e-5, 1e-6, "gqa vs mha"));
}

TEST(LlamaLayer, CausalPrefixIsIndependentOfLaterTokens) {
  torch::manual_seed(1);
  auto c = small_config(2);
  auto w = random_layer(c);
  Runtime rt;
  auto x = torch::randn({1, 12, 32});
  auto full = layer_forward(w, x, make_rotary_tables(c, 12, rt), c);
  auto prefix = layer_forward(w, x.slice(1, 0, 5), make_rotary_tables(c, 5, rt), c);
  EXPECT_TRUE(fixtures::check_tensor(full.slice(1, 0, 5), prefix, 1e-5, 1e-6, "causal prefix"));
}

TEST(LlamaLayer, BlockedCausalAttentionEqualsTheWholeMaskedSoftmax) {
  auto q = torch::randn({2, 4, 13, 8}, torch::kFloat64), k = torch::randn({2, 4, 13, 8}, torch::kFloat64);
  auto v = torch::randn({2, 4, 13, 8}, torch::kFloat64);
  // the textbook form: all T x T scores, the future masked
  auto textbook = [](const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
    auto scores = torch::matmul(q, k.transpose(2, 3)) / std::sqrt(8.0);
    scores = scores.masked_fill(torch::ones({13, 13}, torch::kBool).triu(1), -std::numeric_limits<double>::infinity());
    return torch::matmul(torch::softmax(scores, -1), v);
  };
  auto expected = textbook(q, k, v);
  for (int64_t block : {1, 4, 5, 13, 256})  // 5: a last block shorter than the others
    EXPECT_TRUE(fixtures::check_tensor(causal_attention(q, k, v, 0, block), expected, 1e-12, 1e-12,
                                       "query block " + std::to_string(block)));
  // and the same gradients (Wanda++ differentiates through it)
  auto grads = [&](bool blocked) {
    auto qg = q.clone().requires_grad_(), kg = k.clone().requires_grad_(), vg = v.clone().requires_grad_();
    auto out = blocked ? causal_attention(qg, kg, vg, 0, 5) : textbook(qg, kg, vg);
    return torch::autograd::grad({out.pow(2).sum()}, {qg, kg, vg});
  };
  auto blocked = grads(true), whole = grads(false);
  for (size_t i = 0; i < 3; ++i)
    EXPECT_TRUE(fixtures::check_tensor(blocked[i], whole[i], 1e-10, 1e-12, "gradient " + std::to_string(i)));
}

// Gemma2's eager_attention_forward: scores times the query scale, capped by tanh, then the causal
// and sliding mask; blocked as the plain attention is.
TEST(LlamaLayer, ScaledCappedSlidingAttentionEqualsTheTextbookForm) {
  auto q = torch::randn({1, 2, 11, 8}, torch::kFloat64) * 3, k = torch::randn({1, 2, 11, 8}, torch::kFloat64) * 3;
  auto v = torch::randn({1, 2, 11, 8}, torch::kFloat64);
  const double scale = 0.4, cap = 2.0;
  const int64_t window = 3;
  auto scores = torch::tanh(torch::matmul(q, k.transpose(2, 3)) * scale / cap) * cap;
  auto ones = torch::ones({11, 11}, torch::kBool);
  scores = scores.masked_fill(ones.triu(1).logical_or(ones.tril(-window)), -std::numeric_limits<double>::infinity());
  auto expected = torch::matmul(torch::softmax(scores, -1), v);
  for (int64_t block : {1, 4, 11})
    EXPECT_TRUE(fixtures::check_tensor(causal_attention(q, k, v, window, block, scale, cap), expected, 1e-12, 1e-12,
                                       "query block " + std::to_string(block)));
  // the cap acts: without it the output differs
  EXPECT_FALSE(torch::allclose(causal_attention(q, k, v, window, 4, scale, 0.0), expected, 1e-6, 1e-6));
}

// Gemma2RMSNorm: x̂·(1 + w) with both in fp32, cast at the end (LLaMA's casts x̂ before scaling).
TEST(LlamaLayer, GemmaNormScalesByOnePlusWeightInFp32) {
  auto c = LlamaConfig::from_json({{"model_type", "gemma2"}, {"hidden_size", 32}, {"intermediate_size", 48},
                                   {"num_hidden_layers", 1}, {"num_attention_heads", 4}, {"vocab_size", 10}},
                                  "test");
  auto x = torch::randn({3, 32}, torch::kFloat64), w = torch::randn({32}, torch::kFloat64) * 0.1;
  auto xhat = x / torch::sqrt(x.pow(2).mean(-1, true) + c.rms_norm_eps);
  EXPECT_TRUE(fixtures::check_tensor(apply_norm(x, w, c), xhat * (1 + w), 1e-12, 1e-12, "fp64"));
  auto xb = x.to(torch::kBFloat16), wb = w.to(torch::kBFloat16);
  auto hb = xb.to(torch::kFloat32) * torch::rsqrt(xb.to(torch::kFloat32).pow(2).mean(-1, true) + c.rms_norm_eps);
  EXPECT_TRUE(torch::equal(apply_norm(xb, wb, c), (hb * (1 + wb.to(torch::kFloat32))).to(torch::kBFloat16)));
}

TEST(LlamaModel, ZeroedLinearsLeaveEmbeddingAndHead) {
  auto ck = Checkpoint::open(fixtures::tiny_checkpoint());
  Runtime rt;
  LlamaModel model(ck, rt);
  const auto& c = ck->config();
  auto tokens = torch::randint(3, c.vocab_size, {2, 10}, torch::kInt64);
  auto h = model.embed(tokens);
  auto w = model.layer(0);
  for (auto& l : w.linears) l.zero_();
  auto out = model.forward_layer(w, h);
  EXPECT_TRUE(torch::equal(out, h));  // residual only
  // head by hand: RMSNorm (weights are ones) then lm_head, log-softmax
  auto normed = h * torch::rsqrt(h.pow(2).mean(-1, true) + c.rms_norm_eps);
  auto log_probs = torch::log_softmax(torch::matmul(normed, ck->tensor("lm_head.weight").t()), -1);
  // every other position asked for
  auto targets = torch::randint(0, c.vocab_size, {2, 10}, torch::kInt64);
  targets.slice(1, 1, 10, 2).fill_(-1);
  auto expected = log_probs.gather(-1, targets.clamp_min(0).unsqueeze(-1)).squeeze(-1) * (targets >= 0);
  EXPECT_TRUE(fixtures::check_tensor(model.target_log_probs(out, targets), expected, 1e-5, 1e-5, "zeroed model log-probs"));
}

// lm-eval's is_greedy: the target is torch's argmax of the logits (the first index on a tie), only where asked
TEST(LlamaModel, GreedyIsTheArgmaxOfTheLogitsFirstOnTies) {
  auto ck = Checkpoint::open(fixtures::tiny_checkpoint());
  Runtime rt;
  rt.logits_budget_bytes = ck->config().vocab_size * 4 * 2 * 3;  // three positions a head chunk
  LlamaModel model(ck, rt);
  const auto& c = ck->config();
  auto h = model.embed(torch::randint(3, c.vocab_size, {2, 10}, torch::kInt64));
  auto normed = h * torch::rsqrt(h.pow(2).mean(-1, true) + c.rms_norm_eps);
  auto argmax = torch::matmul(normed, ck->tensor("lm_head.weight").t()).argmax(-1);  // [2, 10]
  auto targets = torch::randint(0, c.vocab_size, {2, 10}, torch::kInt64);
  targets.slice(1, 0, 10, 3).copy_(argmax.slice(1, 0, 10, 3));  // these are greedy
  targets.index_put_({0, 4}, -1);                                // not asked
  torch::Tensor greedy;
  model.target_log_probs(h, targets, &greedy);
  EXPECT_TRUE(torch::equal(greedy, (targets == argmax) & (targets >= 0)));
  EXPECT_EQ(greedy.sum().item<int64_t>(), ((targets == argmax) & (targets >= 0)).sum().item<int64_t>());
  EXPECT_GE(greedy.sum().item<int64_t>(), 7);
  // a zero hidden state: every logit 0, all tied, so token 0 is the greedy one and token 1 is not
  auto zero = torch::zeros_like(h);
  auto ties = torch::zeros({2, 10}, torch::kInt64);
  ties.select(0, 1).fill_(1);
  model.target_log_probs(zero, ties, &greedy);
  EXPECT_TRUE(greedy.select(0, 0).all().item<bool>());
  EXPECT_FALSE(greedy.select(0, 1).any().item<bool>());
}

TEST(LlamaModel, GroupingBatchingAndHeadChunksDoNotChangeLogProbs) {
  auto ck = Checkpoint::open(fixtures::tiny_checkpoint());
  auto tokens = torch::randint(3, ck->config().vocab_size, {5, 16}, torch::kInt64);
  auto targets = torch::randint(0, ck->config().vocab_size, {5, 16}, torch::kInt64);
  targets.index_put_({torch::rand({5, 16}) < 0.3}, -1);
  Runtime one;
  Runtime small = one;
  small.batch_size = 2;
  small.activation_budget_bytes = 1;  // forces groups of batch_size rows
  small.logits_budget_bytes = 1;      // the head one position at a time
  std::vector<torch::Tensor> a, b;
  std::vector<double> progress;
  LlamaModel(ck, one).for_each_target_log_probs(tokens, targets, [&](int64_t, const torch::Tensor& lp) { a.push_back(lp); });
  LlamaModel(ck, small).for_each_target_log_probs(
      tokens, targets, [&](int64_t, const torch::Tensor& lp) { b.push_back(lp); },
      [&](double done) { progress.push_back(done); });
  auto whole = torch::cat(a);
  EXPECT_TRUE(fixtures::check_tensor(whole, torch::cat(b), 1e-5, 1e-6, "grouped vs whole"));
  EXPECT_TRUE(torch::equal(whole.eq(0), targets.lt(0)));  // zero exactly where not asked
  // groups of 2, 2 and 1 rows through 2 layers: each layer pass adds its rows' share
  const std::vector<double> expected{0.2, 0.4, 0.6, 0.8, 0.9, 1.0};
  ASSERT_EQ(progress.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(progress[i], expected[i], 1e-12) << "update " << i;
}

TEST(ProgressLog, LogsPercentAndTimeLeftAtMostEveryInterval) {
  auto sink = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(16);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("progress-test", sink));
  sink->set_pattern("%v");
  ProgressLog every("perplexity", 0.0);
  every.update(0.25);
  every.update(1.0);
  ProgressLog hourly("boolq", 3600.0);
  hourly.update(0.5);
  spdlog::set_default_logger(previous);
  auto lines = sink->last_formatted();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].rfind("perplexity: 25%, ", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find(" s left"), std::string::npos) << lines[0];
  EXPECT_EQ(lines[1].rfind("perplexity: 100%, ", 0), 0u) << lines[1];
  EXPECT_EQ(lines[1].find("left"), std::string::npos) << lines[1];
  EXPECT_EQ(format_duration(45.2), "45 s");
  EXPECT_EQ(format_duration(1260), "21 min");
  EXPECT_EQ(format_duration(8280), "2.3 h");
}

TEST(LlamaModel, InPlaceAndObservingPassesMatchTheCopyingPass) {
  auto ck = Checkpoint::open(fixtures::tiny_checkpoint());
  Runtime rt;
  rt.batch_size = 2;  // 5 sequences: micro-batches 2, 2, 1
  LlamaModel model(ck, rt);
  auto h = model.embed(torch::randint(3, ck->config().vocab_size, {5, 16}, torch::kInt64));
  auto w = model.layer(0);
  ActivationStats copied, observed, in_place;
  InputObserver c = copied.observer(), o = observed.observer(), p = in_place.observer();
  auto expected = model.forward_layer(w, h, &c);
  model.observe_layer(w, h, o);
  auto h2 = h.clone();
  model.forward_layer_in_place(w, h2, &p);
  EXPECT_TRUE(torch::equal(h2, expected));
  for (int j = 0; j < kNumLinearInputs; ++j) {
    auto which = static_cast<LinearInput>(j);
    auto ref = copied.channel_stats(which, StatNorm::sequences);
    for (auto* s : {&observed, &in_place}) {
      auto got = s->channel_stats(which, StatNorm::sequences);
      EXPECT_TRUE(torch::equal(got.l1, ref.l1) && torch::equal(got.l2sq, ref.l2sq)) << "input " << j;
    }
  }
}

TEST(LlamaModel, ProgressComesAfterEveryMicroBatchNotOnlyEveryLayer) {
  // a long evaluation over few layers must not go quiet for a whole layer pass
  auto ck = Checkpoint::open(fixtures::tiny_checkpoint());
  Runtime rt;
  rt.batch_size = 2;
  rt.activation_budget_bytes = int64_t{1} << 30;  // all 6 rows in one group
  LlamaModel model(ck, rt);
  auto tokens = torch::randint(3, ck->config().vocab_size, {6, 12}, torch::kInt64);
  std::vector<double> seen;
  model.for_each_target_log_probs(tokens, tokens, [](int64_t, const torch::Tensor&) {}, [&](double f) { seen.push_back(f); });
  const int64_t layers = ck->config().num_hidden_layers;
  ASSERT_EQ(seen.size(), static_cast<size_t>(3 * layers));  // 3 micro-batches per layer
  for (size_t k = 0; k < seen.size(); ++k) EXPECT_NEAR(seen[k], static_cast<double>(k + 1) / seen.size(), 1e-12) << k;
}

TEST(DeviceMemory, MicroBatchFitsTheBudget) {
  EXPECT_EQ(micro_batch_for_budget(1000, 300, 64), 3);
  EXPECT_EQ(micro_batch_for_budget(100, 300, 64), 1);   // never below one sequence
  EXPECT_EQ(micro_batch_for_budget(1 << 30, 300, 8), 8);  // never more than there are
  auto c = LlamaConfig::from_json({{"model_type", "llama"}, {"hidden_size", 4096}, {"intermediate_size", 11008},
                                   {"num_hidden_layers", 32}, {"num_attention_heads", 32}, {"vocab_size", 32000}},
                                  "7b");
  const int64_t fused = layer_workspace_bytes_per_sequence(c, 2048, torch::kFloat16, true);
  const int64_t unfused = layer_workspace_bytes_per_sequence(c, 2048, torch::kFloat16, false);
  // at least the SwiGLU intermediates (4 x T x I halves), and the unfused scores add 3 x fp32 heads x T x T
  EXPECT_GE(fused, int64_t(4) * 2048 * 11008 * 2);
  EXPECT_EQ(unfused - fused, int64_t(3) * 4 * 32 * 2048 * 2048);
  auto cpu = device_memory(torch::kCPU);
  EXPECT_GT(cpu.free_bytes, 0);
  EXPECT_GE(cpu.total_bytes, cpu.free_bytes);
}

TEST(Perplexity, SliceIndicesAreTheDocumentedWindows) {
  EXPECT_EQ(slice_indices(100, 7), (std::vector<int64_t>{0, 17, 33, 50, 66, 83, 99}));
  EXPECT_EQ(slice_indices(10, 1), (std::vector<int64_t>{0}));
  EXPECT_EQ(slice_indices(3, 7), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(slice_indices(5, 0).size(), 5u);
}

// With the mapping threshold fixed, glibc's trim threshold stayed at 128 KiB and the heap's top went
// back to the system after every free: the next tensor of that size faulted all its pages in again.
TEST(Runtime, FreedHeapTopIsKeptForTheNextAllocation) {
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") || std::getenv("MALLOC_TRIM_THRESHOLD_"))
    GTEST_SKIP() << "glibc's thresholds are set in the environment";
  map_large_allocations();
  constexpr size_t bytes = 1 << 20, page = 4096;  // below the 2 MiB mapping threshold: from the heap
  auto minor_faults = [] {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_minflt;
  };
  auto touch_and_free = [&] {
    auto* block = static_cast<volatile char*>(std::malloc(bytes));
    ASSERT_NE(block, nullptr);
    for (size_t i = 0; i < bytes; i += page) block[i] = 1;
    std::free(const_cast<char*>(block));
  };
  touch_and_free();
  const long before = minor_faults();
  constexpr int rounds = 50;
  for (int r = 0; r < rounds; ++r) touch_and_free();
  // handed back each time, every round would fault bytes / page = 256 pages in again
  EXPECT_LT(minor_faults() - before, static_cast<long>(rounds * (bytes / page) / 10));
}
