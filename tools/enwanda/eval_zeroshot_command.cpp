// enwanda eval zeroshot: zero-shot accuracy by log-likelihood, as lm-evaluation-harness scores it (zeroshot.h).
#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "enwanda/errors.h"
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
                   "boolq|rte|hellaswag|winogrande|arc_easy|arc_challenge|openbookqa|piqa|mc (repeat, each with its --data), "
                   "or wanda7: the seven tasks of the Wanda paper's table from --data-dir")
        ->required();
    zs->add_option("--data", data, "jsonl file per --task");
    zs->add_option("--data-dir", data_dir, "directory holding {task}.jsonl for every --task (instead of --data)");
    zs->add_option("--template", template_text, "for mc data: the prompt, with {field} names filled from each record (e.g. {text})");
    zs->add_option("--choices", choices_text, "for mc {\"text\",\"label\"} data: comma-separated choices");
    zs->add_option("--limit", opt.limit, "first N examples per task");
    zs->add_flag("--no-bos", no_bos, "prepend no BOS (lm-eval before its PR #3347, e.g. the Wanda code's harness)");
    zs->add_option("--json", json, "write the result as JSON");
    zs->add_flag("--overwrite", overwrite, "replace an existing --json that enwanda wrote");
    compute.add(zs);
    logging.add(zs);
    return zs;
  }

  std::vector<std::string*> model_paths() override { return {&opt.model_dir}; }

  std::vector<std::string> run_files() const override {
    std::vector<std::string> files{opt.model_dir, data_dir, json};
    files.insert(files.end(), data.begin(), data.end());
    return files;
  }

  void run(const Invocation&) override {
    std::vector<std::string> expanded;
    for (const auto& t : tasks)
      if (t == "wanda7") expanded.insert(expanded.end(), wanda7_tasks().begin(), wanda7_tasks().end());
      else expanded.push_back(t);
    if (!data_dir.empty()) {
      if (!data.empty()) throw UsageError("give either --data per --task or one --data-dir, not both");
      if (!fs::is_directory(data_dir)) throw InputError("--data-dir " + data_dir + " is not a directory");
      for (const auto& t : expanded) data.push_back((fs::path(data_dir) / (t + ".jsonl")).string());
    } else if (tasks.size() != data.size() || expanded.size() != tasks.size()) {
      throw UsageError(expanded.size() != tasks.size() ? "--task wanda7 reads {task}.jsonl from --data-dir DIR"
                                                       : "give one --data per --task (or --data-dir DIR holding {task}.jsonl)");
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
    for (size_t i = 0; i < tasks.size(); ++i)
      opt.tasks.push_back(tasks[i] == "mc" ? TaskSpec{tasks[i], data[i], template_text, choices} : TaskSpec{tasks[i], data[i], "", {}});
    if (!template_text.empty()) parse_template(template_text);  // a template naming no field: refused before any work
    opt.bos = !no_bos;
    opt.device = compute.device;
    opt.dtype = compute.dtype;
    opt.batch_size = compute.batch_size;
    opt.threads = compute.threads;
    if (!json.empty()) {
      std::vector<std::string> inputs = data;
      inputs.push_back(opt.model_dir);
      check_output_file("--json", json, overwrite, inputs);
    }
    auto r = evaluate_zeroshot(opt);
    for (const auto& name : r["task_order"]) {
      const auto& t = r["tasks"][name.get<std::string>()];
      std::string line = fmt::format("{:<14} acc {:.4f} ± {:.4f}", name.get<std::string>(), t["acc"].get<double>(),
                                     t["acc_stderr"].get<double>());
      if (t.contains("acc_norm"))
        line += fmt::format("  acc_norm {:.4f} ± {:.4f}", t["acc_norm"].get<double>(), t["acc_norm_stderr"].get<double>());
      print_result(line + fmt::format("  n {}\n", t["n"].get<int64_t>()));
    }
    if (r["tasks"].size() > 1) print_result(fmt::format("macro acc {:.4f}\n", r["macro_acc"].get<double>()));
    if (r.contains("wanda7")) print_result("\nacc (%), as the Wanda paper's zero-shot table:\n" + wanda7_table(r));
    if (!json.empty()) write_json_file(json, r, overwrite);
  }

 private:
  ZeroShotOptions opt;
  ComputeFlags compute;
  std::vector<std::string> tasks, data;
  std::string data_dir, template_text, choices_text, json;
  bool no_bos = false, overwrite = false;
};

}  // namespace

std::unique_ptr<Subcommand> make_eval_zeroshot_command() { return std::make_unique<EvalZeroshotCommand>(); }

}  // namespace enwanda::cli
