// enwanda: the command-line tool. Parses flags into the library's option structs and calls one
// library function per subcommand; every error becomes one line on stderr and an exit code
// (README, "Exit codes").
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "enwanda/errors.h"
#include "enwanda/io/json_text.h"
#include "enwanda/eval/inspect.h"
#include "enwanda/eval/perplexity.h"
#include "enwanda/eval/sweep_report.h"
#include "enwanda/eval/zeroshot.h"
#include "enwanda/model/checkpoint.h"
#include "enwanda/io/crash_cleanup.h"
#include "enwanda/io/npy.h"
#include "enwanda/io/output_directory.h"
#include "enwanda/io/replace_guard.h"
#include "enwanda/model/blas_kernels.h"
#include "enwanda/io/model_location.h"
#include "enwanda/model/synth.h"
#include "enwanda/model/llama_config.h"
#include "enwanda/prune/pruner.h"
#include "enwanda/text/calibration.h"
#include "enwanda/text/text_corpus.h"
#include "enwanda/text/tokenizer.h"
#include "enwanda/text/tokenizer_fingerprint.h"
#include "command_line.h"
#include "console_output.h"
#include "prune_flags.h"

namespace fs = std::filesystem;
using namespace enwanda;

namespace {

// A result as JSON, with "enwanda_version": enwanda's mark (replace_guard.h).
void write_json_file(const std::string& path, nlohmann::json j, bool overwrite) {
  if (!j.contains("enwanda_version")) j["enwanda_version"] = ENWANDA_VERSION_STRING;
  write_text_file_atomic(path, dump_json(j) + "\n", overwrite);
}

struct Common {
  std::string device = "auto", dtype = "auto";
  int64_t batch_size = 0;
  int threads = 0;
  void add(CLI::App* app) {
    app->add_option("--device", device, "auto|cpu|cuda")->capture_default_str();
    app->add_option("--dtype", dtype, "auto|fp32|fp16|bf16 (CPU computes in fp32)")->capture_default_str();
    app->add_option("--batch-size", batch_size, "sequences per micro-batch (0: default)")->check(CLI::Range(0, 1 << 20));
    app->add_option("--threads", threads, "CPU threads (0: $OMP_NUM_THREADS, else the cores available; at most 4x the hardware threads, 1024)")->check(CLI::Range(0, 1 << 20));
  }
};

// CLI11 names a negated flag with its value, "--no-overlap{false}", which reads as if the default
// were false; help lists the names alone (the descriptions say which is the default).
class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_option_name(const CLI::Option* opt, bool is_positional) const override {
    std::string name = CLI::Formatter::make_option_name(opt, is_positional);
    for (auto open = name.find('{'); open != std::string::npos; open = name.find('{', open)) {
      auto close = name.find('}', open);
      if (close == std::string::npos) break;
      name.erase(open, close - open + 1);
    }
    return name;
  }
};

constexpr const char* kSeqlenHelp = "tokens per calibration sequence, or max: the config's max_position_embeddings";
constexpr const char* kProtocolHelp =
    "wanda or sparsegpt: the paper code's settings (configs/protocol-*.json; flags given override them)";

