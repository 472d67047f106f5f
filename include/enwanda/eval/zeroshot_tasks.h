// The zero-shot tasks: how one jsonl record of each task becomes the requests lm-evaluation-harness
// 0.4 scores for it. Each task reads the records that `datasets.load_dataset(...)[split].to_json()`
// writes for the dataset and split lm-eval loads, with that dataset's field names, and formats them
// as lm-eval's task YAML and utils do (doc_to_text, doc_to_choice, doc_to_target, target delimiter
// " "). The definitions each function follows are cited beside it in zeroshot_tasks.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace enwanda {

// One multiple-choice example. Choice c is scored as the log-likelihood of continuations[c] given
// contexts[c]. Every task but winogrande has one context for all choices; winogrande (lm-eval's
// "multiple_inputs") has one context per choice and the same continuation for both.
struct Example {
  std::vector<std::string> contexts;       // one per choice
  std::vector<std::string> continuations;  // one per choice, the target delimiter " " included
  std::vector<std::string> choice_texts;   // doc_to_choice's strings: acc_norm divides by their code points
  int64_t label = 0;                       // index of the gold choice
  nlohmann::ordered_json doc;              // the record as read, keys in the file's order (load_task)
};

// A task by name: how to read a record, and whether lm-eval reports acc_norm for it.
struct TaskDefinition {
  std::string name;        // boolq, rte, hellaswag, winogrande, arc_easy, arc_challenge, openbookqa, piqa, mc
  std::string split;       // the split lm-eval scores ("" for mc, which is the user's own data)
  bool reports_acc_norm;   // lm-eval's metric_list has acc_norm
  Example (*parse)(const nlohmann::json& doc);  // null for mc, which needs its template
  // lm-eval's output_type loglikelihood (lambada_openai): one continuation per document, scored by
  // whether it is the greedy continuation (acc) and its log-likelihood (perplexity); else multiple_choice
  bool loglikelihood = false;
};

// The task called `name`; throws UsageError listing the tasks when there is none.
const TaskDefinition& task_definition(const std::string& name);
std::vector<std::string> task_names();  // every task, in the order of the help text

// The seven tasks of the Wanda paper's zero-shot table, in its column order.
const std::vector<std::string>& wanda7_tasks();
std::string wanda7_column(const std::string& task);  // "BoolQ", "RTE", ..., "OBQA"

// Task parsers. Each throws InputError naming the field that is missing or wrong.
Example boolq_example(const nlohmann::json& doc);
Example rte_example(const nlohmann::json& doc);
Example hellaswag_example(const nlohmann::json& doc);
Example winogrande_example(const nlohmann::json& doc);
Example arc_example(const nlohmann::json& doc);
Example openbookqa_example(const nlohmann::json& doc);
Example piqa_example(const nlohmann::json& doc);
// lambada_openai: {"text"}; context = the words but the last, continuation = " " + the last word.
Example lambada_example(const nlohmann::json& doc);
// mc: {"context", "choices", "label"}; or, with `templ`, the template filled from the record's fields
// ("Email: {text}\nPhishing?" with {"text", "label"} records) and `choices` (else the record's
// "choices"). A field the template names and a record lacks is an InputError naming it.
Example mc_example(const nlohmann::json& doc, const std::string& templ, const std::vector<std::string>& choices);

// A --template read as Python's str.format reads "{name}" ("{{" and "}}": literal braces).
struct TemplatePiece {
  bool is_field;     // true: a record field's name; false: literal text
  std::string text;
};
// Throws UsageError for malformed braces and for a template that names no field.
std::vector<TemplatePiece> parse_template(const std::string& templ);
std::string hellaswag_preprocess(const std::string& text);

// Python's len() of a UTF-8 string: its code points.
int64_t code_points(const std::string& utf8);

}  // namespace enwanda
