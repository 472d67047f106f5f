#include "enwanda/mask.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include <ATen/Parallel.h>

#include "enwanda/errors.h"

namespace enwanda {

std::string Structure::str() const { return nm() ? std::to_string(n) + ":" + std::to_string(m) : "unstructured"; }

Structure parse_structure(const std::string& s) {
  if (s == "unstructured") return {};
  auto colon = s.find(':');
  Structure st;
  try {
    if (colon == std::string::npos) throw std::invalid_argument(s);
    size_t used_n = 0, used_m = 0;
    st.n = std::stoll(s.substr(0, colon), &used_n);
    st.m = std::stoll(s.substr(colon + 1), &used_m);
    if (used_n != colon || used_m != s.size() - colon - 1) throw std::invalid_argument(s);
  } catch (const std::exception&) {
    throw UsageError("--structure must be unstructured or N:M (e.g. 2:4), got " + s);
  }
  if (st.n <= 0 || st.m <= 0 || st.n >= st.m)
    throw UsageError("--structure " + s + ": need 0 < N < M");
  return st;
}

torch::Tensor row_mask_sorted(const torch::Tensor& scores, int64_t k) {
  auto mask = torch::zeros(scores.sizes(), torch::TensorOptions().dtype(torch::kBool).device(scores.device()));
  auto order = std::get<1>(scores.sort(/*stable=*/true, /*dim=*/1, /*descending=*/false));
  mask.scatter_(1, order.slice(1, 0, k), true);
  return mask;
}

torch::Tensor row_mask_kth_value(const torch::Tensor& scores, int64_t k) {
  auto kth = std::get<0>(scores.kthvalue(k, /*dim=*/1, /*keepdim=*/true));
  const auto nan = scores.isnan(), kth_nan = kth.isnan();
  auto below = (scores < kth).logical_or_(kth_nan.logical_and(nan.logical_not()));  // NaN: above all numbers
  auto tied = (scores == kth).logical_or_(kth_nan.logical_and(nan));
  auto still_needed = k - below.sum(1, /*keepdim=*/true);
  return below.logical_or_(tied.logical_and(tied.cumsum(1) <= still_needed));
}

torch::Tensor row_mask_selected(const torch::Tensor& scores, int64_t k) {
  TORCH_CHECK(scores.device().is_cpu() && scores.dim() == 2, "row_mask_selected: a 2-D CPU tensor");
  const auto s = scores.to(torch::kFloat32).contiguous();
  auto mask = torch::zeros(s.sizes(), torch::TensorOptions().dtype(torch::kBool));
  const int64_t cols = s.size(1);
  const float* base = s.data_ptr<float>();
  bool* out = mask.data_ptr<bool>();
  at::parallel_for(0, s.size(0), 16, [&](int64_t begin, int64_t end) {
    std::vector<int32_t> order(static_cast<size_t>(cols));
    for (int64_t r = begin; r < end; ++r) {
      const float* row = base + r * cols;
      std::iota(order.begin(), order.end(), 0);
      // the stable ascending sort's order: by score, NaN after every number, ties by column
      auto before = [row](int32_t a, int32_t b) {
        const float x = row[a], y = row[b];
        if (x < y) return true;
        if (x > y) return false;
        const bool x_nan = std::isnan(x), y_nan = std::isnan(y);
        if (x_nan != y_nan) return y_nan;
        return a < b;  // equal, or both NaN
      };
      std::nth_element(order.begin(), order.begin() + (k - 1), order.end(), before);
      bool* out_row = out + r * cols;
      for (int64_t i = 0; i < k; ++i) out_row[order[static_cast<size_t>(i)]] = true;
    }
  });
  return mask;
}

torch::Tensor row_mask_unstructured(const torch::Tensor& scores, double sparsity) {
  const int64_t cols = scores.size(1);
  const auto k = static_cast<int64_t>(std::floor(sparsity * static_cast<double>(cols)));
  if (k == 0) return torch::zeros(scores.sizes(), torch::TensorOptions().dtype(torch::kBool).device(scores.device()));
  // scripts/bench_masks.py on the 2-core CPU (torch 1.13, 11008x4096): sorting 2.64 s, k-th value 4.49 s
  return scores.is_cuda() ? row_mask_kth_value(scores, k) : row_mask_selected(scores, k);
}

torch::Tensor row_mask_n_m(const torch::Tensor& scores, int64_t n, int64_t m) {
  const int64_t rows = scores.size(0), cols = scores.size(1);
  if (cols % m != 0)
    throw UsageError("N:M structure needs M=" + std::to_string(m) + " to divide in_features=" + std::to_string(cols));
  auto groups = scores.reshape({rows, cols / m, m});
  auto order = std::get<1>(groups.sort(/*stable=*/true, /*dim=*/2, /*descending=*/false));
  auto mask = torch::zeros(groups.sizes(), torch::TensorOptions().dtype(torch::kBool).device(scores.device()));
  mask.scatter_(2, order.slice(2, 0, n), true);
  return mask.reshape({rows, cols});
}

torch::Tensor matrix_mask_magnitude(const torch::Tensor& weight, double sparsity) {
  auto w = weight.detach().to(torch::kFloat32).abs();
  const auto k = static_cast<int64_t>(std::floor(sparsity * static_cast<double>(w.numel())));
  if (k == 0) return torch::zeros(w.sizes(), torch::TensorOptions().dtype(torch::kBool).device(w.device()));
  auto threshold = std::get<0>(w.reshape({-1}).kthvalue(k));
  return w <= threshold;
}

}  // namespace enwanda
