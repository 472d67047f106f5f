#include "enwanda/prune/calibrate.h"

#include <memory>

#include <spdlog/spdlog.h>

#include "enwanda/model/device_memory.h"
#include "enwanda/text/calibration.h"
#include "enwanda/text/tokenizer.h"

namespace enwanda {

CalibrationSet calibrate(const PruneOptions& opt, bool dense_pass, const Checkpoint& ck, Runtime& rt) {
  CalibrationSet calib;
  if (!dense_pass && opt.allocation != Allocation::owl && opt.calib.tokens_path.empty() && opt.calib.text_paths.empty())
    return calib;
  const LlamaConfig& cfg = ck.config();
  std::shared_ptr<Tokenizer> tok;
  if (opt.calib.tokens_path.empty()) tok = Tokenizer::load_for_model(opt.model_dir);
  calib.tokens = load_calibration(opt.calib, tok.get(), cfg.vocab_size);
  calib.sha256 = tokens_sha256(calib.tokens);
  spdlog::info("calibration: {} sequences x {} tokens, sha256 {}", calib.tokens.size(0), calib.tokens.size(1),
               calib.sha256.substr(0, 16));
  cfg.warn_if_untrained(calib.tokens.size(1), "calibration sequences");
  // micro-batches sized to the free device memory unless --batch-size says otherwise
  if (rt.cuda() && opt.batch_size <= 0)
    rt.batch_size = default_cuda_micro_batch(rt, cfg, calib.tokens.size(1), calib.tokens.size(0));
  return calib;
}

}  // namespace enwanda
