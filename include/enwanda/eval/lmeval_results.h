// Zero-shot results in lm-evaluation-harness 0.4's own layout, so that leaderboards, notebooks and
// comparison scripts that read lm-eval's files read enwanda's:
//   PATH/<model name sanitised>/results_<date>.json   (PATH ending in .json: PATH's stem + "_<date>.json")
//   PATH/<model name sanitised>/samples_<task>_<date>.jsonl   with --log-samples
// The results file holds what lm_eval/evaluator.py's simple_evaluate/evaluate return (results,
// groups, group_subtasks, configs, versions, n-shot, higher_is_better, n-samples, config, date, the
// tokenizer's tokens) and what lm_eval/loggers/evaluation_tracker.py's save_results_aggregated adds
// (task_hashes and the general config tracker's fields, total_evaluation_time_seconds among them);
// the samples hold evaluate()'s per-document record as save_results_samples writes it.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "enwanda/eval/zeroshot.h"

namespace enwanda {

// lm_eval/utils.py sanitize_model_name: every run of " < > : / | \ ? * [ ] becomes "__".
std::string lmeval_sanitize_model_name(const std::string& name);
// evaluation_tracker.py's date_id: datetime.now().isoformat() with ":" -> "-"
// ("2026-12-07T18-35-12.123456"; Python drops ".ffffff" when the microseconds are 0). Local time.
std::string lmeval_date_id(std::chrono::system_clock::time_point t);
// Python's str(float): the shortest digits that read back to `v`, fixed notation for exponents in
// [-4, 16), else "1e-05"; integral values keep ".0".
std::string python_float_repr(double v);

struct LmEvalOutput {
  nlohmann::ordered_json results;              // the results_<date>.json object
  std::vector<std::string> sample_tasks;       // task names, in the run's order
  std::vector<std::string> samples_jsonl;      // one JSON-lines text per task (empty without samples)
};

// `model_name`: the model as the user named it (lm-eval's pretrained=...). Samples are built when
// `log_samples`; task_hashes (lm-eval: only with samples) then cover them.
LmEvalOutput lmeval_output(const ZeroShotRun& run, const ZeroShotOptions& opt, const std::string& model_name,
                           bool log_samples, double start_unix_time);

// lm_eval/utils.py make_table(result_dict, column): the rows Tasks|Version|Filter|n-shot|Metric|
// |Value| |Stderr as markdown, one row per metric (values "%.4f", stderr "   N/A" when not computed).
std::string lmeval_table(const nlohmann::ordered_json& results, const std::string& column = "results");

// Writes the files under `output_path` (the directories made as lm-eval makes them); returns the
// results file's path. Refuses to write through a symlink or over an existing file.
std::string write_lmeval_output(const std::string& output_path, const LmEvalOutput& out, const std::string& model_name,
                                const std::string& date_id);

}  // namespace enwanda
