#include "enwanda/prune/stats_file.h"

#include "enwanda/errors.h"
#include "enwanda/io/output_file.h"
#include "enwanda/io/safetensors.h"
#include "enwanda/model/tensor_names.h"

namespace enwanda {

namespace {
std::string stat_name(int64_t layer, const std::string& linear, const char* what) {
  return "model.layers." + std::to_string(layer) + "." + linear + "." + what;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}
}  // namespace

std::map<std::string, std::string> StatsKey::to_metadata() const {
  return {{"enwanda.calib_sha256", calib_sha256}, {"enwanda.stat_norm", stat_norm},
          {"enwanda.num_layers", std::to_string(num_layers)}, {"enwanda.hidden_size", std::to_string(hidden_size)},
          {"enwanda.model_weights", model_weights}, {"enwanda.sequential", "false"}};
}

void StatsFileWriter::add(int64_t layer, const std::string& linear, const ChannelStats& s) {
  tensors_.emplace_back(stat_name(layer, linear, "l1"), s.l1.to(torch::kCPU, torch::kFloat32).contiguous());
  tensors_.emplace_back(stat_name(layer, linear, "l2sq"), s.l2sq.to(torch::kCPU, torch::kFloat32).contiguous());
}

void StatsFileWriter::write(const std::string& path, const StatsKey& key, bool overwrite) const {
  std::vector<SafetensorsWriter::Entry> entries;
  for (const auto& [name, t] : tensors_) entries.push_back({name, Dtype::F32, t.sizes().vec()});
  OutputFile out(path, overwrite);
  out.close();  // the writer reopens the exclusive temporary (O_NOFOLLOW)
  {
    SafetensorsWriter w(out.temp_path(), entries, key.to_metadata());
    for (const auto& [name, t] : tensors_) w.write(name, t);
    w.finish();
  }
  out.commit();
}

StatsFileReader::StatsFileReader(const std::string& path, const StatsKey& expected, const LlamaConfig& config)
    : path_(path) {
  auto file = SafetensorsFile::open(path);
  const auto& meta = file->header().metadata;
  // the coarsest difference first: layer count and width, then the settings, then the weights
  const auto want = expected.to_metadata();
  for (const char* k : {"enwanda.num_layers", "enwanda.hidden_size", "enwanda.sequential", "enwanda.stat_norm",
                        "enwanda.calib_sha256", "enwanda.model_weights"}) {
    const std::string& v = want.at(k);
    auto it = meta.find(k);
    std::string got = it == meta.end() ? "(absent)" : it->second;
    if (got != v)
      throw InputError(path + ": statistics were gathered with " + k + " = " + got + ", this run has " + v +
                       "; gather them again with --save-stats");
  }
  // every statistic the run will read, with the shape, dtype and values the model implies, before
  // any work: a cut, reshaped, retyped or non-finite statistic would otherwise fail inside a layer
  // (or, stored as I32, change the masks silently)
  std::map<std::string, int64_t> due;  // name -> in_features
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    const auto linears = layer_linears(config, i);
    for (size_t j = 0; j < kLinearNames.size() && j < linears.size(); ++j) {
      if (linears[j].suffix != kLinearNames[j]) break;  // an MoE layer's experts: statistics of their own
      for (const char* what : {"l1", "l2sq"}) due[stat_name(i, kLinearNames[j], what)] = linears[j].shape.at(1);
    }
  }
  for (const auto& t : file->header().tensors) {
    const auto it = due.find(t.name);
    if (it == due.end()) throw InputError(path + ": tensor \"" + t.name + "\" is not a statistic of this model's linears");
    if (t.dtype != Dtype::F32)
      throw InputError(path + ": " + t.name + " is " + dtype_name(t.dtype) + ", statistics are stored as F32");
    if (t.shape != std::vector<int64_t>{it->second})
      throw InputError(path + ": " + t.name + " has shape " + shape_text(t.shape) + ", the model's input has [" +
                       std::to_string(it->second) + "]");
    auto v = file->tensor(t.name).clone().to(torch::kFloat64);
    if (!v.isfinite().all().item<bool>() || (v < 0).any().item<bool>())
      throw InputError(path + ": " + t.name + " holds a negative, NaN or infinite value; sums of |x| and x² are finite and >= 0");
    tensors_[t.name] = std::move(v);
  }
  for (const auto& [name, in] : due)
    if (!tensors_.count(name)) throw InputError(path + ": no statistic " + name + " (" + std::to_string(in) + " values)");
}

ChannelStats StatsFileReader::get(int64_t layer, const std::string& linear) const {
  auto l1 = tensors_.find(stat_name(layer, linear, "l1"));
  auto l2 = tensors_.find(stat_name(layer, linear, "l2sq"));
  if (l1 == tensors_.end() || l2 == tensors_.end())
    throw InputError(path_ + ": no statistics for layer " + std::to_string(layer) + " " + linear);
  return {l1->second, l2->second};
}

ChannelStats as_stored(const ChannelStats& s) {
  return {s.l1.to(torch::kFloat32).to(torch::kFloat64), s.l2sq.to(torch::kFloat32).to(torch::kFloat64), s.mean, s.var};
}

StatisticsFiles open_statistics_files(const std::string& load_path, const std::string& save_path, const Checkpoint& ck,
                                      const std::string& calib_sha256, StatNorm norm) {
  const LlamaConfig& cfg = ck.config();
  const bool any_file = !save_path.empty() || !load_path.empty();
  const std::string weights = std::to_string(ck.tensor_names().size()) + " tensors, " + std::to_string(ck.total_bytes()) +
                              " bytes, " + dtype_name(ck.weight_dtype());
  StatisticsFiles files;
  files.key = {calib_sha256, norm == StatNorm::sequences ? "sequences" : "tokens", cfg.num_hidden_layers, cfg.hidden_size,
               weights + (any_file ? ", linears digest " + ck.linear_weights_digest() : "")};
  files.save_path = save_path;
  if (!load_path.empty()) {
    if (calib_sha256.empty())
      throw UsageError("--load-stats needs the calibration set it was gathered with (--calib or --calib-tokens) to check it");
    files.in = std::make_unique<StatsFileReader>(load_path, files.key, cfg);
  }
  return files;
}

}  // namespace enwanda
