// A subcommand of enwanda (git's builtin/, llama.cpp's tools/): its flags, the files it names, and
// its one library call. main.cpp only registers every subcommand, parses, and runs the one given;
// each subcommand lives in its own <name>_command.cpp.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "enwanda/text/text_corpus.h"

namespace enwanda::cli {

// The command line as the user gave it, for reports that record the reproducing command.
struct Invocation {
  std::string command_line;
};

// What the logging flags of every subcommand fill (-v, -q, --log-file; --config is read before parsing).
struct LoggingFlags {
  bool verbose = false, quiet = false;
  std::string log_file, config_shown_in_help;
  void add(CLI::App* sub);
};

class Subcommand {
 public:
  virtual ~Subcommand() = default;
  // Registers the subcommand and its flags under `parent` (the app, or `eval`).
  virtual CLI::App* add_to(CLI::App& parent, LoggingFlags& logging) = 0;
  // The --model values, resolved (hub cache, ORG/NAME) by main before run().
  virtual std::vector<std::string*> model_paths() { return {}; }
  // Every file the run reads or writes: the log file may be none of them.
  virtual std::vector<std::string> run_files() const = 0;
  virtual void run(const Invocation& inv) = 0;
};

std::unique_ptr<Subcommand> make_prune_command();
std::unique_ptr<Subcommand> make_calib_command();
std::unique_ptr<Subcommand> make_eval_ppl_command();
std::unique_ptr<Subcommand> make_eval_zeroshot_command();
std::unique_ptr<Subcommand> make_synth_command();
std::unique_ptr<Subcommand> make_inspect_command();
std::unique_ptr<Subcommand> make_tokenize_command();
std::unique_ptr<Subcommand> make_report_command();
std::unique_ptr<Subcommand> make_finetune_command();

// Flags several subcommands share ----------------------------------------------------------

// --device, --dtype, --batch-size, --threads (prune, eval ppl, eval zeroshot)
struct ComputeFlags {
  std::string device = "auto", dtype = "auto";
  int64_t batch_size = 0;
  int threads = 0;
  void add(CLI::App* app);
};

// How text is read and encoded: --rows and --split-special-tokens (prune, calib, eval ppl, tokenize).
struct TextFlags {
  std::string rows = "file";
  bool split_special_tokens = false;
  void add(CLI::App* sub, const char* joined);
  RowsView view() const { return parse_rows_view(rows); }
  SpecialLiterals literals() const { return split_special_tokens ? SpecialLiterals::as_text : SpecialLiterals::as_ids; }
};

constexpr const char* kSeqlenHelp =
    "tokens per calibration sequence; auto: the config's max_position_embeddings capped at 4096; max: uncapped";
constexpr int64_t kAutoSeqlenCap = 4096;
constexpr const char* kProtocolHelp =
    "wanda or sparsegpt: the paper code's settings (configs/protocol-*.json; flags given override them)";

// --seqlen N; auto: the checkpoint's max_position_embeddings capped at 4096 (locuslab/wanda's main.py
// get_llm sets model.seqlen = model.config.max_position_embeddings; the cap keeps a 128k-context
// model's default affordable); max: max_position_embeddings. A number past max_position_embeddings
// is refused (UsageError) unless `allow_untrained` (--allow-untrained-positions).
int64_t resolve_seqlen(const std::string& value, const std::string& model_dir, bool allow_untrained);

// A result as JSON, with "enwanda_version": enwanda's mark (replace_guard.h), written whole or not at all.
void write_json_file(const std::string& path, nlohmann::json j, bool overwrite);

}  // namespace enwanda::cli
