#include "enwanda/prune/stats_file.h"

#include "enwanda/errors.h"
#include "enwanda/io/output_file.h"
#include "enwanda/io/safetensors.h"

namespace enwanda {

namespace {
std::string stat_name(int64_t layer, const std::string& linear, const char* what) {
  return "model.layers." + std::to_string(layer) + "." + linear + "." + what;
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

StatsFileReader::StatsFileReader(const std::string& path, const StatsKey& expected) : path_(path) {
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
  for (const auto& t : file->header().tensors) tensors_[t.name] = file->tensor(t.name).clone().to(torch::kFloat64);
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
    files.in = std::make_unique<StatsFileReader>(load_path, files.key);
  }
  return files;
}

}  // namespace enwanda
