// Masks from scores. A mask is bool with true = prune (set to zero).
//   Unstructured: in each output row, the floor(sparsity·in) lowest scores; ties go to the
//                 lower column index (a stable ascending sort). On CUDA the same mask comes from
//                 each row's k-th value instead of a sort (row_mask_kth_value), on the CPU
//                 from a selection in each row (row_mask_selected); NaN counts as the
//                 largest score either way.
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
// The k lowest scores per row (0 < k < columns), ties to the lower column, by sorting each row / by
// each row's k-th value: everything below it, then the leftmost entries equal to it until k are taken.
torch::Tensor row_mask_sorted(const torch::Tensor& scores, int64_t k);
torch::Tensor row_mask_kth_value(const torch::Tensor& scores, int64_t k);
// The same on the CPU by a selection (std::nth_element) in each row, rows spread over the threads.
torch::Tensor row_mask_selected(const torch::Tensor& scores, int64_t k);
torch::Tensor row_mask_n_m(const torch::Tensor& scores, int64_t n, int64_t m);
torch::Tensor matrix_mask_magnitude(const torch::Tensor& weight, double sparsity);

}  // namespace enwanda
