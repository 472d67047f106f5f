// Masks from scores. A mask is bool with true = prune (set to zero).
//   Unstructured: in each output row, the floor(sparsity·in) lowest scores; ties go to the
//                 lower column index (a stable ascending sort).
//   N:M:          in each row and each group of M consecutive columns, the N lowest.
//   Magnitude:    one threshold per matrix, the k-th smallest |W| with k = floor(sparsity·numel);
//                 every |W| <= threshold is pruned.
#pragma once

#include <string>

#include <torch/torch.h>

namespace enwanda {

struct Structure {
  int64_t n = 0;  // N:M when m > 0, else unstructured
  int64_t m = 0;
  bool nm() const { return m > 0; }
  std::string str() const;
};
Structure parse_structure(const std::string& s);  // "unstructured" or "N:M"; throws UsageError

torch::Tensor row_mask_unstructured(const torch::Tensor& scores, double sparsity);
torch::Tensor row_mask_n_m(const torch::Tensor& scores, int64_t n, int64_t m);
torch::Tensor matrix_mask_magnitude(const torch::Tensor& weight, double sparsity);

}  // namespace enwanda
