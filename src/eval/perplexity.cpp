#include "enwanda/eval/perplexity.h"

#include <chrono>
#include <cmath>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "enwanda/errors.h"
#include "enwanda/io/npy.h"
#include "enwanda/model/llama_model.h"
#include "enwanda/progress_log.h"
#include "enwanda/text/calibration.h"
#include "enwanda/text/text_corpus.h"
#include "enwanda/text/tokenizer.h"

namespace fs = std::filesystem;

namespace enwanda {

namespace {
// Wanda's lib/eval.py eval_ppl_wikitext: testenc = tokenizer("\n\n".join(...)) puts the tokenizer's
// BOS once, before the text; the windows are cut from those ids, so only the first starts with it.
constexpr const char* kBosRule = "once, before the text's first token (as tokenizer(text) in Wanda's eval_ppl); "
                                 "only the first window starts with it";

std::string absolute_path(const std::string& p) { return fs::absolute(p).lexically_normal().string(); }
std::vector<std::string> absolute_paths(const std::vector<std::string>& ps) {
  std::vector<std::string> out;
  for (const auto& p : ps) out.push_back(absolute_path(p));
  return out;
}
}  // namespace

std::vector<int64_t> slice_indices(int64_t windows, int64_t slices) {
  std::vector<int64_t> idx;
  if (slices <= 0 || slices >= windows) {
    for (int64_t i = 0; i < windows; ++i) idx.push_back(i);
    return idx;
  }
  if (slices == 1) return {0};
  for (int64_t k = 0; k < slices; ++k)
    idx.push_back(static_cast<int64_t>(std::llround(static_cast<double>(k) * (windows - 1) / (slices - 1))));
  return idx;
}

nlohmann::json evaluate_perplexity(const PerplexityOptions& opt) {
  const auto t0 = std::chrono::steady_clock::now();
  if (opt.data.empty() == opt.data_tokens.empty()) throw UsageError("give either --data FILE... or --data-tokens FILE.npy");
  if (opt.seqlen < 2) throw UsageError("--seqlen must be at least 2");
  if (opt.slices < 0) throw UsageError("--slices must be >= 0");
  auto ck = Checkpoint::open(opt.model_dir);
  Runtime rt = make_runtime(opt.device, opt.dtype, ck->weight_dtype(), opt.threads, opt.batch_size);
  LlamaModel model(ck, rt);

  torch::Tensor windows;
  int64_t bos_id = -1;
  if (!opt.data_tokens.empty()) {
    windows = read_token_npy(opt.data_tokens, ck->config().vocab_size);
  } else {
    auto tok = Tokenizer::load_for_model(opt.model_dir);
    bos_id = tok->bos_id();
    std::string text;
    if (opt.c4_validation) {
      // sparsegpt datautils.py get_c4 (locuslab/wanda lib/data.py the same): ' '.join(valdata[:1100]['text'])
      auto rows = read_text_rows(opt.data, opt.text);
      if (rows.size() > 1100) rows.resize(1100);
      text = join_rows(rows, " ");
    } else {
      text = read_text(opt.data, opt.rows, "\n\n", opt.text);
    }
    auto ids = tokenize_corpus(*tok, text, kCorpusChunkBytes, opt.literals);
    // 256 x seqlen in checked arithmetic: --seqlen 2^55 would overflow it (and then resize to garbage)
    int64_t c4_tokens = 0;
    if (__builtin_mul_overflow(int64_t{256}, opt.seqlen, &c4_tokens)) c4_tokens = INT64_MAX;
    if (opt.c4_validation && static_cast<int64_t>(ids.size()) > c4_tokens) ids.resize(static_cast<size_t>(c4_tokens));
    const int64_t w = static_cast<int64_t>(ids.size()) / opt.seqlen;
    if (w == 0)
      throw InputError(opt.data[0] + ": text has " + std::to_string(ids.size()) + " tokens, fewer than one window of --seqlen " +
                       std::to_string(opt.seqlen));
    windows = torch::from_blob(ids.data(), {w, opt.seqlen}, torch::kInt64).clone();
  }
  const int64_t total_windows = windows.size(0);
  ck->config().warn_if_untrained(windows.size(1), "windows");
  if (opt.slices > total_windows)
    spdlog::warn("--slices {} asks for more windows than the text has ({} of {} tokens): evaluating all {}", opt.slices,
                 total_windows, windows.size(1), total_windows);
  auto picked = slice_indices(total_windows, opt.slices);
  windows = windows.index_select(0, torch::tensor(picked, torch::kInt64));
  spdlog::info("perplexity: {} of {} windows of {} tokens on {}", windows.size(0), total_windows, windows.size(1), rt.describe());

  double nll = 0.0;
  int64_t predicted = 0;
  // position t predicts token t+1; the last position predicts nothing
  auto targets = torch::full_like(windows, -1);
  targets.slice(1, 0, -1).copy_(windows.slice(1, 1));
  ProgressLog progress("perplexity");
  model.for_each_target_log_probs(
      windows, targets,
      [&](int64_t, const torch::Tensor& lp) {
        nll -= lp.to(torch::kFloat64).sum().item<double>();
        predicted += lp.size(0) * (lp.size(1) - 1);
        check_interrupted();
      },
      [&](double done) { progress.update(done); });
  const double ppl = std::exp(nll / static_cast<double>(predicted));
  // each data file read, with its absolute path, size and sha256 (as prune's report)
  nlohmann::json files = nlohmann::json::array();
  const std::vector<std::string> read = opt.data_tokens.empty() ? corpus_file_paths(opt.data) : std::vector<std::string>{opt.data_tokens};
  for (const auto& f : read) {
    const FileDigest d = text_file_digest(f);  // as read: a stream cannot be read again
    files.push_back({{"path", fs::absolute(f).lexically_normal().string()}, {"bytes", d.bytes}, {"sha256", d.sha256}});
  }
  return {{"ppl", ppl},
          {"nll", nll},
          {"windows", windows.size(0)},
          {"total_windows", total_windows},
          {"predicted_tokens", predicted},
          {"window_indices", picked},
          {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()},
          {"settings",
           {{"model", absolute_path(opt.model_dir)}, {"data", absolute_paths(opt.data)},
            {"data_tokens", opt.data_tokens.empty() ? "" : absolute_path(opt.data_tokens)}, {"seqlen", windows.size(1)},
            {"bos", opt.data_tokens.empty() ? nlohmann::json{{"rule", kBosRule}, {"id", bos_id < 0 ? nlohmann::json() : nlohmann::json(bos_id)}}
                                            : nlohmann::json{{"rule", "the windows of --data-tokens as they are"}}},
            {"field", opt.text.field}, {"max_mib", opt.text.max_bytes >> 20},
            {"files", files}, {"protocol", opt.protocol}, {"c4_validation", opt.c4_validation},
            {"rows", rows_view_name(opt.rows)}, {"special_literals", opt.literals == SpecialLiterals::as_ids ? "ids" : "text"},
            {"slices", opt.slices}, {"device", rt.device.str()}, {"compute_dtype", std::string(c10::toString(rt.compute_dtype))},
             {"threads", rt.threads}}},
          {"reproduce", opt.command_line},
          {"cwd", fs::current_path().string()}};
}

}  // namespace enwanda
