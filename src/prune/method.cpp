#include "enwanda/prune/method.h"

#include "enwanda/errors.h"

namespace enwanda {

Method parse_method(const std::string& s) {
  for (Method m : {Method::en, Method::wanda, Method::magnitude, Method::wanda_pp, Method::en_pp, Method::sparsegpt,
                   Method::ria, Method::dsnot, Method::alps})
    if (s == method_name(m)) return m;
  throw UsageError("--method must be en, wanda, magnitude, wanda++, en++, sparsegpt, ria, dsnot or alps, got " + s);
}

std::string method_name(Method m) {
  switch (m) {
    case Method::en: return "en";
    case Method::wanda: return "wanda";
    case Method::magnitude: return "magnitude";
    case Method::wanda_pp: return "wanda++";
    case Method::en_pp: return "en++";
    case Method::sparsegpt: return "sparsegpt";
    case Method::ria: return "ria";
    case Method::dsnot: return "dsnot";
    case Method::alps: return "alps";
  }
  return "?";
}

bool uses_activations(Method m) { return m != Method::magnitude; }
bool uses_regional_gradients(Method m) { return m == Method::wanda_pp || m == Method::en_pp; }
bool uses_elastic_net(Method m) { return m == Method::en || m == Method::en_pp; }

}  // namespace enwanda
