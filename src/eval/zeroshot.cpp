#include "enwanda/eval/zeroshot.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include <spdlog/spdlog.h>

#include "enwanda/errors.h"
#include "enwanda/eval/mmlu.h"
#include "enwanda/io/json_text.h"
#include "enwanda/model/llama_model.h"
#include "enwanda/progress_log.h"
#include "enwanda/prune/reproduce.h"
#include "enwanda/text/calibration.h"

namespace fs = std::filesystem;

namespace enwanda {

size_t numpy_argmax(const std::vector<double>& v) {
  size_t best = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if (std::isnan(v[i])) return i;
    if (v[i] > v[best]) best = i;
  }
  return best;
}

namespace {
double stderr_of(double p, int64_t n) { return n > 1 ? std::sqrt(p * (1 - p) / static_cast<double>(n - 1)) : 0.0; }


constexpr size_t kMaxRecordBytes = size_t{16} << 20;  // a JSON-lines record of a task file

bool blank(const std::string& line) { return line.find_first_not_of(" \t\n\r") == std::string::npos; }
}  // namespace

namespace {
// A record of a JSON-lines file: parsed (depth-limited, json_text.h), in the file's key order, and its line.
struct Record {
  nlohmann::json doc;
  nlohmann::ordered_json ordered;
  int64_t line;
};
std::vector<Record> read_records(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path + ": cannot read task data");
  std::vector<Record> records;
  std::string line;
  for (int64_t lineno = 1; std::getline(in, line); ++lineno) {
    if (blank(line)) continue;
    const std::string where = path + ":" + std::to_string(lineno);
    if (line.size() > kMaxRecordBytes)
      throw InputError(where + ": a record of " + std::to_string(line.size()) + " bytes, over the " +
                       std::to_string(kMaxRecordBytes >> 20) + " MiB limit of a zero-shot record");
    auto doc = parse_json(line, where);
    records.push_back({std::move(doc), nlohmann::ordered_json::parse(line), lineno});
  }
  return records;
}
}  // namespace

std::vector<TaskSpec> mmlu_task_specs(const std::string& dir, int64_t num_fewshot) {
  std::vector<TaskSpec> specs;
  for (const auto& [subject, category] : mmlu_subjects()) {
    const fs::path test = fs::path(dir) / subject / "test.jsonl";
    if (!fs::is_regular_file(test)) continue;
    TaskSpec spec{"mmlu_" + subject, test.string(), "", {}, (fs::path(dir) / subject / "dev.jsonl").string(), num_fewshot};
    if (num_fewshot > 0 && !fs::is_regular_file(spec.fewshot_data))
      throw InputError(spec.fewshot_data + ": --num-fewshot " + std::to_string(num_fewshot) +
                       " takes its examples from the subject's dev split, and there is no such file");
    specs.push_back(std::move(spec));
  }
  if (specs.empty())
    throw InputError(dir + ": no MMLU subject (DIR/<subject>/test.jsonl for a subject such as abstract_algebra); "
                     "docs/evaluation.md shows how to export cais/mmlu");
  return specs;
}

std::vector<Example> load_task(const TaskSpec& spec, int64_t limit) {
  const TaskDefinition& def = task_definition(spec.task);
  if (def.name == "mmlu") {  // an MMLU subject: its dev split gives the few-shot examples
    const std::string subject = spec.task.substr(5);
    std::vector<nlohmann::json> dev;
    if (spec.num_fewshot > 0)
      for (auto& r : read_records(spec.fewshot_data)) dev.push_back(std::move(r.doc));
    std::vector<Example> out;
    for (auto& r : read_records(spec.data)) {
      if (limit > 0 && static_cast<int64_t>(out.size()) >= limit) break;
      try {
        Example ex = mmlu_example(subject, dev, r.doc, spec.num_fewshot);
        ex.doc = std::move(r.ordered);
        out.push_back(std::move(ex));
      } catch (const InputError& e) {
        throw InputError(spec.data + ":" + std::to_string(r.line) + ": not a valid mmlu example: " + e.what());
      }
    }
    if (out.empty()) throw InputError(spec.data + ": no examples");
    return out;
  }
  std::ifstream in(spec.data);
  if (!in) throw InputError(spec.data + ": cannot read task data");
  std::vector<Example> out;
  std::string line;
  int64_t lineno = 0;
  while (std::getline(in, line) && (limit <= 0 || static_cast<int64_t>(out.size()) < limit)) {
    ++lineno;
    if (blank(line)) continue;
    const std::string where = spec.data + ":" + std::to_string(lineno) + ": ";
    if (line.size() > kMaxRecordBytes)
      throw InputError(where + "a record of " + std::to_string(line.size()) + " bytes, over the " +
                       std::to_string(kMaxRecordBytes >> 20) + " MiB limit of a zero-shot record");
    nlohmann::json doc;
    try {
      doc = parse_json(line, where);  // depth-limited (json_text.h)
    } catch (const InputError&) {
      throw InputError(where + "not a JSON record (the data must be one JSON object per line)");
    }
    try {
      Example ex = def.parse ? def.parse(doc) : mc_example(doc, spec.templ, spec.choices);
      ex.doc = nlohmann::ordered_json::parse(line);  // the record with its keys in the file's order
      if (ex.label < 0 || ex.label >= static_cast<int64_t>(ex.continuations.size()))
        throw InputError("label " + std::to_string(ex.label) + " is not a choice index (there are " +
                         std::to_string(ex.continuations.size()) + " choices)");
      out.push_back(std::move(ex));
    } catch (const InputError& e) {
      throw InputError(where + "not a valid " + spec.task + " example: " + e.what());
    }
  }
  if (out.empty()) throw InputError(spec.data + ": no examples");
  return out;
}

