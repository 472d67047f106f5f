// Reusable activation statistics (--save-stats / --load-stats): per linear of every layer,
// "model.layers.{i}.{linear}.l1" and ".l2sq" as fp32 [in_features] in a safetensors file whose
// metadata records the calibration sha256 and the settings they depend on. Only valid for
// --no-sequential runs, where statistics come from the dense model and do not depend on α.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "enwanda/model/checkpoint.h"
#include "enwanda/prune/activation_stats.h"

namespace enwanda {

struct StatsKey {  // what the statistics depend on; a mismatch is refused
  std::string calib_sha256;
  std::string stat_norm;
  int64_t num_layers = 0;
  int64_t hidden_size = 0;
  std::string model_weights;  // sizes/dtype summary of the checkpoint and a digest of its linears' bytes
  std::map<std::string, std::string> to_metadata() const;
};

class StatsFileWriter {
 public:
  // Collects all layers in memory (small: 4·in floats per linear) and writes once.
  void add(int64_t layer, const std::string& linear, const ChannelStats& s);
  // Through an exclusive temporary (output_file.h); with `overwrite`, replaces only a file enwanda wrote.
  void write(const std::string& path, const StatsKey& key, bool overwrite = true) const;

 private:
  std::vector<std::pair<std::string, torch::Tensor>> tensors_;
};

class StatsFileReader {
 public:
  // Throws InputError on a key mismatch, and on any statistic of `config`'s dense linears that is
  // missing, not F32 [in_features], negative or not finite, or a tensor that is no such statistic.
  StatsFileReader(const std::string& path, const StatsKey& expected, const LlamaConfig& config);
  ChannelStats get(int64_t layer, const std::string& linear) const;

 private:
  std::string path_;
  std::map<std::string, torch::Tensor> tensors_;
};

// Statistics are rounded to fp32 before use so a run that loads them from a --save-stats file
// (stored as fp32) gives exactly the masks of the run that gathered them.
ChannelStats as_stored(const ChannelStats& s);

// A run's statistics files: the key its statistics carry (the calibration set, the norm, and the
// weights they were gathered on: a digest of every linear's bytes, read only when a file is
// saved or loaded), --load-stats opened and checked, and --save-stats collecting.
struct StatisticsFiles {
  StatsKey key;
  std::unique_ptr<StatsFileReader> in;  // --load-stats; null without it
  StatsFileWriter out;                  // --save-stats
  std::string save_path;                // "" without --save-stats
  void add(int64_t layer, const std::string& linear, const ChannelStats& s) {
    if (!save_path.empty()) out.add(layer, linear, s);
  }
  void write(bool overwrite) const {  // replaces only a file enwanda wrote, and only with --overwrite
    if (!save_path.empty()) out.write(save_path, key, overwrite);
  }
};
StatisticsFiles open_statistics_files(const std::string& load_path, const std::string& save_path, const Checkpoint& ck,
                                      const std::string& calib_sha256, StatNorm norm);

}  // namespace enwanda
