// Reusable activation statistics (--save-stats / --load-stats): per linear of every layer,
// "model.layers.{i}.{linear}.l1" and ".l2sq" as fp32 [in_features] in a safetensors file whose
// metadata records the calibration sha256 and the settings they depend on. Only valid for
// --no-sequential runs, where statistics come from the dense model and do not depend on α.
#pragma once

#include <map>
#include <string>
#include <vector>

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
  void write(const std::string& path, const StatsKey& key) const;

 private:
  std::vector<std::pair<std::string, torch::Tensor>> tensors_;
};

class StatsFileReader {
 public:
  StatsFileReader(const std::string& path, const StatsKey& expected);  // throws InputError on mismatch
  ChannelStats get(int64_t layer, const std::string& linear) const;

 private:
  std::string path_;
  std::map<std::string, torch::Tensor> tensors_;
};

}  // namespace enwanda