std::pair<std::vector<int64_t>, std::vector<int64_t>> encode_pair(const Tokenizer& tok, std::string context,
                                                                  std::string continuation, bool bos) {
  const size_t kept = context.find_last_not_of(' ');
  const size_t n_spaces = kept == std::string::npos ? context.size() : context.size() - kept - 1;
  if (n_spaces > 0) {
    continuation = context.substr(context.size() - n_spaces) + continuation;
    context = context.substr(0, context.size() - n_spaces);
  }
  // lm-eval gives an empty context its prefix token (BOS) and encodes the continuation alone;
  // with BOS prepended that is what the general rule below gives too
  if (context.empty()) {
    auto cont = tok.encode(continuation, /*add_bos=*/false);
    auto prefix = tok.prefix_ids();  // lm-eval's prefix token: BOS, else the end-of-text token
    if (prefix.empty() && tok.eos_id() >= 0) prefix = {tok.eos_id()};
    if (prefix.empty()) throw InputError("an empty context needs a prefix token, and the tokenizer has neither BOS nor an end-of-text token");
    return {prefix, cont};
  }
  auto whole = tok.encode(context + continuation, bos);
  auto ctx = tok.encode(context, bos);
  std::vector<int64_t> cont(whole.begin() + static_cast<std::ptrdiff_t>(std::min(ctx.size(), whole.size())), whole.end());
  return {ctx, cont};
}

std::string zeroshot_reproducing_command(const ZeroShotOptions& opt) {
  auto path = [](const std::string& p) { return fs::absolute(p).lexically_normal().string(); };
  std::string cmd = "enwanda eval zeroshot --model " + shell_word(path(opt.model_dir));
  bool mmlu = false;
  for (const auto& t : opt.tasks) {
    if (task_definition(t.task).name == "mmlu") {  // every subject from one directory
      if (!mmlu)
        cmd += " --task mmlu --data-dir " + shell_word(path(fs::path(t.data).parent_path().parent_path().string())) +
               " --num-fewshot " + std::to_string(t.num_fewshot);
      mmlu = true;
      continue;
    }
    cmd += " --task " + shell_word(t.task) + " --data " + shell_word(path(t.data));
  }
  const TaskSpec* mc = nullptr;
  for (const auto& t : opt.tasks)
    if (t.task == "mc" && (!t.templ.empty() || !t.choices.empty())) mc = &t;
  if (mc && !mc->templ.empty()) cmd += " --template " + shell_word(mc->templ);
  if (mc && !mc->choices.empty()) {
    std::string joined;
    for (const auto& c : mc->choices) joined += (joined.empty() ? "" : ",") + c;
    cmd += " --choices " + shell_word(joined);
  }
  if (opt.limit > 0) cmd += " --limit " + std::to_string(opt.limit);
  if (!opt.bos) cmd += " --no-bos";
  cmd += " --device " + shell_word(opt.device) + " --dtype " + shell_word(opt.dtype);
  if (opt.batch_size > 0) cmd += " --batch-size " + std::to_string(opt.batch_size);
  if (opt.threads > 0) cmd += " --threads " + std::to_string(opt.threads);
  return cmd;
}

nlohmann::json evaluate_zeroshot(const ZeroShotOptions& opt) { return run_zeroshot(opt).result; }

