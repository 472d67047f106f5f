// enwanda eval ppl: perplexity over non-overlapping windows (perplexity.h).
#include <fmt/format.h>

#include "enwanda/errors.h"
#include "enwanda/eval/perplexity.h"
#include "enwanda/io/replace_guard.h"
#include "enwanda/text/tokenizer_fingerprint.h"
#include "console_output.h"
#include "prune_flags.h"
#include "subcommand.h"

namespace enwanda::cli {
namespace {

class EvalPplCommand : public Subcommand {
 public:
  CLI::App* add_to(CLI::App& parent, LoggingFlags& logging) override {
    auto* ppl = app_ = parent.add_subcommand("ppl", "perplexity over non-overlapping windows");
    ppl->add_option("--model", opt.model_dir, "checkpoint: directory, hub cache repository or ORG/NAME")->required();
    ppl->add_option("--data", opt.data, "text files, joined with blank lines");
    ppl->add_option("--data-tokens", opt.data_tokens, ".npy [n, seqlen] of token windows");
    ppl->add_option("--seqlen", seqlen, "tokens per window, or max: the config's max_position_embeddings")->capture_default_str();
    ppl->add_flag("--c4-validation", opt.c4_validation,
                  "--data is C4 validation: \" \".join of its first 1100 records, cut to 256 x seqlen tokens (sparsegpt's get_c4)");
    ppl->add_option("--slices", opt.slices, "evaluate only N evenly spaced fixed windows");
    ppl->add_option("--json", json, "write the result as JSON");
    ppl->add_flag("--overwrite", overwrite, "replace an existing --json that enwanda wrote");
    text.add(ppl, "\"\\n\\n\"");
    ppl->add_option("--protocol", opt.protocol, kProtocolHelp);
    add_text_reading_flags(ppl, opt.text, max_mib, "data");
    compute.add(ppl);
    logging.add(ppl);
    return ppl;
  }

  std::vector<std::string*> model_paths() override { return {&opt.model_dir}; }

  std::vector<std::string> run_files() const override {
    std::vector<std::string> files{opt.model_dir, opt.data_tokens, json};
    files.insert(files.end(), opt.data.begin(), opt.data.end());
    return files;
  }

  void run(const Invocation& inv) override {
    // flags that shape how text becomes windows do nothing to --data-tokens: refused, not recorded as if applied
    if (!opt.data_tokens.empty())
      for (const char* flag : {"--seqlen", "--c4-validation", "--rows", "--split-special-tokens", "--data-field", "--data-max-mib"})
        if (app_->count(flag))
          throw UsageError(std::string(flag) + " applies to --data text; the windows of --data-tokens are used as they are "
                           "(their length is the .npy's second dimension)");
    opt.seqlen = resolve_seqlen(seqlen, opt.model_dir, /*allow_untrained=*/true);  // warned about in the run
    opt.rows = text.view();
    opt.literals = text.literals();
    opt.text.max_bytes = static_cast<uint64_t>(max_mib) << 20;
    opt.device = compute.device;
    opt.dtype = compute.dtype;
    opt.batch_size = compute.batch_size;
    opt.threads = compute.threads;
    opt.command_line = inv.command_line;
    if (!json.empty()) {
      std::vector<std::string> inputs = opt.data;
      inputs.insert(inputs.end(), {opt.model_dir, opt.data_tokens});
      check_output_file("--json", json, overwrite, inputs);
    }
    if (!opt.data_tokens.empty()) check_token_file("--data-tokens", opt.data_tokens, opt.model_dir, 0, 0);
    auto r = evaluate_perplexity(opt);
    print_result(fmt::format("ppl {:.6f}  windows {}/{}  tokens {}\n", r["ppl"].get<double>(), r["windows"].get<int64_t>(),
                             r["total_windows"].get<int64_t>(), r["predicted_tokens"].get<int64_t>()));
    if (!json.empty()) write_json_file(json, r, overwrite);
  }

 private:
  CLI::App* app_ = nullptr;
  PerplexityOptions opt;
  TextFlags text;
  ComputeFlags compute;
  std::string seqlen = "2048", json;
  bool overwrite = false;
  int64_t max_mib = kDefaultTextMaxMiB;
};

}  // namespace

std::unique_ptr<Subcommand> make_eval_ppl_command() { return std::make_unique<EvalPplCommand>(); }

}  // namespace enwanda::cli
