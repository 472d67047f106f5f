#include "enwanda/io/checkpoint_writer.h"

#include <algorithm>
#include <filesystem>

#include "enwanda/errors.h"
#include "enwanda/io/json_text.h"
#include "enwanda/io/replace_guard.h"

namespace fs = std::filesystem;

namespace enwanda {

namespace {
// Files of the input the output does not carry: the weights (written anew), their index and an
// earlier run's report (both written anew), and weights in other formats, which would hold the
// unpruned model beside the pruned one.
bool carried(const fs::path& file) {
  const std::string name = file.filename().string(), ext = file.extension().string();
  if (name == "model.safetensors.index.json" || name == kReportFile) return false;
  for (const char* weights : {".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".gguf", ".h5", ".msgpack", ".onnx"})
    if (ext == weights) return false;
  return true;
}
}  // namespace

std::vector<std::string> carried_files(const std::string& input_dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (fs::directory_iterator it(input_dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code st_ec;
    const fs::file_status st = fs::status(it->path(), st_ec);  // a link to a file counts as one
    if (st_ec == std::errc::too_many_symbolic_link_levels)
      throw InputError(it->path().string() + ": a symlink loop in the model directory; remove it or point it at a real file");
    if (st_ec && st_ec != std::errc::no_such_file_or_directory)
      throw InputError(it->path().string() + ": " + st_ec.message());
    if (fs::is_regular_file(st) && carried(it->path())) files.push_back(it->path().string());
  }
  if (ec) throw IoError("cannot list " + input_dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

uint64_t carried_bytes(const std::string& input_dir) {
  uint64_t bytes = 0;
  for (const auto& f : carried_files(input_dir)) bytes += fs::file_size(f);
  return bytes;
}

namespace {
std::vector<std::string> with(std::vector<std::string> v, const std::string& s) {
  v.push_back(s);
  return v;
}
}  // namespace

CheckpointWriter::CheckpointWriter(std::shared_ptr<const SafetensorsDirectory> input, const std::string& out_dir, bool overwrite,
                                   const std::map<std::string, std::string>& provenance,
                                   const std::vector<std::string>& inputs)
    : in_(std::move(input)), out_(out_dir, overwrite, with(inputs, in_->dir())) {
  std::map<std::string, std::string> meta = provenance;
  meta["format"] = "pt";
  std::map<std::string, std::vector<SafetensorsWriter::Entry>> per_shard;
  for (const auto& name : in_->tensor_names()) {
    const TensorInfo& t = in_->info(name);
    per_shard[in_->shard_of(name)].push_back({name, t.dtype, t.shape});
  }
  for (const auto& shard : in_->shard_names())
    shards_[shard] = std::make_unique<SafetensorsWriter>((fs::path(out_.path()) / shard).string(), per_shard[shard], meta);
}

torch::Tensor CheckpointWriter::as_stored(const std::string& name, const torch::Tensor& t) const {
  const TensorInfo& info = in_->info(name);
  if (t.sizes().vec() != info.shape) throw std::logic_error("CheckpointWriter: shape changed for " + name);
  return t.to(torch::kCPU, to_torch(info.dtype)).contiguous();
}

void CheckpointWriter::put(const std::string& name, const torch::Tensor& t) {
  const TensorInfo& info = in_->info(name);
  if (t.sizes().vec() != info.shape) throw std::logic_error("CheckpointWriter::put: shape changed for " + name);
  const int64_t nbytes = static_cast<int64_t>(info.nbytes());
  if (t.is_cpu() && t.scalar_type() == to_torch(info.dtype) && t.is_contiguous()) {  // as stored (as_stored)
    shards_.at(in_->shard_of(name))->write_bytes(name, t.data_ptr(), static_cast<size_t>(nbytes));
    bytes_written_ += info.nbytes();
    return;
  }
  // Cast (and download) into the one staging buffer: no fresh allocation per tensor, whose first
  // touch of every page cost more than the cast, and from a GPU a DMA copy into pinned memory.
  if (!staging_.defined() || staging_.numel() < nbytes || (t.is_cuda() && !staging_.is_pinned()))
    staging_ = torch::empty({std::max<int64_t>(nbytes, staging_.defined() ? staging_.numel() : 0)},
                            torch::TensorOptions().dtype(torch::kUInt8).pinned_memory(t.is_cuda()));
  auto out = torch::from_blob(staging_.data_ptr(), t.sizes(), torch::TensorOptions().dtype(to_torch(info.dtype)));
  out.copy_(t);
  shards_.at(in_->shard_of(name))->write_bytes(name, staging_.data_ptr(), static_cast<size_t>(nbytes));
  bytes_written_ += info.nbytes();
}

void CheckpointWriter::copy(const std::string& name) {
  const TensorInfo& info = in_->info(name);
  shards_.at(in_->shard_of(name))->write_bytes(name, in_->file_of(name).data(info), info.nbytes());
  in_->release(name);
  bytes_written_ += info.nbytes();
}

void CheckpointWriter::commit(const std::map<std::string, nlohmann::json>& extra_files) {
  for (auto& [shard, w] : shards_) w->finish();
  if (in_->sharded()) {
    nlohmann::ordered_json index;
    index["metadata"] = {{"total_size", in_->total_bytes()}};
    nlohmann::ordered_json map = nlohmann::ordered_json::object();
    for (const auto& name : in_->tensor_names()) map[name] = in_->shard_of(name);
    index["weight_map"] = map;
    write_text_file((fs::path(out_.path()) / "model.safetensors.index.json").string(), index.dump(2) + "\n");
  }
  // every other file of the input (config, tokenizer, chat template, licence, model card, ...)
  for (const auto& [name, text] : replaced_) write_text_file((fs::path(out_.path()) / name).string(), text);
  for (const auto& file : carried_files(in_->dir())) {
    const fs::path to = fs::path(out_.path()) / fs::path(file).filename();
    if (replaced_.count(to.filename().string())) continue;
    std::error_code ec;
    fs::copy_file(file, to, ec);
    if (ec) {  // the output's disk, almost always (full, or failing); the input was readable before
      std::error_code space_ec;
      const bool full = ec == std::errc::no_space_on_device ||
                        fs::space(out_.path(), space_ec).available < fs::file_size(file, space_ec);
      throw IoError("cannot write " + to.string() + " (copying " + file + "): " +
                    (full ? "the output's disk is full (" + ec.message() + ")" : ec.message()));
    }
  }
  // the report lists every file of the directory: what a later --overwrite may replace
  std::map<std::string, nlohmann::json> files = extra_files;
  if (auto report = files.find(kReportFile); report != files.end()) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(out_.path())) names.push_back(e.path().filename().string());
    for (const auto& [name, j] : files) names.push_back(name);
    std::sort(names.begin(), names.end());
    report->second["files"] = names;
  }
  for (const auto& [name, j] : files) write_text_file((fs::path(out_.path()) / name).string(), dump_json(j) + "\n");
  out_.commit();
}

}  // namespace enwanda
