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

#include "enwanda/eval/zeroshot_tasks.h"
#include "enwanda/text/tokenizer.h"

namespace enwanda {

struct TaskSpec {
  std::string task;  // a name task_definition() knows ("mmlu_<subject>" for an MMLU subject)
  std::string data;  // jsonl path
  std::string templ;                 // mc only
  std::vector<std::string> choices;  // mc only
  std::string fewshot_data;          // MMLU: the subject's dev.jsonl
  int64_t num_fewshot = 0;           // MMLU: few-shot examples before each document
};
// --task mmlu over DIR: one spec per subject of mmlu_subjects() that DIR/<subject>/test.jsonl holds
// (its dev.jsonl the few-shot source). Throws InputError when DIR holds none.
std::vector<TaskSpec> mmlu_task_specs(const std::string& dir, int64_t num_fewshot);
// The first `limit` examples (all when 0) of a task's jsonl; errors name the file, line and field.
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

// {"model": dir, "bos": bool, "groups": {mmlu, mmlu_<category>: {acc, acc_stderr, n}} when MMLU ran,
//  "tasks": {name: {acc, acc_stderr, [acc_norm, acc_norm_stderr], n, data, examples: [{logliks, label, prediction}]}},
//  "task_order": [names in the order run], "macro_acc": mean acc over the tasks,
//  "wanda7": {task: acc, ..., "mean"} when the seven tasks of the Wanda paper are all there}
// A loglikelihood task (lambada_openai) has instead acc = the share of documents whose continuation is
// the greedy one, "perplexity" = exp(-mean loglik) (lm-eval's perplexity aggregation), and
// examples [{logliks: [loglik], is_greedy}].
// acc_norm is argmax of loglik / code points of the choice text, for the tasks lm-eval reports it
// for; ties go to the first choice (numpy's argmax).
// Provenance beside the numbers: "model" and each task's "data" as absolute paths, the data's
// "data_sha256" and "data_bytes", mc's "template" and "choices", "settings" (every setting that
// changes a number) and "command" (the command line that reproduces the run).
nlohmann::json evaluate_zeroshot(const ZeroShotOptions& opt);

// One task as scored: its examples (with their records) and every choice's log-likelihood.
struct ScoredTask {
  std::string name;  // the task's key in the result ("mc", "mc_2" for a second mc)
  TaskSpec spec;
  std::vector<Example> examples;
  std::vector<std::vector<double>> logliks;  // [example][choice]
  std::vector<std::vector<bool>> greedy;     // [example][choice]: every continuation token the argmax (is_greedy)
};
struct ZeroShotRun {
  nlohmann::json result;  // evaluate_zeroshot's
  std::vector<ScoredTask> tasks;
  double seconds = 0;  // wall time of the whole run
};
ZeroShotRun run_zeroshot(const ZeroShotOptions& opt);

// "enwanda eval zeroshot --model /abs/dir --task ... --data /abs/file ..." with every setting.
std::string zeroshot_reproducing_command(const ZeroShotOptions& opt);

// The Wanda paper's zero-shot table from evaluate_zeroshot's result: a header (BoolQ ... OBQA, Mean)
// and one row of acc in percent. Empty when the result lacks one of the seven tasks.
std::string wanda7_table(const nlohmann::json& result);

// numpy's argmax, as lm-eval picks a choice: the first NaN if there is one, else the first of the largest values.
size_t numpy_argmax(const std::vector<double>& v);
// The harness behaviour a result follows: lm-eval 0.4's prompts, with or without BOS.
std::string harness_description(bool bos);

}  // namespace enwanda