ZeroShotRun run_zeroshot(const ZeroShotOptions& opt) {
  const auto started = std::chrono::steady_clock::now();
  if (opt.tasks.empty()) throw UsageError("give at least one --task with its --data");
  for (const auto& t : opt.tasks) {  // every task known and its file there before the model loads
    task_definition(t.task);          // throws UsageError naming the tasks there are
    if (!fs::is_regular_file(t.data)) throw InputError(t.data + ": task data for " + t.task + " does not exist or is not a file");
    if (t.task == "mc" && !t.templ.empty()) parse_template(t.templ);  // UsageError for a template that names no field
    if (t.task != "mc" && (!t.templ.empty() || !t.choices.empty()))
      throw UsageError("--template and --choices apply to --task mc only");
  }
  // every record read and checked (a field the template names must be in each) before the model loads
  std::vector<std::vector<Example>> task_examples;
  for (const auto& spec : opt.tasks) task_examples.push_back(load_task(spec, opt.limit));

  auto ck = Checkpoint::open(opt.model_dir);
  Runtime rt = make_runtime(opt.device, opt.dtype, ck->weight_dtype(), opt.threads, opt.batch_size);
  LlamaModel model(ck, rt);
  auto tok = Tokenizer::load_for_model(opt.model_dir);
  const int64_t max_len = ck->config().max_position_embeddings;

  // One request per (example, choice): the model input (context + continuation without its last
  // token, cut on the left to the context window) and the continuation tokens to score.
  struct Request {
    size_t example, choice;
    std::vector<int64_t> input;
    std::vector<int64_t> continuation;
  };

  // "bos": whether a BOS token was really put first (a tokenizer without one adds none)
  const bool bos_added = opt.bos && !tok->prefix_ids().empty();
  ZeroShotRun run;
  nlohmann::json& result = run.result;
  result = {{"model", fs::absolute(opt.model_dir).lexically_normal().string()}, {"bos", bos_added},
            {"harness", harness_description(opt.bos)}, {"threads", rt.threads},
            {"settings", {{"limit", opt.limit}, {"bos", opt.bos}, {"device", rt.device.str()},
                          {"compute_dtype", std::string(c10::toString(rt.compute_dtype))}, {"batch_size", rt.batch_size},
                          {"threads", rt.threads}, {"max_length", max_len},
                          {"target_delimiter", " "}, {"acc_norm", "loglik / code points of the choice text"}}},
            {"command", zeroshot_reproducing_command(opt)},
            {"tasks", nlohmann::json::object()}, {"task_order", nlohmann::json::array()}};
  double macro = 0;
  for (size_t ti = 0; ti < opt.tasks.size(); ++ti) {
    const TaskSpec& spec = opt.tasks[ti];
    const TaskDefinition& def = task_definition(spec.task);
    std::vector<Example>& examples = task_examples[ti];
    std::vector<Request> requests;
    int64_t truncated = 0;  // inputs cut on the left to the window, as lm-eval does
    for (size_t e = 0; e < examples.size(); ++e)
      for (size_t c = 0; c < examples[e].continuations.size(); ++c) {
        auto [ctx, cont] = encode_pair(*tok, examples[e].contexts[c], examples[e].continuations[c], opt.bos);
        if (static_cast<int64_t>(cont.size()) > max_len)
          throw InputError(spec.data + ": example " + std::to_string(e + 1) + ", choice " + std::to_string(c + 1) + " is " +
                           std::to_string(cont.size()) + " tokens, longer than the model's context window (" +
                           std::to_string(max_len) + ")");
        std::vector<int64_t> all = ctx;
        all.insert(all.end(), cont.begin(), cont.end());
        if (static_cast<int64_t>(all.size()) > max_len + 1) {
          all.erase(all.begin(), all.end() - (max_len + 1));
          ++truncated;
        }
        all.pop_back();
        requests.push_back({e, c, all, cont});
      }
    // Longest first, as lm-eval's Collator orders them: a chunk then holds requests of nearly one
    // length, so little of it is padding. Each request's log-likelihood does not depend on its chunk.
    std::stable_sort(requests.begin(), requests.end(),
                     [](const Request& a, const Request& b) { return a.input.size() > b.input.size(); });
    std::vector<std::vector<double>> logliks(examples.size());
    std::vector<std::vector<bool>> greedy(examples.size());
    for (size_t e = 0; e < examples.size(); ++e) {
      logliks[e].assign(examples[e].continuations.size(), 0.0);
      greedy[e].assign(examples[e].continuations.size(), false);
    }

    // Chunks of requests padded on the right to the chunk's longest: with causal attention the
    // padding never influences the positions that are read.
    const size_t chunk = static_cast<size_t>(rt.batch_size) * 16;
    ProgressLog progress(spec.task);
    for (size_t r0 = 0; r0 < requests.size(); r0 += chunk) {
      check_interrupted();
      const size_t r1 = std::min(requests.size(), r0 + chunk);
      size_t len = 1;
      for (size_t r = r0; r < r1; ++r) len = std::max(len, requests[r].input.size());
      // token k of a continuation is predicted at position n_in - n_cont + k; nothing else is asked
      auto tokens = torch::zeros({static_cast<int64_t>(r1 - r0), static_cast<int64_t>(len)}, torch::kInt64);
      auto targets = torch::full_like(tokens, -1);
      for (size_t r = r0; r < r1; ++r) {
        const Request& rq = requests[r];
        std::copy(rq.input.begin(), rq.input.end(), tokens[static_cast<int64_t>(r - r0)].data_ptr<int64_t>());
        std::copy(rq.continuation.begin(), rq.continuation.end(),
                  targets[static_cast<int64_t>(r - r0)].data_ptr<int64_t>() + rq.input.size() - rq.continuation.size());
      }
      model.for_each_target_scores(tokens, targets, [&](int64_t first, const torch::Tensor& lp, const torch::Tensor& is_max) {
        auto sums = lp.to(torch::kCPU, torch::kFloat64).sum(1);
        auto maxima = is_max.to(torch::kCPU, torch::kInt64).sum(1);  // asked positions whose target is the argmax
        for (int64_t b = 0; b < lp.size(0); ++b) {
          const Request& rq = requests[r0 + static_cast<size_t>(first + b)];
          logliks[rq.example][rq.choice] = sums[b].item<double>();
          // lm-eval's is_greedy: (greedy_tokens == cont_toks).all() over the continuation
          greedy[rq.example][rq.choice] = maxima[b].item<int64_t>() == static_cast<int64_t>(rq.continuation.size());
        }
      }, [&](double done) {
        progress.update((static_cast<double>(r0) + done * static_cast<double>(r1 - r0)) / static_cast<double>(requests.size()));
      });
    }

    // acc: argmax of the log-likelihoods; acc_norm: of loglik / len(choice) in code points, as
    // lm-eval's ConfigurableTask.process_results (a choice of length 0 divides by 0, as numpy does).
    int64_t correct = 0, correct_norm = 0;
    nlohmann::json per_example = nlohmann::json::array();
    for (size_t e = 0; e < examples.size(); ++e) {
      const auto& ll = logliks[e];
      std::vector<double> normalised(ll.size());
      for (size_t c = 0; c < ll.size(); ++c)
        normalised[c] = ll[c] / static_cast<double>(code_points(examples[e].choice_texts[c]));
      const size_t best = numpy_argmax(ll), best_norm = numpy_argmax(normalised);
      if (def.loglikelihood) {  // ConfigurableTask.process_results, output_type loglikelihood
        correct += greedy[e][0];
        per_example.push_back({{"logliks", ll}, {"is_greedy", static_cast<bool>(greedy[e][0])}});
        continue;
      }
      correct += static_cast<int64_t>(best) == examples[e].label;
      correct_norm += static_cast<int64_t>(best_norm) == examples[e].label;
      per_example.push_back({{"logliks", ll}, {"label", examples[e].label}, {"prediction", best}});
    }
    const int64_t n = static_cast<int64_t>(examples.size());
    const double acc = static_cast<double>(correct) / static_cast<double>(n);
    double perplexity = 0;
    if (def.loglikelihood) {  // lm_eval/api/metrics.py perplexity: exp(-mean(loglikelihoods))
      double sum = 0;
      for (const auto& ll : logliks) sum += ll[0];
      perplexity = std::exp(-sum / static_cast<double>(n));
    }
    const std::string data_path = fs::absolute(spec.data).lexically_normal().string();
    nlohmann::json task = {{"acc", acc}, {"acc_stderr", stderr_of(acc, n)}, {"n", n}, {"data", data_path},
                           {"data_bytes", fs::file_size(spec.data)}, {"data_sha256", file_sha256(spec.data)},
                           {"split", def.split}, {"truncated_inputs", truncated}};
    if (def.name == "mmlu") {
      task["num_fewshot"] = spec.num_fewshot;
      if (spec.num_fewshot > 0)
        task["fewshot_data"] = {{"path", fs::absolute(spec.fewshot_data).lexically_normal().string()},
                                {"sha256", file_sha256(spec.fewshot_data)}};
    }
    if (spec.task == "mc") {
      task["template"] = spec.templ.empty() ? nlohmann::json(nullptr) : nlohmann::json(spec.templ);
      task["choices"] = spec.choices.empty() ? nlohmann::json("the records' \"choices\"") : nlohmann::json(spec.choices);
    }
    if (truncated > 0)
      spdlog::warn("{}: {} of {} inputs were longer than the model's window ({} tokens) and cut on the left, as "
                   "lm-eval does", spec.task, truncated, requests.size(), max_len);
    if (def.loglikelihood) task["perplexity"] = perplexity;
    if (def.reports_acc_norm) {
      const double acc_norm = static_cast<double>(correct_norm) / static_cast<double>(n);
      task["acc_norm"] = acc_norm;
      task["acc_norm_stderr"] = stderr_of(acc_norm, n);
    }
    spdlog::info("{}: acc {:.4f} ± {:.4f} over {} examples", spec.task, acc, stderr_of(acc, n), n);
    task["examples"] = per_example;
    std::string name = spec.task;
    for (int k = 2; result["tasks"].contains(name); ++k) name = spec.task + "_" + std::to_string(k);
    result["tasks"][name] = task;
    result["task_order"].push_back(name);
    run.tasks.push_back({name, spec, std::move(examples), logliks, greedy});
    macro += acc;
  }
  result["macro_acc"] = macro / static_cast<double>(opt.tasks.size());
  // MMLU's groups as lm-eval aggregates them (mmlu.h): each category over its subjects, mmlu over
  // the categories, size-weighted with the pooled stderr (null where lm-eval says "N/A")
  std::map<std::string, std::vector<GroupMetric>> by_category;
  for (const auto& t : run.tasks)
    if (task_definition(t.spec.task).name == "mmlu") {
      const auto& r = result["tasks"][t.name];
      const int64_t n = r["n"].get<int64_t>();
      by_category[mmlu_category(t.spec.task.substr(5))].push_back(
          {r["acc"].get<double>(), n > 1 ? r["acc_stderr"].get<double>() : -1.0, n});
    }
  if (!by_category.empty()) {
    auto group_json = [](const GroupMetric& g) {
      return nlohmann::json{{"acc", g.value}, {"acc_stderr", g.stderr >= 0 ? nlohmann::json(g.stderr) : nlohmann::json(nullptr)},
                            {"n", g.size}};
    };
    std::vector<GroupMetric> categories;
    nlohmann::json groups = nlohmann::json::object();
    for (const auto& [category, members] : by_category) {
      categories.push_back(aggregate_group(members));
      groups["mmlu_" + category] = group_json(categories.back());
    }
    const GroupMetric all = aggregate_group(categories);
    groups["mmlu"] = group_json(all);
    result["groups"] = groups;
    spdlog::info("mmlu: acc {:.4f} over {} documents of {} subjects", all.value, all.size, run.tasks.size());
  }
  if (std::all_of(wanda7_tasks().begin(), wanda7_tasks().end(), [&](const std::string& t) { return result["tasks"].contains(t); })) {
    nlohmann::json table = nlohmann::json::object();
    double sum = 0;
    for (const auto& t : wanda7_tasks()) sum += (table[t] = result["tasks"][t]["acc"]).get<double>();
    table["mean"] = sum / static_cast<double>(wanda7_tasks().size());
    result["wanda7"] = table;
  }
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return run;
}

