// enwanda synth: a random-initialised checkpoint of a named shape (synth.h).
#include "enwanda/model/synth.h"
#include "subcommand.h"

namespace enwanda::cli {
namespace {

class SynthCommand : public Subcommand {
 public:
  CLI::App* add_to(CLI::App& parent, LoggingFlags& logging) override {
    auto* synth_cmd = parent.add_subcommand("synth", "write a random-initialised LLaMA checkpoint");
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
    logging.add(synth_cmd);
    return synth_cmd;
  }

  std::vector<std::string> run_files() const override { return {so.out, so.tokenizer}; }

  void run(const Invocation&) override { synth(so); }

 private:
  SynthOptions so;
};

}  // namespace

std::unique_ptr<Subcommand> make_synth_command() { return std::make_unique<SynthCommand>(); }

}  // namespace enwanda::cli
