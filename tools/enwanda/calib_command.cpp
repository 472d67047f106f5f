// enwanda calib: draw a calibration set once (calibration.h) and save it as .npy.
#include <spdlog/spdlog.h>

#include "enwanda/io/npy.h"
#include "enwanda/io/replace_guard.h"
#include "enwanda/model/checkpoint.h"
#include "enwanda/text/calibration.h"
#include "enwanda/text/tokenizer.h"
#include "enwanda/text/tokenizer_fingerprint.h"
#include "prune_flags.h"
#include "subcommand.h"

namespace enwanda::cli {
namespace {

class CalibCommand : public Subcommand {
 public:
  CLI::App* add_to(CLI::App& parent, LoggingFlags& logging) override {
    auto* calib = parent.add_subcommand("calib", "draw a calibration set once and save it as .npy");
    calib->add_option("--model", model, "checkpoint (directory, hub cache repository or ORG/NAME) whose tokenizer to use")->required();
    calib->add_option("--calib", co.text_paths, "calibration text files or directories")->required();
    calib->add_option("--nsamples", co.nsamples, "calibration sequences")->capture_default_str();
    calib->add_option("--seqlen", seqlen, kSeqlenHelp)->capture_default_str();
    calib->add_flag("--allow-untrained-positions", allow_untrained,
                    "allow a --seqlen past the config's max_position_embeddings (positions the model was not trained on)");
    calib->add_option("--seed", co.seed, "calibration sampling seed")->capture_default_str();
    calib->add_option("--calib-mult", co.calib_mult, "draw nsamples x this many windows")->capture_default_str();
    calib->add_option("--calib-sampling", co.sampling,
                      "windows (anywhere in the joined text) or documents (Wanda's C4 protocol: a window inside a "
                      "random JSON-lines record longer than seqlen)")
        ->capture_default_str();
    calib->add_option("--out", out, "output .npy")->required();
    calib->add_flag("--overwrite", overwrite, "replace an existing --out that enwanda wrote");
    text.add(calib, "\" \" for --calib-sampling windows");
    add_text_reading_flags(calib, co.text, max_mib, "calib");
    calib->add_option("--protocol", co.protocol, kProtocolHelp);
    logging.add(calib);
    return calib;
  }

  std::vector<std::string*> model_paths() override { return {&model}; }

  std::vector<std::string> run_files() const override {
    std::vector<std::string> files{model, out};
    files.insert(files.end(), co.text_paths.begin(), co.text_paths.end());
    return files;
  }

  void run(const Invocation&) override {
    std::vector<std::string> inputs = co.text_paths;
    inputs.push_back(model);
    check_output_file("--out", out, overwrite, inputs);
    co.seqlen = resolve_seqlen(seqlen, model, allow_untrained);
    co.rows = text.view();
    co.literals = text.literals();
    co.text.max_bytes = static_cast<uint64_t>(max_mib) << 20;
    check_calibration_size(co);
    auto ck = Checkpoint::open(model);
    auto tok = Tokenizer::load_for_model(model);
    ck->config().warn_if_untrained(co.seqlen, "calibration sequences");
    auto tokens = load_calibration(co, tok.get(), ck->config().vocab_size);
    write_token_npy(out, tokens, overwrite, vocabulary_sha256(*tok));
    spdlog::info("wrote {}: {} x {} tokens, sha256 {}", out, tokens.size(0), tokens.size(1), tokens_sha256(tokens));
  }

 private:
  CalibrationOptions co;
  TextFlags text;
  std::string model, out, seqlen = "auto";
  bool allow_untrained = false;
  bool overwrite = false;
  int64_t max_mib = kDefaultTextMaxMiB;
};

}  // namespace

std::unique_ptr<Subcommand> make_calib_command() { return std::make_unique<CalibCommand>(); }

}  // namespace enwanda::cli
