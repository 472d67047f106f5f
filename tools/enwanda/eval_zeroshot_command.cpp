// enwanda eval zeroshot: zero-shot accuracy by log-likelihood, as lm-evaluation-harness scores it (zeroshot.h).
#include <algorithm>
#include <chrono>
#include <filesystem>

#include <fmt/format.h>

#include "enwanda/errors.h"
#include "enwanda/eval/lmeval_results.h"
#include "enwanda/eval/zeroshot.h"
#include "enwanda/eval/zeroshot_tasks.h"
#include "enwanda/io/replace_guard.h"
#include "console_output.h"
#include "subcommand.h"

namespace fs = std::filesystem;

namespace enwanda::cli {
namespace {

class EvalZeroshotCommand : public Subcommand {
 public:
  CLI::App* add_to(CLI::App& parent, LoggingFlags& logging) override {
    auto* zs = parent.add_subcommand("zeroshot", "zero-shot accuracy by log-likelihood (lm-eval protocol)");
    zs->add_option("--model", opt.model_dir, "checkpoint: directory, hub cache repository or ORG/NAME")->required();
    zs->add_option("--task", tasks,
                   "boolq|rte|hellaswag|winogrande|arc_easy|arc_challenge|openbookqa|piqa|lambada_openai|mc (repeat, each with its --data), "
                   "wanda7: the seven tasks of the Wanda paper's table from --data-dir, or mmlu: every subject "
                   "directory of --data-dir")
        ->required();
    zs->add_option("--data", data, "jsonl file per --task");
    zs->add_option("--data-dir", data_dir, "directory holding {task}.jsonl for every --task (instead of --data)");
    zs->add_option("--template", template_text, "for mc data: the prompt, with {field} names filled from each record (e.g. {text})");
    zs->add_option("--choices", choices_text, "for mc {\"text\",\"label\"} data: comma-separated choices");
    zs->add_option("--limit", opt.limit, "first N examples per task");
    zs->add_option("--num-fewshot", num_fewshot, "mmlu: examples from each subject's dev split before every question "
                                                 "(lm-eval's first_n sampler; 5 in the papers)")
        ->check(CLI::Range(0, 1000));
    zs->add_flag("--no-bos", no_bos, "prepend no BOS (lm-eval before its PR #3347, e.g. the Wanda code's harness)");
    zs->add_option("--json", json, "write the result as JSON");
    zs->add_flag("--overwrite", overwrite, "replace an existing --json that enwanda wrote");
    zs->add_option("--output-path", output_path,
                   "also write lm-eval 0.4's layout: PATH/<model>/results_<date>.json (or PATH_<date>.json for PATH.json)");
    zs->add_flag("--log-samples", log_samples, "with --output-path: samples_<task>_<date>.jsonl per task, as lm-eval's");
    compute.add(zs);
    logging.add(zs);
    return zs;
  }

  std::vector<std::string*> model_paths() override { return {&opt.model_dir}; }

  std::vector<std::string> run_files() const override {
    std::vector<std::string> files{opt.model_dir, data_dir, json, output_path};
    files.insert(files.end(), data.begin(), data.end());
    return files;
  }

