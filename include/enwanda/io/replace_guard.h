// What an output may replace. No output may be, or lie inside, an input of the run (model
// directory, calibration and data files, --load-stats), whatever mark it carries. Without
// --overwrite, nothing that exists. With it, only what enwanda itself wrote, and never what holds
// an input of the run, the working directory or one of its
// parents. Every refusal is a UsageError (exit 2) naming what would have been destroyed, and comes
// before any work. One rule for parents: an output's parent directory must exist (nothing is
// created above an output); a missing one is named.
//   A directory is enwanda's when it is empty, or when it holds enwanda_report.json whose "files"
//   lists every entry in it (prune and synth write that list).
//   A file is enwanda's when it carries enwanda's mark: a JSON object with "enwanda_version", a
//   .safetensors whose metadata has an "enwanda." key, an .npy whose header holds "# enwanda".
#pragma once

#include <string>
#include <vector>

namespace enwanda {

constexpr const char* kReportFile = "enwanda_report.json";

// `flag` names the option in messages ("--out"); `inputs` are the run's input files and directories.
void check_output_directory(const std::string& flag, const std::string& dir, bool overwrite,
                            const std::vector<std::string>& inputs);
void check_output_file(const std::string& flag, const std::string& file, bool overwrite,
                       const std::vector<std::string>& inputs);

// Whether `inner` is `outer` or lies below it (absolute, normalised, symlinks resolved).
bool path_is_within(const std::string& inner, const std::string& outer);

// Whether `file` carries enwanda's mark (above).
bool written_by_enwanda(const std::string& file);

}  // namespace enwanda
