#include "enwanda/zeroshot.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>

#include <spdlog/spdlog.h>

#include "enwanda/errors.h"
#include "enwanda/llama_model.h"
#include "enwanda/progress_log.h"

namespace fs = std::filesystem;

namespace enwanda {

namespace {
int64_t label_of(const nlohmann::json& doc, const char* key) {
  const auto& v = doc.at(key);
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  if (v.is_string()) return std::stoll(v.get<std::string>());
  return v.get<int64_t>();
}

std::string strip(const std::string& s) {
  auto b = s.find_first_not_of(" \t\n\r");
  if (b == std::string::npos) return "";
  auto e = s.find_last_not_of(" \t\n\r");
  return s.substr(b, e - b + 1);
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
  return s;
}

std::string python_capitalize(const std::string& s) {  // first character upper, the rest lower (ASCII)
  std::string out = s;
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<char>(i == 0 ? std::toupper(static_cast<unsigned char>(out[i])) : std::tolower(static_cast<unsigned char>(out[i])));
  return out;
}

double stderr_of(double p, int64_t n) { return n > 1 ? std::sqrt(p * (1 - p) / static_cast<double>(n - 1)) : 0.0; }
}  // namespace

Example boolq_example(const nlohmann::json& doc) {
  Example ex;
  ex.context = doc.at("passage").get<std::string>() + "\nQuestion: " + doc.at("question").get<std::string>() + "?\nAnswer:";
  ex.choice_texts = {"no", "yes"};
  ex.continuations = {" no", " yes"};
  ex.label = doc.contains("label") ? label_of(doc, "label") : label_of(doc, "answer");
  return ex;
}

std::string hellaswag_preprocess(const std::string& text) {
  std::string t = strip(text);
  t = replace_all(t, " [title]", ". ");
  t = std::regex_replace(t, std::regex("\\[.*?\\]"), "");
  t = replace_all(t, "  ", " ");
  return t;
}

Example hellaswag_example(const nlohmann::json& doc) {
  Example ex;
  std::string ctx = doc.at("ctx_a").get<std::string>() + " " + python_capitalize(doc.at("ctx_b").get<std::string>());
  ex.context = hellaswag_preprocess(doc.at("activity_label").get<std::string>() + ": " + ctx);
  for (const auto& ending : doc.at("endings")) {
    std::string choice = hellaswag_preprocess(ending.get<std::string>());
    ex.choice_texts.push_back(choice);
    ex.continuations.push_back(" " + choice);
  }
  ex.label = label_of(doc, "label");
  return ex;
}

Example mc_example(const nlohmann::json& doc, const std::string& templ, const std::vector<std::string>& choices) {
  Example ex;
  std::vector<std::string> texts;
  if (doc.contains("context")) {
    ex.context = doc.at("context").get<std::string>();
    for (const auto& c : doc.at("choices")) texts.push_back(c.get<std::string>());
  } else {
    if (templ.empty() || choices.empty())
      throw UsageError("mc data with a \"text\" field needs --template \"...{text}...\" and --choices a,b");
    ex.context = replace_all(templ, "{text}", doc.at("text").get<std::string>());
    texts = choices;
  }
  for (const auto& t : texts) {
    ex.choice_texts.push_back(t);
    ex.continuations.push_back(" " + t);
  }
  ex.label = label_of(doc, "label");
  return ex;
}

std::vector<Example> load_task(const TaskSpec& spec, int64_t limit) {
  std::ifstream in(spec.data);
  if (!in) throw InputError(spec.data + ": cannot read task data");
  std::vector<Example> out;
  std::string line;
  int64_t lineno = 0;
  while (std::getline(in, line) && (limit <= 0 || static_cast<int64_t>(out.size()) < limit)) {
    ++lineno;
    if (strip(line).empty()) continue;
    try {
      auto doc = nlohmann::json::parse(line);
      Example ex = spec.task == "boolq"       ? boolq_example(doc)
                   : spec.task == "hellaswag" ? hellaswag_example(doc)
                                              : mc_example(doc, spec.templ, spec.choices);
      if (ex.label < 0 || ex.label >= static_cast<int64_t>(ex.continuations.size()))
        throw InputError("label " + std::to_string(ex.label) + " is not a choice index");
      out.push_back(std::move(ex));
    } catch (const UsageError&) {
      throw;
    } catch (const std::exception& e) {
      throw InputError(spec.data + ":" + std::to_string(lineno) + ": not a valid " + spec.task + " example (" + e.what() + ")");
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
    return {{tok.bos_id()}, cont};
  }
  auto whole = tok.encode(context + continuation, bos);
  auto ctx = tok.encode(context, bos);
  std::vector<int64_t> cont(whole.begin() + static_cast<std::ptrdiff_t>(std::min(ctx.size(), whole.size())), whole.end());
  return {ctx, cont};
}

nlohmann::json evaluate_zeroshot(const ZeroShotOptions& opt) {
  if (opt.tasks.empty()) throw UsageError("give at least one --task with its --data");
  for (const auto& t : opt.tasks)
    if (t.task != "boolq" && t.task != "hellaswag" && t.task != "mc")
      throw UsageError("--task must be boolq, hellaswag or mc, got " + t.task);
  auto ck = Checkpoint::open(opt.model_dir);
  Runtime rt = make_runtime(opt.device, opt.dtype, ck->weight_dtype(), opt.threads, opt.batch_size);
  LlamaModel model(ck, rt);
  auto tok = Tokenizer::load((fs::path(opt.model_dir) / "tokenizer.model").string());
  const int64_t max_len = ck->config().max_position_embeddings;

  // One request per (example, choice): the model input (context + continuation without its last
  // token, cut on the left to the context window) and the continuation tokens to score.
  struct Request {
    size_t example, choice;
    std::vector<int64_t> input;
    std::vector<int64_t> continuation;
  };

  nlohmann::json result = {{"model", opt.model_dir}, {"bos", opt.bos}, {"tasks", nlohmann::json::object()}};
  double macro = 0;
  for (const auto& spec : opt.tasks) {
    auto examples = load_task(spec, opt.limit);
    std::vector<Request> requests;
    for (size_t e = 0; e < examples.size(); ++e)
      for (size_t c = 0; c < examples[e].continuations.size(); ++c) {
        auto [ctx, cont] = encode_pair(*tok, examples[e].context, examples[e].continuations[c], opt.bos);
        if (static_cast<int64_t>(cont.size()) > max_len)
          throw InputError(spec.data + ": example " + std::to_string(e + 1) + ", choice " + std::to_string(c + 1) + " is " +
                           std::to_string(cont.size()) + " tokens, longer than the model's context window (" +
                           std::to_string(max_len) + ")");
        std::vector<int64_t> all = ctx;
        all.insert(all.end(), cont.begin(), cont.end());
        if (static_cast<int64_t>(all.size()) > max_len + 1) all.erase(all.begin(), all.end() - (max_len + 1));
        all.pop_back();
        requests.push_back({e, c, all, cont});
      }
    std::vector<std::vector<double>> logliks(examples.size());
    for (size_t e = 0; e < examples.size(); ++e) logliks[e].assign(examples[e].continuations.size(), 0.0);

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
      model.for_each_target_log_probs(tokens, targets, [&](int64_t first, const torch::Tensor& lp) {
        auto sums = lp.to(torch::kCPU, torch::kFloat64).sum(1);
        for (int64_t b = 0; b < lp.size(0); ++b) {
          const Request& rq = requests[r0 + static_cast<size_t>(first + b)];
          logliks[rq.example][rq.choice] = sums[b].item<double>();
        }
      }, [&](double done) {
        progress.update((static_cast<double>(r0) + done * static_cast<double>(r1 - r0)) / static_cast<double>(requests.size()));
      });
    }

    int64_t correct = 0, correct_norm = 0;
    nlohmann::json per_example = nlohmann::json::array();
    for (size_t e = 0; e < examples.size(); ++e) {
      const auto& ll = logliks[e];
      size_t best = 0, best_norm = 0;
      for (size_t c = 1; c < ll.size(); ++c) {
        if (ll[c] > ll[best]) best = c;
        auto norm = [&](size_t i) { return ll[i] / std::max<double>(1.0, static_cast<double>(examples[e].choice_texts[i].size())); };
        if (norm(c) > norm(best_norm)) best_norm = c;
      }
      correct += static_cast<int64_t>(best) == examples[e].label;
      correct_norm += static_cast<int64_t>(best_norm) == examples[e].label;
      per_example.push_back({{"logliks", ll}, {"label", examples[e].label}, {"prediction", best}});
    }
    const int64_t n = static_cast<int64_t>(examples.size());
    const double acc = static_cast<double>(correct) / static_cast<double>(n);
    nlohmann::json task = {{"acc", acc}, {"acc_stderr", stderr_of(acc, n)}, {"n", n}, {"data", spec.data}};
    if (spec.task != "boolq") {
      const double acc_norm = static_cast<double>(correct_norm) / static_cast<double>(n);
      task["acc_norm"] = acc_norm;
      task["acc_norm_stderr"] = stderr_of(acc_norm, n);
    }
    spdlog::info("{}: acc {:.4f} ± {:.4f} over {} examples", spec.task, acc, stderr_of(acc, n), n);
    task["examples"] = per_example;
    std::string name = spec.task;
    for (int k = 2; result["tasks"].contains(name); ++k) name = spec.task + "_" + std::to_string(k);
    result["tasks"][name] = task;
    macro += acc;
  }
  result["macro_acc"] = macro / static_cast<double>(opt.tasks.size());
  return result;
}

}  // namespace enwanda
