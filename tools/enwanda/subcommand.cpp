#include "subcommand.h"

#include <algorithm>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "enwanda/errors.h"
#include "enwanda/io/json_text.h"
#include "enwanda/io/output_directory.h"
#include "enwanda/model/llama_config.h"

namespace fs = std::filesystem;

namespace enwanda::cli {

void LoggingFlags::add(CLI::App* sub) {
  sub->add_flag("-v,--verbose", verbose, "debug logging");
  sub->add_flag("-q,--quiet", quiet, "warnings and errors only");
  sub->add_option("--log-file", log_file, "also log to this file (appended to; never one of the run's files)");
  // read (and removed from the arguments) by cli::expand_config before parsing; listed for --help
  sub->add_option("--config", config_shown_in_help, "JSON preset of option defaults (keys: long option names; "
                                                    "the command line overrides them)");
}

void ComputeFlags::add(CLI::App* app) {
  app->add_option("--device", device, "auto|cpu|cuda")->capture_default_str();
  app->add_option("--dtype", dtype, "auto|fp32|fp16|bf16 (CPU computes in fp32)")->capture_default_str();
  app->add_option("--batch-size", batch_size, "sequences per micro-batch (0: default)")->check(CLI::Range(0, 1 << 20));
  app->add_option("--threads", threads, "CPU threads (0: $OMP_NUM_THREADS, else the cores available; at most 4x the hardware threads, 1024)")->check(CLI::Range(0, 1 << 20));
}

void TextFlags::add(CLI::App* sub, const char* joined) {
  sub->add_option("--rows", rows, std::string("file (the files' text) or hf: the lines as HF datasets' wikitext builder "
                                              "yields them (JSON lines: the records), joined with ") + joined)
      ->capture_default_str();
  sub->add_flag("--split-special-tokens", split_special_tokens,
                "encode literals of special tokens in the text (<unk>, <s>, </s>) as plain text, not as their ids");
}

int64_t resolve_seqlen(const std::string& value, const std::string& model_dir, bool allow_untrained) {
  // a missing model is left for the checkpoint to name (its message says what is missing)
  const fs::path config_path = fs::path(model_dir) / "config.json";
  std::error_code ec;
  const bool have_config = fs::is_regular_file(config_path, ec);
  const auto config = [&] { return LlamaConfig::from_file(config_path.string()); };
  if (!have_config && (value == "auto" || value == "max")) return kAutoSeqlenCap;
  if (value == "auto") {
    const int64_t max_pos = config().max_position_embeddings;
    const int64_t n = std::min<int64_t>(max_pos, kAutoSeqlenCap);
    spdlog::info("--seqlen auto: {} tokens (max_position_embeddings {}{})", n, max_pos,
                 max_pos > kAutoSeqlenCap ? ", capped at 4096" : "");
    return n;
  }
  if (value == "max") {
    const auto c = config();
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
  if (used == 0 || used != value.size()) throw UsageError("--seqlen must be a number of tokens, auto or max, got " + value);
  if (!allow_untrained && have_config) {
    const int64_t max_pos = config().max_position_embeddings;
    if (n > max_pos)
      throw UsageError("--seqlen " + value + " runs past the model's max_position_embeddings (" + std::to_string(max_pos) +
                       "), positions it was not trained on; give a shorter one, auto, or add --allow-untrained-positions");
  }
  return n;
}

void write_json_file(const std::string& path, nlohmann::json j, bool overwrite) {
  if (!j.contains("enwanda_version")) j["enwanda_version"] = ENWANDA_VERSION_STRING;
  write_text_file_atomic(path, dump_json(j) + "\n", overwrite);
}

}  // namespace enwanda::cli
