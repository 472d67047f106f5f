// The command line that reproduces a prune: absolute paths, the method, and every setting the run
// used, defaults included (RO, SparseGPT, RIA, DSnoT, ALPS, OWL, calibration, runtime), so that a
// later change of a default does not change what it reproduces. --overwrite is never part of it: a
// command read from a report must not replace anything. pruned_by reads it back from an earlier
// output's report.
#pragma once

#include <string>

#include "enwanda/prune/pruner.h"

namespace enwanda {

std::string reproducing_command(const PruneOptions& opt);

// A word as the shell reads it: as is when it is safe, else in single quotes.
std::string shell_word(const std::string& word);

// For a checkpoint enwanda pruned (it holds enwanda_report.json): the run that made it, as
// "enwanda prune --method en --geometry modified --alpha 0.5 --sparsity 0.5"; "" otherwise.
std::string pruned_by(const std::string& dir);

}  // namespace enwanda