// --seqlen N, or max: the checkpoint's max_position_embeddings, as locuslab/wanda's main.py sets model.seqlen
int64_t resolve_seqlen(const std::string& value, const std::string& model_dir) {
  if (value == "max") {
    const auto c = LlamaConfig::from_file((fs::path(model_dir) / "config.json").string());
    spdlog::info("--seqlen max: {} tokens (max_position_embeddings)", c.max_position_embeddings);
    return c.max_position_embeddings;
  }
  size_t used = 0;
  long long n = 0;
  try {
    n = std::stoll(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != value.size()) throw UsageError("--seqlen must be a number of tokens or max, got " + value);
  return n;
}

std::string joined_command_line(int argc, char** argv) {
  std::string s;
  for (int i = 0; i < argc; ++i) s += (i ? " " : "") + std::string(argv[i]);
  return s;
}

int run(int argc, char** argv) {
  const cli::ExpandedArgs expanded = cli::expand_config(std::vector<std::string>(argv + 1, argv + argc));
  const std::vector<std::string>& args = expanded.args;

  CLI::App app{"enwanda: prune LLaMA checkpoints with elastic-net Wanda, without retraining", "enwanda"};
  app.formatter(std::make_shared<HelpFormatter>());
  app.require_subcommand(1);
  app.set_version_flag("--version", ENWANDA_VERSION_STRING);
  bool verbose = false, quiet = false;
  std::string log_file, config_shown_in_help;
  auto add_logging = [&](CLI::App* sub) {
    sub->add_flag("-v,--verbose", verbose, "debug logging");
    sub->add_flag("-q,--quiet", quiet, "warnings and errors only");
    sub->add_option("--log-file", log_file, "also log to this file (appended to; never one of the run's files)");
    // read (and removed from the arguments) by cli::expand_config before parsing; listed for --help
    sub->add_option("--config", config_shown_in_help, "JSON preset of option defaults (keys: long option names; "
                                                      "the command line overrides them)");
  };

  // how text is read and encoded: --rows and --split-special-tokens (prune, calib, eval ppl, tokenize)
  struct TextFlags {
    std::string rows = "file";
    bool split_special_tokens = false;
    RowsView view() const { return parse_rows_view(rows); }
    SpecialLiterals literals() const { return split_special_tokens ? SpecialLiterals::as_text : SpecialLiterals::as_ids; }
  };
  auto add_text_flags = [](CLI::App* sub, TextFlags& f, const char* joined) {
    sub->add_option("--rows", f.rows, std::string("file (the files' text) or hf: the lines as HF datasets' wikitext builder "
                                                  "yields them (JSON lines: the records), joined with ") + joined)
        ->capture_default_str();
    sub->add_flag("--split-special-tokens", f.split_special_tokens,
                  "encode literals of special tokens in the text (<unk>, <s>, </s>) as plain text, not as their ids");
  };

  // prune ------------------------------------------------------------------------------
  PruneOptions po;
  TextFlags prune_text;
  Common prune_common;
  std::string method = "en", geometry = "modified", structure = "unstructured", stat_norm = "sequences",
              allocation = "uniform", dsnot_skip = "mlp";
  bool no_ro = false;
  std::vector<std::string> sparsity_of;
  auto* prune = app.add_subcommand("prune", "prune a checkpoint and write the pruned one");
  prune->add_option("--model", po.model_dir, "input checkpoint: a directory, a hub cache models--ORG--NAME, or ORG/NAME in the hub cache")->required();
  prune->add_option("--calib", po.calib.text_paths, "calibration text files or directories");
  prune->add_option("--calib-tokens", po.calib.tokens_path, "calibration tokens .npy [nsamples, seqlen]");
  prune->add_option("--out", po.out_dir, "output checkpoint directory")->required();
  prune->add_option("--method", method, "en|wanda|magnitude|wanda++|en++|sparsegpt|ria|dsnot|alps")->capture_default_str();
  prune->add_option("--geometry", geometry, "original|modified (elastic-net scale)")->capture_default_str();
  prune->add_option("--alpha", po.alpha, "elastic-net mixing weight in [0, 1]")
      ->check(cli::finite_in(0, 1, "a number in [0, 1]"))
      ->capture_default_str();
  prune->add_option("--sparsity", po.sparsity, "fraction pruned (per row; per matrix for magnitude and ria), in [0, 1)")
      ->check(cli::finite_in(0, 1, "a fraction in [0, 1), e.g. 0.5", false, true))
      ->capture_default_str();
  prune->add_option("--targets", po.linears.targets,
                    "prune only the linears matching: re:REGEX (from the name's start) or an exact name such as "
                    "model.layers.3.mlp.down_proj; repeatable");
  prune->add_option("--ignore", po.linears.ignore, "leave the linears matching as they are (re:REGEX or an exact name); repeatable");
  prune->add_option("--sparsity-of", sparsity_of, "TYPE=S: the sparsity of one linear type (q, k, v, o, gate, up, down); repeatable");
  prune->add_option("--allocation", allocation, "per-layer sparsity: uniform, or owl (outlier-weighted)")->capture_default_str();
  prune->add_option("--owl-m", po.owl.m, "OWL: outlier threshold in multiples of a layer's mean score")
      ->check(cli::finite_in(0, 1e30, "a number > 0", true))
      ->capture_default_str();
  prune->add_option("--owl-lambda", po.owl.lambda, "OWL: layer sparsities span 2 x lambda, shifted so that their mean is --sparsity")
      ->check(cli::finite_in(0, 1, "a fraction in [0, 1]"))
      ->capture_default_str();
  prune->add_option("--sparsegpt-damp", po.sparsegpt.damp, "SparseGPT: dampening, a fraction of mean(diag H)")
      ->check(cli::finite_in(0, 1e30, "a number > 0", true))
      ->capture_default_str();
  prune->add_option("--sparsegpt-block", po.sparsegpt.block, "SparseGPT: columns per lazy-update block")->capture_default_str();
  prune->add_option("--ria-power", po.ria.power, "RIA: exponent a of the activation norm")
      ->check(cli::finite_in(-1e6, 1e6, "a finite number"))
      ->capture_default_str();
  prune->add_option("--dsnot-cycles", po.dsnot.cycles, "DSnoT: passes of prune-and-regrow over the rows (0: Wanda)")
      ->capture_default_str();
  prune->add_option("--dsnot-threshold", po.dsnot.threshold, "DSnoT: a row stops once its |error| is at most this")
      ->check(cli::finite_in(0, 1e30, "a number >= 0"))
      ->capture_default_str();
  prune->add_option("--dsnot-pow-var", po.dsnot.pow_var, "DSnoT: regrow order d/var^p (0: no division)")
      ->check(cli::finite_in(-1e6, 1e6, "a finite number"))
      ->capture_default_str();
  prune->add_option("--dsnot-skip", dsnot_skip, "DSnoT: linears that keep the Wanda mask: mlp, attention or none")
      ->capture_default_str();
  prune->add_option("--alps-rho", po.alps.rho, "ALPS: ADMM's initial penalty rho")
      ->check(cli::finite_in(0, 1e30, "a number > 0", true))
      ->capture_default_str();
  prune->add_option("--alps-iters", po.alps.iters, "ALPS: ADMM iterations at most")->capture_default_str();
  prune->add_option("--structure", structure, "unstructured or N:M (e.g. 2:4)")->capture_default_str();
  prune->add_option("--nsamples", po.calib.nsamples, "calibration sequences")->capture_default_str();
  std::string prune_seqlen = "2048", calib_seqlen = "2048", ppl_seqlen = "2048";
  prune->add_option("--seqlen", prune_seqlen, kSeqlenHelp)->capture_default_str();
  prune->add_option("--seed", po.calib.seed, "calibration sampling seed")->capture_default_str();
  prune->add_option("--calib-mult", po.calib.calib_mult, "draw nsamples x this many windows")->capture_default_str();
  prune->add_option("--calib-sampling", po.calib.sampling,
                    "windows (anywhere in the joined text) or documents (Wanda's C4 protocol: a window inside a "
                    "random JSON-lines record longer than seqlen)")
      ->capture_default_str();
  prune->add_option("--stat-norm", stat_norm, "divisor of the activation sums: sequences (as Wanda) or tokens")
      ->capture_default_str();
  prune->add_flag("--sequential,!--no-sequential", po.sequential, "next layer's inputs from the pruned layer (default)");
  prune->add_flag("--overwrite", po.overwrite, "replace an existing --out");
  prune->add_flag("!--no-overlap", po.overlap_io, "read and write layers on the main thread (no background I/O)");
  prune->add_option("--save-stats", po.save_stats, "write activation statistics (needs --no-sequential)");
  prune->add_option("--load-stats", po.load_stats, "reuse activation statistics (needs --no-sequential)");
  prune->add_option("--rgs-scale", po.regional.gamma, "Wanda++ gradient weight γ")
      ->check(cli::finite_in(0, 1e30, "a number >= 0"))
      ->capture_default_str();
  prune->add_option("--rgs-samples", po.regional.rgs_samples, "samples for the regional gradient (0: all)");
  prune->add_flag("--no-ro", no_ro, "Wanda++ without regional optimisation");
  prune->add_option("--ro-iters", po.regional.ro_iters, "regional optimisation rounds")->capture_default_str();
  prune->add_option("--ro-samples", po.regional.ro_samples, "samples per RO round")->capture_default_str();
  prune->add_option("--ro-lr", po.regional.ro_lr, "RMSprop learning rate for RO")
      ->check(cli::finite_in(0, 1e6, "a number > 0", true))
      ->capture_default_str();
  prune->add_flag("--regional-tf32", po.regional.tf32, "CUDA: TF32 tensor cores for the RGS/RO matmuls (3.4x faster on an H100)");
  add_text_flags(prune, prune_text, "\" \" for --calib-sampling windows");
  int64_t prune_max_mib = kDefaultTextMaxMiB, calib_max_mib = kDefaultTextMaxMiB, ppl_max_mib = kDefaultTextMaxMiB;
  cli::add_text_reading_flags(prune, po.calib.text, prune_max_mib, "calib");
  prune->add_option("--protocol", po.calib.protocol, kProtocolHelp);
  prune_common.add(prune);
  add_logging(prune);

  // calib ------------------------------------------------------------------------------
  CalibrationOptions co;
  TextFlags calib_text;
  std::string calib_model, calib_out;
  auto* calib = app.add_subcommand("calib", "draw a calibration set once and save it as .npy");
  calib->add_option("--model", calib_model, "checkpoint (directory, hub cache repository or ORG/NAME) whose tokenizer to use")->required();
  calib->add_option("--calib", co.text_paths, "calibration text files or directories")->required();
  calib->add_option("--nsamples", co.nsamples, "calibration sequences")->capture_default_str();
  calib->add_option("--seqlen", calib_seqlen, kSeqlenHelp)->capture_default_str();
  calib->add_option("--seed", co.seed, "calibration sampling seed")->capture_default_str();
  calib->add_option("--calib-mult", co.calib_mult, "draw nsamples x this many windows")->capture_default_str();
  calib->add_option("--calib-sampling", co.sampling,
                    "windows (anywhere in the joined text) or documents (Wanda's C4 protocol: a window inside a "
                    "random JSON-lines record longer than seqlen)")
      ->capture_default_str();
  calib->add_option("--out", calib_out, "output .npy")->required();
  bool calib_overwrite = false;
  calib->add_flag("--overwrite", calib_overwrite, "replace an existing --out that enwanda wrote");
  add_text_flags(calib, calib_text, "\" \" for --calib-sampling windows");
  cli::add_text_reading_flags(calib, co.text, calib_max_mib, "calib");
  calib->add_option("--protocol", co.protocol, kProtocolHelp);
  add_logging(calib);

  // eval ppl / eval zeroshot -------------------------------------------------------------
  auto* eval = app.add_subcommand("eval", "evaluate a checkpoint");
  eval->require_subcommand(1);
  PerplexityOptions ppl_opt;
  TextFlags ppl_text;
  Common ppl_common;
  std::string ppl_json;
  auto* ppl = eval->add_subcommand("ppl", "perplexity over non-overlapping windows");
  ppl->add_option("--model", ppl_opt.model_dir, "checkpoint: directory, hub cache repository or ORG/NAME")->required();
  ppl->add_option("--data", ppl_opt.data, "text files, joined with blank lines");
  ppl->add_option("--data-tokens", ppl_opt.data_tokens, ".npy [n, seqlen] of token windows");
  ppl->add_option("--seqlen", ppl_seqlen, "tokens per window, or max: the config's max_position_embeddings")
      ->capture_default_str();
  ppl->add_flag("--c4-validation", ppl_opt.c4_validation,
                "--data is C4 validation: \" \".join of its first 1100 records, cut to 256 x seqlen tokens (sparsegpt's get_c4)");
  ppl->add_option("--slices", ppl_opt.slices, "evaluate only N evenly spaced fixed windows");
  ppl->add_option("--json", ppl_json, "write the result as JSON");
  bool ppl_overwrite = false;
  ppl->add_flag("--overwrite", ppl_overwrite, "replace an existing --json that enwanda wrote");
  add_text_flags(ppl, ppl_text, "\"\\n\\n\"");
  ppl->add_option("--protocol", ppl_opt.protocol, kProtocolHelp);
  cli::add_text_reading_flags(ppl, ppl_opt.text, ppl_max_mib, "data");
  ppl_common.add(ppl);
  add_logging(ppl);

  ZeroShotOptions zs_opt;
  Common zs_common;
  std::vector<std::string> zs_tasks, zs_data;
  std::string zs_data_dir, zs_template, zs_choices, zs_json;
  auto* zs = eval->add_subcommand("zeroshot", "zero-shot accuracy by log-likelihood (lm-eval protocol)");
  zs->add_option("--model", zs_opt.model_dir, "checkpoint: directory, hub cache repository or ORG/NAME")->required();
  zs->add_option("--task", zs_tasks,
                 "boolq|rte|hellaswag|winogrande|arc_easy|arc_challenge|openbookqa|piqa|mc (repeat, each with its --data), "
                 "or wanda7: the seven tasks of the Wanda paper's table from --data-dir")->required();
  zs->add_option("--data", zs_data, "jsonl file per --task");
  zs->add_option("--data-dir", zs_data_dir, "directory holding {task}.jsonl for every --task (instead of --data)");
  zs->add_option("--template", zs_template, "for mc {\"text\",\"label\"} data: prompt with {text}");
  zs->add_option("--choices", zs_choices, "for mc {\"text\",\"label\"} data: comma-separated choices");
  zs->add_option("--limit", zs_opt.limit, "first N examples per task");
  bool zs_no_bos = false;
  zs->add_flag("--no-bos", zs_no_bos, "prepend no BOS (lm-eval before its PR #3347, e.g. the Wanda code's harness)");
  zs->add_option("--json", zs_json, "write the result as JSON");
  bool zs_overwrite = false;
  zs->add_flag("--overwrite", zs_overwrite, "replace an existing --json that enwanda wrote");
  zs_common.add(zs);
  add_logging(zs);

  // synth ------------------------------------------------------------------------------
  SynthOptions so;
  auto* synth_cmd = app.add_subcommand("synth", "write a random-initialised LLaMA checkpoint");
  synth_cmd->add_option("--shape", so.shape, shape_names())->capture_default_str();
  synth_cmd->add_option("--layers", so.layers, "number of decoder layers (default: the shape's)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  synth_cmd->add_option("--dtype", so.dtype, "fp32|fp16|bf16 (default: a given config's torch_dtype, else fp32)");
  synth_cmd->add_option("--seed", so.seed, "seed of the random weights")->capture_default_str();
  synth_cmd->add_option("--tokenizer", so.tokenizer, "tokenizer.model to copy (default: train one)");
  synth_cmd->add_option("--shard-mib", so.shard_mib, "largest shard in MiB (0: a shard per tensor)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 30))
      ->capture_default_str();
  synth_cmd->add_option("--out", so.out, "output checkpoint directory")->required();
  synth_cmd->add_flag("--overwrite", so.overwrite, "replace an existing --out");
  add_logging(synth_cmd);

  // inspect ----------------------------------------------------------------------------
  std::string inspect_model;
  bool inspect_json = false;
  auto* inspect = app.add_subcommand("inspect", "config, tensors and per-linear sparsity of a checkpoint");
  inspect->add_option("model,--model", inspect_model, "checkpoint directory (also as the only argument)")->required();
  inspect->add_flag("--json", inspect_json, "print JSON instead of a table");
  add_logging(inspect);

  // tokenize ---------------------------------------------------------------------------
  std::string tokenize_model, tokenize_text;
  TextFlags tokenize_flags;
  bool tokenize_no_bos = false;
  auto* tokenize = app.add_subcommand("tokenize", "the token ids of a text file under a model's tokenizer");
  tokenize->add_option("--model", tokenize_model, "checkpoint (its tokenizer.model, else tokenizer.json)")->required();
  tokenize->add_option("--text", tokenize_text, "text file, encoded whole (default: standard input)");
  tokenize->add_flag("--no-bos", tokenize_no_bos, "without the tokens the tokenizer adds around the text (BOS)");
  add_text_flags(tokenize, tokenize_flags, "\"\\n\\n\"");
  add_logging(tokenize);

  // report -----------------------------------------------------------------------------
  ReportOptions ro;
  bool no_figures = false;
  auto* report = app.add_subcommand("report", "tables and figures from an alpha sweep's results directory");
  report->add_option("results_dir", ro.results_dir, "RESULTS_DIR of scripts/sweep_alpha.sh")->required();
  report->add_option("--title", ro.title, "figure title");
  report->add_flag("--no-figures", no_figures, "tables only (no gnuplot)");
  add_logging(report);

  if (args.empty()) {  // no subcommand: show what there is
    std::cerr << app.help();
    return static_cast<int>(ExitCode::usage);
  }
  cli::check_words_before_parsing(app, expanded);
  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());
    app.parse(reversed);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    throw UsageError(e.what());
  }
  // --model: a checkpoint directory, a hub cache repository, or ORG/NAME in the hub cache
  std::vector<std::string> located_lines;
  for (std::string* model : {&po.model_dir, &calib_model, &ppl_opt.model_dir, &zs_opt.model_dir, &tokenize_model, &inspect_model}) {
    if (model->empty()) continue;
    const std::string located = locate_model(*model);
    if (located != *model) located_lines.push_back("--model " + *model + ": " + located);
    *model = located;
  }
  // the files of the run (of the one subcommand parsed; the others' are empty), which the log may not be
  std::vector<std::string> run_files{po.model_dir,  po.calib.tokens_path, po.load_stats,   po.out_dir,
                                     po.save_stats, calib_model,          calib_out,       ppl_opt.model_dir,
                                     ppl_opt.data_tokens, ppl_json,       zs_opt.model_dir, zs_data_dir,
                                     zs_json,       so.out,               so.tokenizer,    inspect_model,
                                     tokenize_model, tokenize_text,       ro.results_dir,  expanded.config_path};
  for (const auto* list : {&po.calib.text_paths, &co.text_paths, &ppl_opt.data, &zs_data})
    run_files.insert(run_files.end(), list->begin(), list->end());
  cli::setup_logging(verbose, quiet, log_file, run_files);
  for (const auto& line : located_lines) spdlog::info("{}", line);
  spdlog::debug("{}", blas_kernels_description());

  if (prune->parsed()) {
    po.calib.seqlen = resolve_seqlen(prune_seqlen, po.model_dir);
    po.method = parse_method(method);
    po.dsnot.skip = parse_dsnot_skip(dsnot_skip);
    po.geometry = parse_geometry(geometry);
    po.structure = parse_structure(structure);
    po.allocation = parse_allocation(allocation);
    if (stat_norm != "sequences" && stat_norm != "tokens") throw UsageError("--stat-norm must be sequences or tokens");
    po.stat_norm = stat_norm == "tokens" ? StatNorm::tokens : StatNorm::sequences;
    po.regional.ro = !no_ro;
    for (const auto& arg : sparsity_of) {
      const auto [type, s] = parse_sparsity_of(arg);
      if (!po.linears.sparsity_of.emplace(type, s).second)
        throw UsageError("--sparsity-of gives " + type + " twice");
    }
    cli::refuse_flags_without_effect(*prune, po, no_ro);
    po.device = prune_common.device;
    po.dtype = prune_common.dtype;
    po.batch_size = prune_common.batch_size;
    po.threads = prune_common.threads;
    po.command_line = joined_command_line(argc, argv);
    po.calib.rows = prune_text.view();
    po.calib.literals = prune_text.literals();
    po.calib.text.max_bytes = static_cast<uint64_t>(prune_max_mib) << 20;
    if (!po.calib.text_paths.empty()) cli::check_calibration_size(po.calib);
    if (!po.calib.tokens_path.empty())
      check_token_file("--calib-tokens", po.calib.tokens_path, po.model_dir, prune->count("--nsamples") ? po.calib.nsamples : 0,
                       prune->count("--seqlen") ? po.calib.seqlen : 0);
    enwanda::prune(po);
  } else if (calib->parsed()) {
    std::vector<std::string> inputs = co.text_paths;
    inputs.push_back(calib_model);
    check_output_file("--out", calib_out, calib_overwrite, inputs);
    co.seqlen = resolve_seqlen(calib_seqlen, calib_model);
    co.rows = calib_text.view();
    co.literals = calib_text.literals();
    co.text.max_bytes = static_cast<uint64_t>(calib_max_mib) << 20;
    cli::check_calibration_size(co);
    auto ck = Checkpoint::open(calib_model);
    auto tok = Tokenizer::load_for_model(calib_model);
    ck->config().warn_if_untrained(co.seqlen, "calibration sequences");
    auto tokens = load_calibration(co, tok.get(), ck->config().vocab_size);
    write_token_npy(calib_out, tokens, calib_overwrite, vocabulary_sha256(*tok));
    spdlog::info("wrote {}: {} x {} tokens, sha256 {}", calib_out, tokens.size(0), tokens.size(1), tokens_sha256(tokens));
  } else if (ppl->parsed()) {
    if (ppl->count("--seqlen") && !ppl_opt.data_tokens.empty())
      throw UsageError("--seqlen applies to --data text; the windows of --data-tokens are used as they are "
                       "(their length is the .npy's second dimension)");
    ppl_opt.seqlen = resolve_seqlen(ppl_seqlen, ppl_opt.model_dir);
    ppl_opt.rows = ppl_text.view();
    ppl_opt.literals = ppl_text.literals();
    ppl_opt.text.max_bytes = static_cast<uint64_t>(ppl_max_mib) << 20;
    ppl_opt.device = ppl_common.device;
    ppl_opt.dtype = ppl_common.dtype;
    ppl_opt.batch_size = ppl_common.batch_size;
    ppl_opt.threads = ppl_common.threads;
    if (!ppl_json.empty()) {
      std::vector<std::string> inputs = ppl_opt.data;
      inputs.insert(inputs.end(), {ppl_opt.model_dir, ppl_opt.data_tokens});
      check_output_file("--json", ppl_json, ppl_overwrite, inputs);
    }
    if (!ppl_opt.data_tokens.empty()) check_token_file("--data-tokens", ppl_opt.data_tokens, ppl_opt.model_dir, 0, 0);
    auto r = evaluate_perplexity(ppl_opt);
    cli::print_result(fmt::format("ppl {:.6f}  windows {}/{}  tokens {}\n", r["ppl"].get<double>(),
                                  r["windows"].get<int64_t>(), r["total_windows"].get<int64_t>(),
                                  r["predicted_tokens"].get<int64_t>()));
    if (!ppl_json.empty()) write_json_file(ppl_json, r, ppl_overwrite);
  } else if (zs->parsed()) {
    std::vector<std::string> tasks;
    for (const auto& t : zs_tasks)
      if (t == "wanda7") tasks.insert(tasks.end(), wanda7_tasks().begin(), wanda7_tasks().end());
      else tasks.push_back(t);
    if (!zs_data_dir.empty()) {
      if (!zs_data.empty()) throw UsageError("give either --data per --task or one --data-dir, not both");
      if (!fs::is_directory(zs_data_dir)) throw InputError("--data-dir " + zs_data_dir + " is not a directory");
      for (const auto& t : tasks) zs_data.push_back((fs::path(zs_data_dir) / (t + ".jsonl")).string());
    } else if (zs_tasks.size() != zs_data.size() || tasks.size() != zs_tasks.size()) {
      throw UsageError(tasks.size() != zs_tasks.size() ? "--task wanda7 reads {task}.jsonl from --data-dir DIR"
                                                       : "give one --data per --task (or --data-dir DIR holding {task}.jsonl)");
    }
    zs_tasks = tasks;
    if ((!zs_template.empty() || !zs_choices.empty()) && std::find(zs_tasks.begin(), zs_tasks.end(), "mc") == zs_tasks.end())
      throw UsageError("--template and --choices apply to --task mc only");
    std::vector<std::string> choices;
    for (size_t pos = 0; !zs_choices.empty();) {
      size_t comma = zs_choices.find(',', pos);
      choices.push_back(zs_choices.substr(pos, comma - pos));
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    for (size_t i = 0; i < zs_tasks.size(); ++i) zs_opt.tasks.push_back({zs_tasks[i], zs_data[i], zs_template, choices});
    zs_opt.bos = !zs_no_bos;
    zs_opt.device = zs_common.device;
    zs_opt.dtype = zs_common.dtype;
    zs_opt.batch_size = zs_common.batch_size;
    zs_opt.threads = zs_common.threads;
    if (!zs_json.empty()) {
      std::vector<std::string> inputs = zs_data;
      inputs.push_back(zs_opt.model_dir);
      check_output_file("--json", zs_json, zs_overwrite, inputs);
    }
    auto r = evaluate_zeroshot(zs_opt);
    for (const auto& name : r["task_order"]) {
      const auto& t = r["tasks"][name.get<std::string>()];
      std::string line = fmt::format("{:<14} acc {:.4f} ± {:.4f}", name.get<std::string>(), t["acc"].get<double>(),
                                     t["acc_stderr"].get<double>());
      if (t.contains("acc_norm"))
        line += fmt::format("  acc_norm {:.4f} ± {:.4f}", t["acc_norm"].get<double>(), t["acc_norm_stderr"].get<double>());
      cli::print_result(line + fmt::format("  n {}\n", t["n"].get<int64_t>()));
    }
    if (r["tasks"].size() > 1) cli::print_result(fmt::format("macro acc {:.4f}\n", r["macro_acc"].get<double>()));
    if (r.contains("wanda7")) cli::print_result("\nacc (%), as the Wanda paper's zero-shot table:\n" + wanda7_table(r));
    if (!zs_json.empty()) write_json_file(zs_json, r, zs_overwrite);
  } else if (synth_cmd->parsed()) {
    synth(so);
  } else if (report->parsed()) {
    ro.figures = !no_figures;
    build_sweep_report(ro);
    std::ifstream md(fs::path(ro.results_dir) / "summary.md");
    cli::print_result(std::string(std::istreambuf_iterator<char>(md), std::istreambuf_iterator<char>()));
  } else if (tokenize->parsed()) {
    auto tok = Tokenizer::load_for_model(tokenize_model);
    std::string text;
    if (tokenize_flags.view() == RowsView::hf) {
      if (tokenize_text.empty()) throw UsageError("--rows hf reads the rows of a --text file (not standard input)");
      text = read_text(std::vector<std::string>{tokenize_text}, RowsView::hf, "\n\n");  // "\n\n".join(rows)
    } else if (tokenize_text.empty()) {
      text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
      std::ifstream in(tokenize_text, std::ios::binary);
      if (!in) throw InputError(tokenize_text + ": cannot read");
      text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    std::string line;
    for (int64_t id : tok->encode(text, !tokenize_no_bos, tokenize_flags.literals()))
      line += (line.empty() ? "" : " ") + std::to_string(id);
    log_special_literals(*tok);
    cli::print_result(line + "\n");
  } else if (inspect->parsed()) {
    auto j = inspect_checkpoint(inspect_model);
    cli::print_result(inspect_json ? dump_json(j) + "\n" : format_inspection(j));
  }
  check_interrupted();
  cli::finish_stdout();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  reexec_with_better_blas_kernels(argv);  // before anything else: OpenBLAS reads its kernel choice only at load
  cli::guard_standard_streams();
  install_interrupt_handlers();
  install_bus_error_handler();
  map_large_allocations();
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    ErrorReport r = describe_exception(e);
    std::fprintf(stderr, "enwanda: error: %s\n", r.message.c_str());
    return static_cast<int>(r.code);
  } catch (...) {
    std::fprintf(stderr, "enwanda: error: unknown failure\n");
    return static_cast<int>(ExitCode::internal);
  }
}
