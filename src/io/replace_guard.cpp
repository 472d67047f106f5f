#include "enwanda/io/replace_guard.h"

#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "enwanda/errors.h"
#include "enwanda/io/json_text.h"

namespace fs = std::filesystem;

namespace enwanda {

namespace {
fs::path normal(const std::string& p) {
  fs::path out = fs::absolute(p).lexically_normal();
  if (!out.has_filename() && out.has_relative_path()) out = out.parent_path();  // "out/" names "out"
  std::error_code ec;
  fs::path resolved = fs::weakly_canonical(out, ec);
  return ec ? out : resolved;  // /dev/fd/N of a pipe links to "pipe:[N]", which no path resolves: as given
}

bool is_within(const fs::path& inner, const fs::path& outer) {  // inner == outer or below it
  auto i = inner.begin(), o = outer.begin();
  for (; o != outer.end(); ++o, ++i) {
    if (o->empty()) continue;
    if (i == inner.end() || *i != *o) return false;
  }
  return true;
}

// A symlink named as an output whose target is missing: the commit could only fail at the end.
void refuse_dangling_symlink(const std::string& flag, const std::string& given) {
  fs::path lexical = fs::absolute(given).lexically_normal();
  if (!lexical.has_filename() && lexical.has_relative_path()) lexical = lexical.parent_path();
  std::error_code ec;
  if (fs::is_symlink(fs::symlink_status(lexical, ec)) && !fs::exists(lexical, ec))
    throw UsageError(flag + " " + given + " is a symlink to " + fs::read_symlink(lexical, ec).string() +
                     ", which does not exist; remove the link or name another path");
}

void require_parent(const std::string& flag, const std::string& given, const fs::path& p) {
  const fs::path parent = p.parent_path();
  if (fs::exists(parent) && !fs::is_directory(parent))
    throw UsageError(flag + " " + given + ": " + parent.string() + " is not a directory");
  if (!fs::is_directory(parent))
    throw UsageError(flag + " " + given + ": the directory " + parent.string() + " does not exist; create it first");
}

// An input of the run at or below `p`, or "".
std::string input_within(const fs::path& p, const std::vector<std::string>& inputs) {
  for (const auto& in : inputs)
    if (!in.empty() && is_within(normal(in), p)) return in;
  return "";
}

// A report or mark as JSON, or a discarded value when it is none (nesting limited: json_text.h).
template <typename Input>
nlohmann::json json_or_discarded(Input&& in) {
  try {
    return parse_json(std::forward<Input>(in), "");
  } catch (const InputError&) {
    return nlohmann::json(nlohmann::json::value_t::discarded);
  }
}

std::string read_prefix(const std::string& file, size_t n) {
  std::ifstream in(file, std::ios::binary);
  std::string s(n, '\0');
  in.read(s.data(), static_cast<std::streamsize>(n));
  s.resize(static_cast<size_t>(in.gcount()));
  return s;
}
}  // namespace

bool path_is_within(const std::string& inner, const std::string& outer) { return is_within(normal(inner), normal(outer)); }

bool written_by_enwanda(const std::string& file) {
  const std::string head = read_prefix(file, 1 << 16);
  if (head.rfind("\x93NUMPY", 0) == 0) {
    if (head.size() < 10) return false;
    const size_t hlen = static_cast<unsigned char>(head[8]) | (static_cast<size_t>(static_cast<unsigned char>(head[9])) << 8);
    return head.substr(10, hlen).find("# enwanda") != std::string::npos;
  }
  if (fs::path(file).extension() == ".safetensors") {
    if (head.size() < 8) return false;
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(head[static_cast<size_t>(i)]);
    const std::string header = n <= (1u << 26) ? read_prefix(file, 8 + n).substr(8) : "";
    const auto j = json_or_discarded(header);
    if (!j.is_object() || !j.contains("__metadata__") || !j["__metadata__"].is_object()) return false;
    for (auto it = j["__metadata__"].begin(); it != j["__metadata__"].end(); ++it)
      if (it.key().rfind("enwanda.", 0) == 0) return true;
    return false;
  }
  if (fs::file_size(file) > (64u << 20)) return false;
  std::ifstream in(file, std::ios::binary);
  const auto j = json_or_discarded(in);
  return j.is_object() && j.contains("enwanda_version");
}

void check_output_directory(const std::string& flag, const std::string& dir, bool overwrite,
                            const std::vector<std::string>& inputs) {
  refuse_dangling_symlink(flag, dir);
  const fs::path p = normal(dir);
  if (!p.has_filename()) throw UsageError(flag + " " + dir + " is the file system's root; name a directory");
  for (const auto& in : inputs)
    if (!in.empty() && is_within(p, normal(in)))
      throw UsageError(flag + " " + dir + " is " + in + " (an input of this run) or inside it; choose a directory elsewhere");
  require_parent(flag, dir, p);
  if (!fs::exists(p)) return;
  if (!fs::is_directory(p)) throw UsageError(flag + " " + dir + " exists and is not a directory");
  if (!overwrite) throw UsageError(flag + " " + dir + " already exists; pass --overwrite to replace it");
  if (const auto in = input_within(p, inputs); !in.empty())
    throw UsageError(flag + " " + dir + " holds " + in + ", an input of this run; refusing to replace it");
  if (is_within(fs::current_path(), p))
    throw UsageError(flag + " " + dir + " is the current directory or one of its parents; refusing to replace it");
  std::set<std::string> entries;
  for (const auto& e : fs::directory_iterator(p)) entries.insert(e.path().filename().string());
  if (entries.empty()) return;
  const fs::path report = p / kReportFile;
  if (!fs::exists(report)) {
    throw UsageError(flag + " " + dir + " holds files enwanda did not write (" + *entries.begin() +
                     "); refusing to replace it");
  }
  std::ifstream in(report);
  const auto j = json_or_discarded(in);
  if (!j.is_object() || !j.contains("files") || !j["files"].is_array())
    throw UsageError(flag + " " + dir + ": its " + kReportFile +
                     " does not list the files enwanda wrote (an older enwanda's, or edited); remove the directory yourself");
  std::set<std::string> ours;
  for (const auto& f : j["files"])
    if (f.is_string()) ours.insert(f.get<std::string>());
  for (const auto& e : entries)
    if (!ours.count(e))
      throw UsageError(flag + " " + dir + " holds " + e + ", which enwanda did not write; refusing to replace it");
}

void check_output_file(const std::string& flag, const std::string& file, bool overwrite,
                       const std::vector<std::string>& inputs) {
  refuse_dangling_symlink(flag, file);
  const fs::path p = normal(file);
  for (const auto& in : inputs)
    if (!in.empty() && is_within(p, normal(in)))
      throw UsageError(flag + " " + file + " is " + in + ", an input of this run, or inside it; refusing to write it there");
  require_parent(flag, file, p);
  if (!fs::exists(p)) return;
  if (fs::is_directory(p)) throw UsageError(flag + " " + file + " is a directory");
  if (!overwrite) throw UsageError(flag + " " + file + " already exists; pass --overwrite to replace it");
  if (!written_by_enwanda(p.string()))
    throw UsageError(flag + " " + file + " exists and enwanda did not write it; refusing to replace it");
}

}  // namespace enwanda
