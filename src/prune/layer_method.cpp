#include "enwanda/prune/layer_method.h"

#include "enwanda/prune/methods/activation_score.h"
#include "enwanda/prune/methods/alps.h"
#include "enwanda/prune/methods/dsnot.h"
#include "enwanda/prune/methods/magnitude.h"
#include "enwanda/prune/methods/regional.h"
#include "enwanda/prune/methods/ria.h"
#include "enwanda/prune/methods/sparsegpt.h"

namespace enwanda {

std::unique_ptr<LayerMethod> make_layer_method(const MethodOptions& opt) {
  switch (opt.method) {
    case Method::magnitude: return std::make_unique<MagnitudeMethod>(opt);
    case Method::en:
    case Method::wanda: return std::make_unique<ActivationScoreMethod>(opt);
    case Method::wanda_pp:
    case Method::en_pp: return std::make_unique<RegionalMethod>(opt);
    case Method::sparsegpt: return std::make_unique<SparseGptMethod>(opt);
    case Method::ria: return std::make_unique<RiaMethod>(opt);
    case Method::dsnot: return std::make_unique<DsnotMethod>(opt);
    case Method::alps: return std::make_unique<AlpsMethod>(opt);
  }
  return nullptr;
}

}  // namespace enwanda
