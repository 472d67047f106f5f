// Zero-shot accuracy by log-likelihood, as lm-evaluation-harness scores multiple choice:
// for each example and each choice, the summed log-probability of the continuation tokens
// given the context; prediction = argmax. Tokenisation follows lm-eval for SentencePiece
// models: trailing spaces of the context move to the continuation, context+continuation is
// encoded whole, and the continuation's tokens are the tail beyond the context's own encoding.
// BOS is prepended to every sequence (HF LlamaTokenizer's default, and lm-eval's since its PR #3347
// delegated BOS to the tokenizer); with `bos` false nothing is prepended, as older lm-eval (the 0.3
// harness of the Wanda code, 0.4 before that PR) encodes LLaMA. An empty context is BOS alone in both.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "enwanda/tokenizer.h"

namespace enwanda {

struct Example {
  std::string context;
  std::vector<std::string> continuations;  // with the " " delimiter already prepended
  std::vector<std::string> choice_texts;   // without it (acc_norm divides by their byte length)
  int64_t label = 0;
};

// Task parsers. boolq: passage, question, label|answer. hellaswag: ctx_a, ctx_b, activity_label,
// endings, label. mc: {"context", "choices", "label"}, or {"text", "label"} with `templ`
// ("...{text}...") and `choices`.
Example boolq_example(const nlohmann::json& doc);
Example hellaswag_example(const nlohmann::json& doc);
Example mc_example(const nlohmann::json& doc, const std::string& templ, const std::vector<std::string>& choices);
std::string hellaswag_preprocess(const std::string& text);

struct TaskSpec {
  std::string task;  // boolq|hellaswag|mc
  std::string data;  // jsonl path
  std::string templ;
  std::vector<std::string> choices;
};
std::vector<Example> load_task(const TaskSpec& spec, int64_t limit);

// (context tokens, continuation tokens) the lm-eval way.
std::pair<std::vector<int64_t>, std::vector<int64_t>> encode_pair(const Tokenizer& tok, std::string context,
                                                                  std::string continuation, bool bos);

struct ZeroShotOptions {
  std::string model_dir;
  std::vector<TaskSpec> tasks;
  int64_t limit = 0;  // 0: all examples
  bool bos = true;    // false: --no-bos
  std::string device = "auto";
  std::string dtype = "auto";
  int64_t batch_size = 0;
  int threads = 0;
};

// {"model": dir, "bos": bool,
//  "tasks": {name: {acc, acc_stderr, [acc_norm, acc_norm_stderr], n, examples: [{logliks, label}]}},
//  "macro_acc": ...}
nlohmann::json evaluate_zeroshot(const ZeroShotOptions& opt);

}  // namespace enwanda
