// Masks from scores. A mask is bool with true = prune (set to zero).
//   Unstructured: in each output row, the floor(sparsity·in) lowest scores; ties go to the
//                 lower column index (the set a stable ascending sort takes first), NaN counts as
//                 the largest score. CUDA: each row's k-th value; CPU: a selection per row.
//   N:M:          in each row and each group of M consecutive columns, the N lowest, same order.
//                 CUDA: a sort of each group; CPU: a selection per group.
//   Magnitude:    one threshold per matrix, the k-th smallest |W| with k = floor(sparsity·numel);
//                 every |W| <= threshold is pruned.
//   Per matrix:   every score at or below the value at a given index of the matrix's ascending sort.
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

// The ways to the masks above. The n lowest scores in every group of `group` consecutive columns
// of each row (group = the row's length for unstructured masks), ties to the lower column, NaN
// last: by a stable sort of each group, or on the CPU by a selection in each group
// (std::nth_element; groups spread over the threads).
torch::Tensor group_mask_sorted(const torch::Tensor& scores, int64_t group, int64_t n);
torch::Tensor group_mask_selected(const torch::Tensor& scores, int64_t group, int64_t n);
// The k lowest of each row from its k-th value: everything below it, then the leftmost entries
// equal to it until k are taken (CUDA, where it beats a sort).
torch::Tensor row_mask_kth_value(const torch::Tensor& scores, int64_t k);
// Every value at or below the one at `index` (0-based) of the matrix's ascending sort: index+1
// entries plus ties (NaN as the largest). RIA's and SparseGPT's unstructured masks.
torch::Tensor matrix_mask_at_or_below(const torch::Tensor& values, int64_t index);
torch::Tensor matrix_mask_magnitude(const torch::Tensor& weight, double sparsity);

}  // namespace enwanda
