// Pruning scores. For weight W [out, in] and its input channel statistics:
//   EN-Original  A_j = α·L1_j + (1−α)·L2sq_j
//   EN-Modified  A_j = α·L1_j + (1−α)·sqrt(L2sq_j)
//   Wanda        A_j = sqrt(L2sq_j)            (EN-Modified at α = 0)
//   S_ij = |W_ij| · A_j                          (magnitude: S_ij = |W_ij|)
// Wanda++ adds a regional-gradient term: S_ij = (γ·G_ij + A_j)·|W_ij|.
#pragma once

#include <string>

#include <torch/torch.h>

#include "enwanda/prune/activation_stats.h"
#include "enwanda/prune/method.h"

namespace enwanda {

enum class Geometry { original, modified };

Geometry parse_geometry(const std::string& s);  // original|modified
std::string geometry_name(Geometry g);

// A_j, fp32 [in_features]. Wanda/wanda++ ignore geometry and alpha.
torch::Tensor activation_scale(Method m, Geometry g, double alpha, const ChannelStats& s);

// S = |W| · A (fp32), or (γ·G + A)·|W| when `gradient_rms` is defined.
torch::Tensor score_elastic_net(const torch::Tensor& weight, const torch::Tensor& scale,
                                const torch::Tensor& gradient_rms = {}, double gamma = 0.0);

}  // namespace enwanda
