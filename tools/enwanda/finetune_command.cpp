// enwanda finetune: recovery after pruning with a sparsity-preserving LoRA adapter (finetune.h).
#include <sstream>

#include <spdlog/spdlog.h>

#include "enwanda/errors.h"
#include "enwanda/finetune/finetune.h"
#include "enwanda/model/runtime.h"
#include "prune_flags.h"
#include "subcommand.h"

namespace enwanda::cli {
namespace {

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string part; std::getline(in, part, ',');)
    if (!part.empty()) out.push_back(part);
  return out;
}

class FinetuneCommand : public Subcommand {
 public:
  CLI::App* add_to(CLI::App& parent, LoggingFlags& logging) override {
    auto* ft = parent.add_subcommand("finetune", "train a LoRA adapter that recovers a pruned checkpoint (zeros kept)");
    ft->add_option("--model", o.model_dir, "checkpoint (directory, hub cache repository or ORG/NAME), usually pruned")->required();
    ft->add_option("--data", o.data_paths, "training text files (txt, JSON lines, .gz, directories), cut into --seqlen windows");
    ft->add_option("--seqlen", o.seqlen, "tokens per training window with --data");
    add_text_reading_flags(ft, o.text, max_mib, "data");
    ft->add_option("--windows", o.windows_path, "training token windows, int64 [N, T] .npy (calib --out), instead of --data");
    ft->add_option("--shuffle", shuffle, "permute the windows once per epoch, seeded with this")->check(CLI::NonNegativeNumber);
    ft->add_option("--out", o.out_dir, "adapter directory (PEFT layout)")->required();
    ft->add_option("--merge", o.merge_dir, "also write the checkpoint with the adapter merged in");
    ft->add_flag("--merge-dense", o.merge_dense, "allow --merge with --mask none (the merged linears become dense)");
    ft->add_option("--steps", o.steps, "optimizer steps");
    ft->add_option("--samples", o.samples, "windows to train on: steps = ceil(samples / batch)");
    ft->add_option("--batch", o.batch, "windows per optimizer step")->capture_default_str();
    ft->add_option("--micro-batch", o.micro_batch, "windows per forward/backward (gradients accumulated)")->capture_default_str();
    ft->add_option("--lr", o.lr, "peak learning rate")->capture_default_str();
    ft->add_option("--warmup", o.warmup, "linear warmup steps")->capture_default_str();
    ft->add_option("--schedule", schedule, "linear (HF's get_linear_schedule_with_warmup) or constant")->capture_default_str();
    ft->add_option("--max-grad-norm", o.max_grad_norm, "clip the global gradient norm (0: no clipping)")->capture_default_str();
    ft->add_option("--betas", betas, "AdamW's beta1,beta2")->capture_default_str();
    ft->add_option("--eps", o.adam.eps, "AdamW's eps")->capture_default_str();
    ft->add_option("--weight-decay", o.adam.weight_decay, "AdamW's decoupled weight decay")->capture_default_str();
    ft->add_option("--lora-r", o.lora.r, "adapter rank")->capture_default_str();
    ft->add_option("--lora-alpha", o.lora.alpha, "scaling numerator: s = alpha / r")->capture_default_str();
    ft->add_option("--lora-dropout", o.lora.dropout, "dropout on the LoRA input (only 0 so far)")->capture_default_str();
    ft->add_option("--lora-targets", targets, "linears to adapt: short names (q_proj,v_proj) or re:REGEX")->capture_default_str();
    ft->add_option("--mask", mask, "keep: the delta is masked by W != 0, zeros stay zeros (SQFT); none: plain LoRA")
        ->capture_default_str();
    ft->add_option("--adapter-init", o.adapter_init, "start from this adapter_model.safetensors instead of PEFT's init");
    ft->add_option("--seed", o.seed, "seed of A's kaiming-uniform init")->capture_default_str();
    ft->add_option("--save-every", o.save_every, "write a resumable state (OUT.state.safetensors) every K steps")
        ->capture_default_str();
    ft->add_flag("--resume", o.resume, "continue from the state saved beside --out");
    ft->add_option("--threads", o.threads, "CPU threads (0: $OMP_NUM_THREADS, else the cores available)");
    ft->add_flag("--overwrite", o.overwrite, "replace outputs that enwanda wrote");
    logging.add(ft);
    return ft;
  }

  std::vector<std::string*> model_paths() override { return {&o.model_dir}; }

  std::vector<std::string> run_files() const override {
    std::vector<std::string> f{o.model_dir, o.windows_path, o.out_dir};
    f.insert(f.end(), o.data_paths.begin(), o.data_paths.end());
    if (!o.merge_dir.empty()) f.push_back(o.merge_dir);
    if (!o.adapter_init.empty()) f.push_back(o.adapter_init);
    return f;
  }

  void run(const Invocation& inv) override {
    o.lora.targets = split_commas(targets);
    o.lora.mask = parse_mask_mode(mask);
    o.schedule = parse_schedule(schedule);
    const auto b = split_commas(betas);
    try {
      if (b.size() != 2) throw std::invalid_argument("two values");
      o.adam.beta1 = std::stod(b[0]);
      o.adam.beta2 = std::stod(b[1]);
    } catch (const std::exception&) {
      throw UsageError("--betas takes two numbers, beta1,beta2 (e.g. 0.9,0.999), not '" + betas + "'");
    }
    o.command_line = inv.command_line;
    o.text.max_bytes = static_cast<uint64_t>(max_mib) << 20;
    if (shuffle >= 0) o.shuffle_seed = shuffle;
    set_worker_threads(o.threads);
    run_finetune(o);
  }

 private:
  FinetuneOptions o;
  int64_t max_mib = kDefaultTextMaxMiB, shuffle = -1;
  std::string targets = "q_proj,v_proj", mask = "keep", schedule = "linear", betas = "0.9,0.999";
};

}  // namespace

std::unique_ptr<Subcommand> make_finetune_command() { return std::make_unique<FinetuneCommand>(); }

}  // namespace enwanda::cli
