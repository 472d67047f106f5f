#include "enwanda/eval/lmeval_results.h"

#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <map>
#include <sstream>

#include "enwanda/errors.h"
#include "enwanda/eval/mmlu.h"
#include "enwanda/io/output_directory.h"
#include "enwanda/text/calibration.h"
#include "enwanda/text/tokenizer.h"

namespace fs = std::filesystem;

namespace enwanda {

using ojson = nlohmann::ordered_json;

namespace {

// What lm-eval's task YAML says of each task (lm_eval/tasks/<task>/*.yaml), for `configs` and
// `versions`: the prompt as its YAML writes it, the target and choices, the split, the version.
struct LmEvalTaskInfo {
  const char* task;
  const char* dataset_path;
  const char* dataset_name;  // "" for none
  const char* doc_to_text;
  const char* doc_to_target;
  const char* doc_to_choice;
  double version;  // metadata.version; < 0: none (enwanda's own mc)
};

constexpr const char* kMmluDocToText =
    "{{question.strip()}}\nA. {{choices[0]}}\nB. {{choices[1]}}\nC. {{choices[2]}}\nD. {{choices[3]}}\nAnswer:";

const LmEvalTaskInfo& task_info(const std::string& task) {
  // lm_eval/tasks/mmlu/default/_default_template_yaml (every subject)
  static const LmEvalTaskInfo mmlu = {"mmlu", "cais/mmlu", "", kMmluDocToText, "answer", "['A', 'B', 'C', 'D']", 1.0};
  if (task_definition(task).name == "mmlu") return mmlu;
  static const std::vector<LmEvalTaskInfo> infos = {
      {"boolq", "super_glue", "boolq", "{{passage}}\nQuestion: {{question}}?\nAnswer:", "label", "['no', 'yes']", 2.0},
      {"rte", "glue", "rte", "{{sentence1}}\nQuestion: {{sentence2}} True or False?\nAnswer:", "label", "['True', 'False']", 1.0},
      {"hellaswag", "hellaswag", "", "{{query}}", "{{label}}", "choices", 1.0},
      {"winogrande", "winogrande", "winogrande_xl", "<function doc_to_text>", "<function doc_to_target>",
       "<function doc_to_choice>", 1.0},
      {"arc_easy", "allenai/ai2_arc", "ARC-Easy", "Question: {{question}}\nAnswer:", "{{choices.label.index(answerKey)}}",
       "{{choices.text}}", 1.0},
      {"arc_challenge", "allenai/ai2_arc", "ARC-Challenge", "Question: {{question}}\nAnswer:",
       "{{choices.label.index(answerKey)}}", "{{choices.text}}", 1.0},
      {"openbookqa", "openbookqa", "main", "question_stem", "{{choices.label.index(answerKey.lstrip())}}", "{{choices.text}}", 1.0},
      {"piqa", "piqa", "", "Question: {{goal}}\nAnswer:", "label", "{{[sol1, sol2]}}", 1.0},
      {"mc", "", "", "", "label", "choices", -1.0},
      // lm_eval/tasks/lambada/lambada_openai.yaml
      {"lambada_openai", "EleutherAI/lambada_openai", "default", "{{text.split(' ')[:-1]|join(' ')}}",
       "{{' '+text.split(' ')[-1]}}", "", 1.0},
  };
  for (const auto& i : infos)
    if (i.task == task) return i;
  throw Error(ExitCode::internal, "no lm-eval description of task " + task);
}

// lm_eval/api/metrics.py mean_stderr: sample standard deviation (n - 1) over sqrt(n); "N/A" below
// 2 items (lm_eval/api/task.py TaskOutput.calculate_aggregate_metric).
ojson mean_stderr(const std::vector<double>& items) {
  if (items.size() < 2) return "N/A";
  double mean = 0;
  for (double x : items) mean += x;
  mean /= static_cast<double>(items.size());
  double ss = 0;
  for (double x : items) ss += (x - mean) * (x - mean);
  return std::sqrt(ss / static_cast<double>(items.size() - 1)) / std::sqrt(static_cast<double>(items.size()));
}

double mean_of(const std::vector<double>& items) {
  double s = 0;
  for (double x : items) s += x;
  return s / static_cast<double>(items.size());
}


std::string sha256_of(const std::string& s) { return sha256_hex(s.data(), s.size()); }

// json.dumps(doc, indent=2, ensure_ascii=False), which lm-eval hashes for doc_hash: nlohmann's dump
// with indent 2 writes the same separators, escapes and key order (ordered_json keeps the file's).
std::string python_json_dumps_indent2(const ojson& doc) {
  return doc.dump(2, ' ', false, nlohmann::detail::error_handler_t::replace);
}

// The document as lm-eval holds it: hellaswag's process_docs adds query, choices and gold to the
// record (datasets' map keeps the record's columns first); every other task uses the record.
ojson lmeval_doc(const std::string& task, const Example& ex) {
  ojson doc = ex.doc;
  if (task == "hellaswag" && doc.is_object()) {
    doc["query"] = ex.contexts.empty() ? "" : ex.contexts[0];
    doc["choices"] = ex.choice_texts;
    doc["gold"] = ex.label;
  }
  return doc;
}

// doc_to_target as evaluate() records it: the gold index for every multiple-choice task but
// winogrande, whose target is the text after the blank, stripped.
std::string lmeval_target(const std::string& task, const Example& ex) {
  if (task_definition(task).loglikelihood) return ex.continuations[0];  // lambada_openai: " " + the last word
  if (task == "winogrande") {
    const std::string& c = ex.continuations[static_cast<size_t>(ex.label)];
    return c.empty() ? c : c.substr(1);
  }
  return std::to_string(ex.label);
}

size_t count_records(const std::string& path) {
  std::ifstream in(path);
  size_t n = 0;
  std::string line;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\n\r") != std::string::npos) ++n;
  return n;
}

std::string local_iso_seconds(std::chrono::system_clock::time_point t, const char* time_sep) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d%s%02d%s%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                time_sep, tm.tm_min, time_sep, tm.tm_sec);
  return buf;
}