std::string harness_description(bool bos) {
  return std::string("lm-eval 0.4 prompts, ") +
         (bos ? "BOS first (lm-eval from PR #3347)" : "no BOS (lm-eval before PR #3347, as the Wanda code's harness)");
}

std::string wanda7_table(const nlohmann::json& result) {
  if (!result.contains("wanda7")) return "";
  std::string header, row;
  for (const auto& t : wanda7_tasks()) {
    const std::string col = wanda7_column(t);
    const size_t width = std::max<size_t>(col.size(), 6);
    char cell[32];
    std::snprintf(cell, sizeof cell, "%*.2f", static_cast<int>(width), 100.0 * result["wanda7"][t].get<double>());
    header += (header.empty() ? "" : "  ") + std::string(width - col.size(), ' ') + col;
    row += (row.empty() ? "" : "  ") + std::string(cell);
  }
  char mean[32];
  std::snprintf(mean, sizeof mean, "%6.2f", 100.0 * result["wanda7"]["mean"].get<double>());
  std::string harness;
  if (result.contains("harness"))
    harness = "(" + result["harness"].get<std::string>() + "; BOS added: " + (result.value("bos", false) ? "yes" : "no") + ")\n";
  return header + "    Mean\n" + row + "  " + mean + "\n" + harness;
}

}  // namespace enwanda
