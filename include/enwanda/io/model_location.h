// Where --model points: a checkpoint directory, a HuggingFace hub cache repository directory
// (models--ORG--NAME, laid out as huggingface_hub stores it), or a hub id ORG/NAME looked up in the
// local hub cache. Nothing is ever downloaded.
#pragma once

#include <string>

namespace enwanda {

// The hub cache directory huggingface_hub uses: $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE, else
// $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
std::string hub_cache_directory();

// The checkpoint directory `model` names:
//   - a directory with config.json: itself;
//   - a hub cache repository (models--ORG--NAME, holding snapshots/): the snapshot refs/main
//     names, else its only snapshot;
//   - ORG/NAME that is not a path on disk: that repository in hub_cache_directory().
// Anything else is returned as given (Checkpoint::open then says what is wrong with it). A
// repository with no usable snapshot, or an id missing from the cache, is an InputError that says
// where it looked.
std::string locate_model(const std::string& model);

}  // namespace enwanda
