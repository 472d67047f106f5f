#include "enwanda/io/model_location.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include "enwanda/errors.h"

namespace fs = std::filesystem;

namespace enwanda {

namespace {
std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

bool is_hub_repository(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir / "snapshots", ec) && !fs::exists(dir / "config.json", ec);
}

// The snapshot of a hub cache repository directory: refs/main's commit, else the only snapshot.
std::string snapshot_of(const fs::path& repo) {
  std::error_code ec;
  const fs::path ref = repo / "refs" / "main";
  if (fs::is_regular_file(ref, ec)) {
    std::ifstream in(ref);
    std::string commit;
    std::getline(in, commit);
    while (!commit.empty() && (commit.back() == '\r' || commit.back() == ' ')) commit.pop_back();
    const fs::path snapshot = repo / "snapshots" / commit;
    if (!commit.empty() && fs::is_directory(snapshot, ec)) return snapshot.string();
    throw InputError(repo.string() + ": refs/main names snapshot \"" + commit + "\", which is not in snapshots/");
  }
  std::vector<fs::path> snapshots;
  for (const auto& e : fs::directory_iterator(repo / "snapshots", ec))
    if (e.is_directory()) snapshots.push_back(e.path());
  if (snapshots.size() == 1) return snapshots.front().string();
  if (snapshots.empty()) throw InputError(repo.string() + ": a hub cache repository with no snapshot (nothing downloaded?)");
  std::string names;
  for (const auto& s : snapshots) names += (names.empty() ? "" : ", ") + s.filename().string();
  throw InputError(repo.string() + ": no refs/main and " + std::to_string(snapshots.size()) +
                   " snapshots (" + names + "); pass the one to use: " + (repo / "snapshots" / "<commit>").string());
}
}  // namespace

std::string hub_cache_directory() {
  if (!env("HF_HUB_CACHE").empty()) return env("HF_HUB_CACHE");
  if (!env("HUGGINGFACE_HUB_CACHE").empty()) return env("HUGGINGFACE_HUB_CACHE");
  if (!env("HF_HOME").empty()) return (fs::path(env("HF_HOME")) / "hub").string();
  if (!env("XDG_CACHE_HOME").empty()) return (fs::path(env("XDG_CACHE_HOME")) / "huggingface" / "hub").string();
  return (fs::path(env("HOME")) / ".cache" / "huggingface" / "hub").string();
}

std::string locate_model(const std::string& model) {
  std::error_code ec;
  const fs::path given(model);
  if (fs::is_directory(given, ec)) return is_hub_repository(given) ? snapshot_of(given) : model;
  if (fs::exists(given, ec)) return model;
  // ORG/NAME: two non-empty parts, neither . nor .., not an absolute or ./-relative path
  const auto slash = model.find('/');
  const bool hub_id = slash != std::string::npos && slash > 0 && slash + 1 < model.size() &&
                      model.find('/', slash + 1) == std::string::npos && model[0] != '.' && model[0] != '~' &&
                      model.substr(slash + 1) != "." && model.substr(slash + 1) != "..";
  if (!hub_id) return model;
  const fs::path repo = fs::path(hub_cache_directory()) /
                        ("models--" + model.substr(0, slash) + "--" + model.substr(slash + 1));
  if (!fs::is_directory(repo, ec))
    throw InputError(model + ": no such directory, and not in the hub cache (looked for " + repo.string() +
                     "; set HF_HUB_CACHE or HF_HOME to look elsewhere; enwanda never downloads)");
  return snapshot_of(repo);
}

}  // namespace enwanda
