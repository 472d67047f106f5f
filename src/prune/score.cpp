#include "enwanda/prune/score.h"

#include "enwanda/errors.h"

namespace enwanda {

Geometry parse_geometry(const std::string& s) {
  if (s == "original") return Geometry::original;
  if (s == "modified") return Geometry::modified;
  throw UsageError("--geometry must be original or modified, got " + s);
}
std::string geometry_name(Geometry g) { return g == Geometry::original ? "original" : "modified"; }

torch::Tensor activation_scale(Method m, Geometry g, double alpha, const ChannelStats& s) {
  if (m == Method::wanda || m == Method::wanda_pp) return s.l2sq.sqrt().to(torch::kFloat32);
  if (m == Method::magnitude) return torch::ones_like(s.l1).to(torch::kFloat32);
  auto l2_term = g == Geometry::original ? s.l2sq : s.l2sq.sqrt();
  return (alpha * s.l1 + (1.0 - alpha) * l2_term).to(torch::kFloat32);
}

torch::Tensor score_elastic_net(const torch::Tensor& weight, const torch::Tensor& scale,
                                const torch::Tensor& gradient_rms, double gamma) {
  auto w = weight.detach().to(torch::kFloat32).abs();
  auto a = scale.to(w.device(), torch::kFloat32).unsqueeze(0);  // [1, in]
  if (!gradient_rms.defined()) return w * a;
  return (gamma * gradient_rms.to(w.device(), torch::kFloat32) + a) * w;
}

}  // namespace enwanda