  void run(const Invocation&) override {
    std::vector<std::string> expanded;
    for (const auto& t : tasks)
      if (t == "wanda7") expanded.insert(expanded.end(), wanda7_tasks().begin(), wanda7_tasks().end());
      else expanded.push_back(t);
    // mmlu reads DIR/<subject>/{test,dev}.jsonl from --data-dir; every other task its --data, or
    // DIR/{task}.jsonl when no --data is given
    const bool mmlu = std::count(expanded.begin(), expanded.end(), "mmlu") > 0;
    const size_t others = expanded.size() - static_cast<size_t>(std::count(expanded.begin(), expanded.end(), "mmlu"));
    if (mmlu && data_dir.empty()) throw UsageError("--task mmlu reads DIR/<subject>/test.jsonl and dev.jsonl from --data-dir DIR");
    if (!mmlu && num_fewshot > 0) throw UsageError("--num-fewshot applies to --task mmlu only (the other tasks are zero-shot)");
    if (!data_dir.empty() && !fs::is_directory(data_dir)) throw InputError("--data-dir " + data_dir + " is not a directory");
    std::vector<std::string> paths;
    if (data.empty() && !data_dir.empty()) {
      for (const auto& t : expanded)
        if (t != "mmlu") paths.push_back((fs::path(data_dir) / (t + ".jsonl")).string());
    } else if (!data.empty() && !data_dir.empty() && !mmlu) {
      throw UsageError("give either --data per --task or one --data-dir, not both");
    } else if (expanded.size() != tasks.size()) {
      throw UsageError("--task wanda7 reads {task}.jsonl from --data-dir DIR");
    } else if (data.size() != others) {
      throw UsageError("give one --data per --task (or --data-dir DIR holding {task}.jsonl)");
    } else {
      paths = data;
    }
    tasks = expanded;
    if ((!template_text.empty() || !choices_text.empty()) && std::find(tasks.begin(), tasks.end(), "mc") == tasks.end())
      throw UsageError("--template and --choices apply to --task mc only");
    std::vector<std::string> choices;
    for (size_t pos = 0; !choices_text.empty();) {
      size_t comma = choices_text.find(',', pos);
      choices.push_back(choices_text.substr(pos, comma - pos));
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    for (size_t i = 0, next = 0; i < tasks.size(); ++i) {
      if (tasks[i] == "mmlu") {
        for (auto& spec : mmlu_task_specs(data_dir, num_fewshot)) opt.tasks.push_back(std::move(spec));
        continue;
      }
      const std::string& path = paths[next++];
      opt.tasks.push_back(tasks[i] == "mc" ? TaskSpec{tasks[i], path, template_text, choices} : TaskSpec{tasks[i], path, "", {}});
    }
    for (const auto& t : opt.tasks) data_files.push_back(t.data);
    if (!template_text.empty()) parse_template(template_text);  // a template naming no field: refused before any work
    opt.bos = !no_bos;
    opt.device = compute.device;
    opt.dtype = compute.dtype;
    opt.batch_size = compute.batch_size;
    opt.threads = compute.threads;
    if (!json.empty()) {
      std::vector<std::string> inputs = data_files;
      inputs.push_back(opt.model_dir);
      check_output_file("--json", json, overwrite, inputs);
    }
    if (log_samples && output_path.empty()) throw UsageError("--log-samples goes with --output-path PATH");
    const auto started = std::chrono::system_clock::now();
    const std::string model_name = opt.model_dir;  // --model as given (ORG/NAME: its cache directory): lm-eval's pretrained=
    ZeroShotRun run = run_zeroshot(opt);
    const auto& r = run.result;
    for (const auto& name : r["task_order"]) {
      const auto& t = r["tasks"][name.get<std::string>()];
      std::string line = fmt::format("{:<14} acc {:.4f} ± {:.4f}", name.get<std::string>(), t["acc"].get<double>(),
                                     t["acc_stderr"].get<double>());
      if (t.contains("acc_norm"))
        line += fmt::format("  acc_norm {:.4f} ± {:.4f}", t["acc_norm"].get<double>(), t["acc_norm_stderr"].get<double>());
      if (t.contains("perplexity")) line += fmt::format("  perplexity {:.4f}", t["perplexity"].get<double>());
      print_result(line + fmt::format("  n {}\n", t["n"].get<int64_t>()));
    }
    if (r.contains("groups"))
      for (const auto& [name, g] : r["groups"].items())
        print_result(fmt::format("{:<14} acc {:.4f} ± {}  n {}\n", name, g["acc"].get<double>(),
                                 g["acc_stderr"].is_null() ? "N/A" : fmt::format("{:.4f}", g["acc_stderr"].get<double>()),
                                 g["n"].get<int64_t>()));
    if (r["tasks"].size() > 1) print_result(fmt::format("macro acc {:.4f}\n", r["macro_acc"].get<double>()));
    if (r.contains("wanda7")) print_result("\nacc (%), as the Wanda paper's zero-shot table:\n" + wanda7_table(r));
    if (!json.empty()) write_json_file(json, r, overwrite);
    if (!output_path.empty()) {
      const double unix_time = std::chrono::duration<double>(started.time_since_epoch()).count();
      LmEvalOutput out = lmeval_output(run, opt, model_name, log_samples, unix_time);
      out.results["enwanda_version"] = ENWANDA_VERSION_STRING;
      const std::string file = write_lmeval_output(output_path, out, model_name, lmeval_date_id(started));
      print_result("\n" + lmeval_table(out.results) + "\nlm-eval results: " + file + "\n");
    }
  }

 private:
  ZeroShotOptions opt;
  ComputeFlags compute;
  std::vector<std::string> tasks, data, data_files;
  int64_t num_fewshot = 0;
  std::string data_dir, template_text, choices_text, json, output_path;
  bool no_bos = false, overwrite = false, log_samples = false;
};

}  // namespace

std::unique_ptr<Subcommand> make_eval_zeroshot_command() { return std::make_unique<EvalZeroshotCommand>(); }

}  // namespace enwanda::cli