int64_t code_point_width(const std::string& s) { return code_points(s); }

}  // namespace

std::string lmeval_sanitize_model_name(const std::string& name) {
  // re.sub(r"[\"<>:/|\\?*\[\]]+", "__", model_name)
  const std::string special = "\"<>:/|\\?*[]";
  std::string out;
  for (size_t i = 0; i < name.size();) {
    if (special.find(name[i]) != std::string::npos) {
      while (i < name.size() && special.find(name[i]) != std::string::npos) ++i;
      out += "__";
    } else {
      out.push_back(name[i++]);
    }
  }
  return out;
}

std::string lmeval_date_id(std::chrono::system_clock::time_point t) {
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count() % 1000000;
  std::string id = local_iso_seconds(t, "-");
  if (micros != 0) {
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%06lld", static_cast<long long>(micros));
    id += frac;
  }
  return id;
}

std::string python_float_repr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  // the shortest precision that reads back to v, as scientific digits "d.ddd" and an exponent
  char buf[64];
  for (int p = 1; p <= 17; ++p) {
    std::snprintf(buf, sizeof buf, "%.*e", p - 1, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  std::string s = buf;
  const bool negative = s[0] == '-';
  if (negative) s.erase(0, 1);
  const size_t e = s.find('e');
  const int exponent = std::stoi(s.substr(e + 1));
  std::string digits;
  for (char c : s.substr(0, e))
    if (c != '.') digits.push_back(c);
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  std::string out;
  if (exponent >= -4 && exponent < 16) {  // float_repr_style 'short': fixed notation
    if (exponent < 0) {
      out = "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
    } else if (static_cast<int>(digits.size()) <= exponent + 1) {
      out = digits + std::string(static_cast<size_t>(exponent + 1) - digits.size(), '0') + ".0";
    } else {
      out = digits.substr(0, static_cast<size_t>(exponent + 1)) + "." + digits.substr(static_cast<size_t>(exponent + 1));
    }
  } else {
    out = digits.substr(0, 1) + (digits.size() > 1 ? "." + digits.substr(1) : "");
    char exp[16];
    std::snprintf(exp, sizeof exp, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    out += exp;
  }
  return (negative ? "-" : "") + out;
}

LmEvalOutput lmeval_output(const ZeroShotRun& run, const ZeroShotOptions& opt, const std::string& model_name,
                           bool log_samples, double start_unix_time) {
  LmEvalOutput out;
  std::map<std::string, std::vector<GroupMetric>> mmlu_members;  // category -> its subjects' acc
  ojson results = ojson::object(), configs = ojson::object(), versions = ojson::object(), n_shot = ojson::object(),
        higher = ojson::object(), n_samples = ojson::object(), task_hashes = ojson::object();
  for (const ScoredTask& t : run.tasks) {
    const TaskDefinition& def = task_definition(t.spec.task);
    const LmEvalTaskInfo& info = task_info(t.spec.task);
    // per document: the metrics of lm_eval/api/task.py ConfigurableTask.process_results for
    // multiple_choice (acc: argmax of the log-likelihoods; acc_norm: of loglik / len(choice))
    // and for loglikelihood (acc: is_greedy; perplexity: the log-likelihood, aggregated as exp(-mean))
    std::vector<double> acc, acc_norm, loglik;
    std::string samples;
    for (size_t e = 0; e < t.examples.size(); ++e) {
      const Example& ex = t.examples[e];
      const auto& ll = t.logliks[e];
      std::vector<double> normalised(ll.size());
      for (size_t c = 0; c < ll.size(); ++c) normalised[c] = ll[c] / static_cast<double>(code_points(ex.choice_texts[c]));
      if (def.loglikelihood) {
        acc.push_back(t.greedy[e][0] ? 1.0 : 0.0);
        loglik.push_back(ll[0]);
      } else {
        acc.push_back(static_cast<int64_t>(numpy_argmax(ll)) == ex.label ? 1.0 : 0.0);
      }
      acc_norm.push_back(static_cast<int64_t>(numpy_argmax(normalised)) == ex.label ? 1.0 : 0.0);
      if (!log_samples) continue;
      // evaluate()'s record as save_results_samples writes it: arguments as gen_args_i.arg_j,
      // resps and filtered_resps as strings (sanitize_list), target as str
      ojson arguments = ojson::object(), resps = ojson::array(), filtered = ojson::array();
      for (size_t c = 0; c < ll.size(); ++c) {
        arguments["gen_args_" + std::to_string(c)] = {{"arg_0", ex.contexts[c]}, {"arg_1", ex.continuations[c]}};
        // (loglikelihood, is_greedy) as HFLM._loglikelihood_tokens returns them, each as str()
        ojson pair = ojson::array({python_float_repr(ll[c]), t.greedy[e][c] ? "True" : "False"});
        resps.push_back(ojson::array({pair}));
        filtered.push_back(pair);
      }
      const ojson doc = lmeval_doc(t.spec.task, ex);
      const std::string target = lmeval_target(t.spec.task, ex);
      ojson metrics = def.loglikelihood ? ojson::array({"perplexity", "acc"}) : ojson::array({"acc"});
      if (def.reports_acc_norm) metrics.push_back("acc_norm");
      ojson s = {{"doc_id", e}, {"doc", doc}, {"target", target}, {"arguments", arguments}, {"resps", resps},
                 {"filtered_resps", filtered}, {"filter", "none"}, {"metrics", metrics},
                 {"doc_hash", sha256_of(python_json_dumps_indent2(doc))}, {"prompt_hash", sha256_of(ex.contexts[0])},
                 {"target_hash", sha256_of(target)}, {"acc", acc.back()}};
      if (def.reports_acc_norm) s["acc_norm"] = acc_norm.back();
      if (def.loglikelihood) {  // process_results' order: perplexity, then acc
        s.erase("acc");
        s["perplexity"] = loglik.back();
        s["acc"] = acc.back();
      }
      samples += s.dump(-1, ' ', false, nlohmann::detail::error_handler_t::replace) + "\n";
    }
    // the task's aggregate (mean) and its stderr, keyed "metric,filter" as lm-eval's
    const bool is_mmlu = def.name == "mmlu";
    const std::string subject = is_mmlu ? t.spec.task.substr(5) : "";
    // prepare_print_tasks' aliases: a subject two levels down ("  - abstract_algebra")
    ojson r = {{"alias", is_mmlu ? "  - " + subject : t.name}, {"acc,none", mean_of(acc)}, {"acc_stderr,none", mean_stderr(acc)}};
    mmlu_members[mmlu_category(subject)].push_back(
        {mean_of(acc), mean_stderr(acc).is_string() ? -1.0 : mean_stderr(acc).get<double>(), static_cast<int64_t>(acc.size())});
    ojson hib = {{"acc", true}};
    ojson metric_list = ojson::array({{{"metric", "acc"}, {"aggregation", "mean"}, {"higher_is_better", true}}});
    if (def.loglikelihood) {
      // lm_eval/api/metrics.py perplexity aggregation: exp(-mean(items)); its stderr is a bootstrap
      // (stderr_for_metric), which enwanda does not run: "N/A"
      double sum = 0;
      for (double v : loglik) sum += v;
      const double ppl = std::exp(-sum / static_cast<double>(loglik.size()));
      ojson first = {{"alias", r["alias"]}, {"perplexity,none", ppl}, {"perplexity_stderr,none", "N/A"}};
      for (auto& [k, v] : r.items())
        if (k != "alias") first[k] = v;
      r = first;
      hib = {{"perplexity", false}, {"acc", true}};
      metric_list = ojson::array({{{"metric", "perplexity"}, {"aggregation", "perplexity"}, {"higher_is_better", false}},
                                  {{"metric", "acc"}, {"aggregation", "mean"}, {"higher_is_better", true}}});
    }
    if (def.reports_acc_norm) {
      r["acc_norm,none"] = mean_of(acc_norm);
      r["acc_norm_stderr,none"] = mean_stderr(acc_norm);
      hib["acc_norm"] = true;
      metric_list.push_back({{"metric", "acc_norm"}, {"aggregation", "mean"}, {"higher_is_better", true}});
    }
    results[t.name] = r;
    higher[t.name] = hib;
    n_shot[t.name] = is_mmlu ? t.spec.num_fewshot : 0;
    versions[t.name] = info.version >= 0 ? ojson(info.version) : ojson("N/A");
    n_samples[t.name] = {{"original", count_records(t.spec.data)}, {"effective", t.examples.size()}};
    const std::string data_abs = fs::absolute(t.spec.data).lexically_normal().string();
    ojson cfg = {{"task", t.name},
                 {"dataset_path", info.dataset_path[0] ? ojson(info.dataset_path) : ojson(data_abs)}};
    if (is_mmlu) cfg["task_alias"] = subject;
    if (is_mmlu) cfg["dataset_name"] = subject;
    else if (info.dataset_name[0]) cfg["dataset_name"] = info.dataset_name;
    cfg["test_split"] = def.split.empty() ? ojson(nullptr) : ojson(def.split);
    if (is_mmlu) {
      cfg["fewshot_split"] = "dev";
      cfg["fewshot_config"] = {{"sampler", "first_n"}};
    }
    cfg["doc_to_text"] = t.spec.task == "mc" ? (t.spec.templ.empty() ? ojson("{{context}}") : ojson(t.spec.templ))
                                             : ojson(info.doc_to_text);
    cfg["doc_to_target"] = info.doc_to_target;
    if (t.spec.task == "mc" && !t.spec.choices.empty()) cfg["doc_to_choice"] = t.spec.choices;
    else if (info.doc_to_choice[0]) cfg["doc_to_choice"] = info.doc_to_choice;
    cfg["description"] = is_mmlu ? mmlu_description(subject) : "";
    cfg["target_delimiter"] = " ";
    cfg["fewshot_delimiter"] = "\n\n";
    cfg["num_fewshot"] = is_mmlu ? t.spec.num_fewshot : 0;
    cfg["metric_list"] = metric_list;
    cfg["output_type"] = def.loglikelihood ? "loglikelihood" : "multiple_choice";
    cfg["repeats"] = 1;
    cfg["should_decontaminate"] = def.loglikelihood;  // lambada_openai.yaml: true
    cfg["metadata"] = {{"version", versions[t.name]}};
    // enwanda's: the file the documents came from
    cfg["data_file"] = {{"path", data_abs}, {"bytes", fs::file_size(t.spec.data)}, {"sha256", file_sha256(t.spec.data)}};
    if (is_mmlu && t.spec.num_fewshot > 0)
      cfg["fewshot_file"] = {{"path", fs::absolute(t.spec.fewshot_data).lexically_normal().string()},
                             {"sha256", file_sha256(t.spec.fewshot_data)}};
    configs[t.name] = cfg;
    if (log_samples) {
      // save_results_aggregated: sha256 of the concatenated doc_hash + prompt_hash + target_hash
      std::string joined;
      std::istringstream lines(samples);
      for (std::string line; std::getline(lines, line);) {
        auto s = ojson::parse(line);
        joined += s["doc_hash"].get<std::string>() + s["prompt_hash"].get<std::string>() + s["target_hash"].get<std::string>();
      }
      task_hashes[t.name] = sha256_of(joined);
    }
    out.sample_tasks.push_back(t.name);
    out.samples_jsonl.push_back(std::move(samples));
  }

  auto tok = Tokenizer::load_for_model(opt.model_dir);
  auto token = [&](int64_t id) { return id >= 0 ? ojson::array({tok->piece(id), id}) : ojson(nullptr); };
  const nlohmann::json& settings = run.result["settings"];
  const std::string model_abs = run.result["model"].get<std::string>();
  // MMLU's groups (consolidate_group_results with weight_by_size): each category over its subjects,
  // mmlu over the categories; their aliases as prepare_print_tasks indents them
  ojson groups = ojson::object(), group_subtasks = ojson::object();
  std::map<std::string, ojson> top;  // prepare_print_tasks sorts each level by name
  mmlu_members.erase("");
  if (!mmlu_members.empty()) {
    static const std::map<std::string, std::string> category_alias = {
        {"humanities", "humanities"}, {"other", "other"}, {"social_sciences", "social sciences"}, {"stem", "stem"}};
    auto entry = [](const std::string& alias, const GroupMetric& g) {
      return ojson{{"alias", alias}, {"acc,none", g.value}, {"acc_stderr,none", g.stderr >= 0 ? ojson(g.stderr) : ojson("N/A")}};
    };
    std::vector<GroupMetric> categories;
    ojson block = ojson::object(), group_block = ojson::object();
    for (const auto& [category, members] : mmlu_members) categories.push_back(aggregate_group(members));
    const GroupMetric all = aggregate_group(categories);
    block["mmlu"] = entry("mmlu", all);
    group_block["mmlu"] = block["mmlu"];
    versions["mmlu"] = 2;
    higher["mmlu"] = {{"acc", true}};
    size_t c = 0;
    ojson category_names = ojson::array();
    for (const auto& [category, members] : mmlu_members) {
      const std::string g = "mmlu_" + category;
      block[g] = entry(" - " + category_alias.at(category), categories[c++]);
      group_block[g] = block[g];
      versions[g] = 1;
      higher[g] = {{"acc", true}};
      category_names.push_back(g);
      std::vector<std::string> subjects;
      for (const auto& [name, v] : results.items())
        if (name.rfind("mmlu_", 0) == 0 && mmlu_category(name.substr(5)) == category) subjects.push_back(name);
      std::sort(subjects.begin(), subjects.end());
      group_subtasks[g] = subjects;
      for (const auto& sname : subjects) block[sname] = results[sname];
    }
    group_subtasks["mmlu"] = category_names;
    groups = group_block;
    top["mmlu"] = block;
  }
  for (const auto& [name, v] : results.items())
    if (name.rfind("mmlu_", 0) != 0 || mmlu_category(name.substr(5)).empty()) {  // not an MMLU subject
      top[name] = ojson{{name, v}};
      group_subtasks[name] = ojson::array();
    }
  ojson ordered_results = ojson::object();
  for (const auto& [name, block] : top)
    for (const auto& [k, v] : block.items()) ordered_results[k] = v;

  ojson r = ojson::object();
  r["results"] = ordered_results;
  if (!groups.empty()) r["groups"] = groups;
  r["group_subtasks"] = group_subtasks;
  // evaluate() sorts configs, versions, n-shot and higher_is_better by task name
  auto sorted = [](const ojson& o) {
    std::map<std::string, ojson> m;
    for (const auto& [k, v] : o.items()) m[k] = v;
    ojson s = ojson::object();
    for (auto& [k, v] : m) s[k] = v;
    return s;
  };
  r["configs"] = sorted(configs);
  r["versions"] = sorted(versions);
  r["n-shot"] = sorted(n_shot);
  r["higher_is_better"] = sorted(higher);
  r["n-samples"] = n_samples;
  r["config"] = {{"model", "enwanda"},
                 {"model_args", "pretrained=" + model_name + ",dtype=" + settings["compute_dtype"].get<std::string>() +
                                    ",add_bos_token=" + (opt.bos ? "True" : "False")},
                 {"batch_size", settings["batch_size"]},
                 {"batch_sizes", ojson::array()},
                 {"device", settings["device"]},
                 {"use_cache", nullptr},
                 {"limit", opt.limit > 0 ? ojson(opt.limit) : ojson(nullptr)},
                 {"bootstrap_iters", 100000},
                 {"gen_kwargs", nullptr},
                 {"random_seed", 0},
                 {"numpy_seed", 1234},
                 {"torch_seed", 1234},
                 {"fewshot_seed", 1234},
                 // the tokenizer's BOS rule: lm-eval's HFLM add_bos_token (BOS before every context, or none)
                 {"add_bos_token", run.result["bos"]},
                 {"enwanda_model_path", model_abs},
                 {"command", run.result["command"]}};
  r["git_hash"] = nullptr;
  r["date"] = start_unix_time;
  r["tokenizer_pad_token"] = nullptr;
  r["tokenizer_eos_token"] = token(tok->eos_id());
  r["tokenizer_bos_token"] = token(tok->bos_id());
  r["eot_token_id"] = tok->eos_id() >= 0 ? ojson(tok->eos_id()) : ojson(nullptr);
  r["max_length"] = settings["max_length"];
  r["task_hashes"] = task_hashes;
  r["model_source"] = "enwanda";
  r["model_name"] = model_name;
  r["model_name_sanitized"] = lmeval_sanitize_model_name(model_name);
  r["system_instruction"] = nullptr;
  r["system_instruction_sha"] = nullptr;
  r["fewshot_as_multiturn"] = false;
  r["chat_template"] = nullptr;
  r["chat_template_sha"] = nullptr;
  r["start_time"] = 0.0;
  r["end_time"] = run.seconds;
  r["total_evaluation_time_seconds"] = python_float_repr(run.seconds);
  out.results = std::move(r);
  return out;
}

std::string lmeval_table(const ojson& results, const std::string& column) {
  const std::vector<std::string> headers = {column == "groups" ? "Groups" : "Tasks", "Version", "Filter", "n-shot", "Metric",
                                            "", "Value", "", "Stderr"};
  std::vector<std::vector<std::string>> rows;
  auto four = [](double v) {
    char b[64];
    std::snprintf(b, sizeof b, "%.4f", v);
    return std::string(b);
  };
  // a version as pytablewriter shows it: an integral float without ".0"
  auto version_text = [&](const ojson& v) -> std::string {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>()) return std::to_string(static_cast<int64_t>(v.get<double>()));
    return v.dump();
  };
  for (const auto& [key, entry] : results.at(column).items()) {
    std::string name = entry.contains("alias") ? entry["alias"].get<std::string>() : key;
    std::string version = results["versions"].contains(key) ? version_text(results["versions"][key]) : "N/A";
    const std::string n = results["n-shot"].contains(key) ? results["n-shot"][key].dump() : " ";
    const ojson hib = results["higher_is_better"].contains(key) ? results["higher_is_better"][key] : ojson::object();
    std::map<std::string, ojson> metrics;  // sorted(dic.items())
    for (const auto& [m, v] : entry.items())
      if (m != "alias") metrics[m] = v;
    for (const auto& [mf, v] : metrics) {
      const size_t comma = mf.find(',');
      const std::string m = mf.substr(0, comma), f = comma == std::string::npos ? "" : mf.substr(comma + 1);
      if (m.size() >= 7 && m.compare(m.size() - 7, 7, "_stderr") == 0) continue;
      const std::string arrow = hib.contains(m) ? (hib[m].get<bool>() ? "↑" : "↓") : "";
      const std::string value = v.is_number_float() ? four(v.get<double>()) : (v.is_string() ? v.get<std::string>() : v.dump());
      const std::string se_key = m + "_stderr," + f;
      if (metrics.count(se_key)) {
        const ojson& se = metrics[se_key];
        rows.push_back({name, version, f, n, m, arrow, value, "±", se.is_string() ? "   N/A" : four(se.get<double>())});
      } else {
        rows.push_back({name, version, f, n, m, arrow, value, "", ""});
      }
      name.clear();
      version.clear();
    }
  }
  // markdown as pytablewriter's MarkdownTableWriter lays it out: headers centred, numbers right-aligned
  const std::vector<bool> right = {false, true, false, true, false, false, true, false, true};
  std::vector<int64_t> width(headers.size(), 3);
  for (size_t c = 0; c < headers.size(); ++c) {
    width[c] = std::max(width[c], code_point_width(headers[c]));
    for (const auto& row : rows) width[c] = std::max(width[c], code_point_width(row[c]));
  }
  auto pad = [](const std::string& s, int64_t w, int align) {  // align: -1 left, 0 centre, 1 right
    const int64_t gap = w - code_point_width(s);
    const int64_t left = align > 0 ? gap : align == 0 ? gap / 2 : 0;
    return std::string(static_cast<size_t>(left), ' ') + s + std::string(static_cast<size_t>(gap - left), ' ');
  };
  std::string out = "|";
  for (size_t c = 0; c < headers.size(); ++c) out += pad(headers[c], width[c], 0) + "|";
  out += "\n|";
  for (size_t c = 0; c < headers.size(); ++c)
    out += (right[c] ? std::string(static_cast<size_t>(width[c] - 1), '-') + ":" : std::string(static_cast<size_t>(width[c]), '-')) + "|";
  out += "\n";
  for (const auto& row : rows) {
    out += "|";
    for (size_t c = 0; c < headers.size(); ++c) out += pad(row[c], width[c], right[c] ? 1 : -1) + "|";
    out += "\n";
  }
  return out;
}

std::string write_lmeval_output(const std::string& output_path, const LmEvalOutput& out, const std::string& model_name,
                                const std::string& date_id) {
  // evaluation_tracker.py: PATH ending in .json -> PATH's parent, "<stem>_<date>.json"; else
  // PATH/<model name sanitised>/results_<date>.json; samples beside the results file
  fs::path path(output_path);
  fs::path dir, results_file;
  if (path.extension() == ".json") {
    dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
    results_file = dir / (path.stem().string() + "_" + date_id + ".json");
  } else {
    dir = path / lmeval_sanitize_model_name(model_name);
    results_file = dir / ("results_" + date_id + ".json");
  }
  std::error_code ec;
  for (fs::path p = dir; !p.empty(); p = p.parent_path()) {  // never into a directory reached through a symlink we did not make
    if (fs::is_symlink(fs::symlink_status(p, ec))) throw IoError("--output-path: " + p.string() + " is a symbolic link; enwanda writes through none");
    if (p == p.parent_path()) break;
  }
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir)) throw IoError("--output-path: cannot create " + dir.string() + ": " + ec.message());
  // every file first to a temporary, then renamed without replacing anything (output_file.h)
  for (size_t i = 0; i < out.sample_tasks.size(); ++i)
    if (!out.samples_jsonl[i].empty())
      write_text_file_atomic((dir / ("samples_" + out.sample_tasks[i] + "_" + date_id + ".jsonl")).string(), out.samples_jsonl[i],
                             /*overwrite=*/false);
  write_text_file_atomic(results_file.string(), out.results.dump(2, ' ', false, nlohmann::detail::error_handler_t::replace),
                         /*overwrite=*/false);
  return results_file.string();
}

}  // namespace enwanda
