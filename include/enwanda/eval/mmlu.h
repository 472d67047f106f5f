// MMLU as lm-evaluation-harness 0.4 scores it (lm_eval/tasks/mmlu/default/): one multiple-choice
// task per subject, "mmlu_<subject>", over the records `datasets` exports of cais/mmlu
// ({question, subject, choices, answer}), DIR/<subject>/test.jsonl scored and DIR/<subject>/dev.jsonl
// the few-shot examples. The prompt is _default_template_yaml's with the subject's description
// (_generate_configs.py), few-shot examples from the dev split by the first_n sampler; accuracy per
// subject, per category (stem, humanities, social sciences, other) and for mmlu, each group the
// size-weighted mean of its members with lm-eval's pooled standard error.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "enwanda/eval/zeroshot_tasks.h"

namespace enwanda {

// lm_eval/tasks/mmlu/_generate_configs.py SUBJECTS, in its order: (subject, category).
const std::vector<std::pair<std::string, std::string>>& mmlu_subjects();
// The category of a subject ("stem", "humanities", "social_sciences", "other"); "" when unknown.
std::string mmlu_category(const std::string& subject);

// "The following are multiple choice questions (with answers) about abstract algebra.\n\n"
std::string mmlu_description(const std::string& subject);
// _default_template_yaml's doc_to_text:
// "{{question.strip()}}\nA. {{choices[0]}}\nB. {{choices[1]}}\nC. {{choices[2]}}\nD. {{choices[3]}}\nAnswer:"
std::string mmlu_doc_to_text(const nlohmann::json& doc);
int64_t mmlu_answer(const nlohmann::json& doc);  // doc_to_target: the answer's index 0..3

// The context before a test document's own text: the description, then (num_fewshot > 0) the first
// num_fewshot dev documents other than `doc` (lm_eval/api/samplers.py FirstNSampler and
// ContextSampler.get_context), each doc_to_text + " " + its answer letter, joined and followed by
// "\n\n". Throws UsageError when the dev split has fewer documents than asked.
std::string mmlu_fewshot_context(const std::string& subject, const std::vector<nlohmann::json>& dev,
                                 const nlohmann::json& doc, int64_t num_fewshot);

// One test document as requests: context = mmlu_fewshot_context + doc_to_text, continuations
// " A" ... " D", gold = answer.
Example mmlu_example(const std::string& subject, const std::vector<nlohmann::json>& dev, const nlohmann::json& doc,
                     int64_t num_fewshot);

// A group's aggregate as lm_eval/api/metrics.py computes it with weight_by_size:
// aggregate_subtask_metrics (size-weighted mean) and pooled_sample_stderr. A stderr < 0 stands for
// lm-eval's "N/A" (a member of fewer than 2 documents), and makes the group's "N/A" too.
struct GroupMetric {
  double value = 0, stderr = -1;
  int64_t size = 0;
};
GroupMetric aggregate_group(const std::vector<GroupMetric>& members);

}  // namespace enwanda
