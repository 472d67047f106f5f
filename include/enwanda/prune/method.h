// The pruning methods by name, and what sets them apart at a glance.
#pragma once

#include <string>

namespace enwanda {

enum class Method { en, wanda, magnitude, wanda_pp, en_pp, sparsegpt, ria, dsnot, alps };

Method parse_method(const std::string& s);  // en|wanda|magnitude|wanda++|en++|sparsegpt|ria|dsnot|alps; throws UsageError
std::string method_name(Method m);
bool uses_activations(Method m);         // all but magnitude
bool uses_regional_gradients(Method m);  // wanda++, en++
bool uses_elastic_net(Method m);         // en, en++: --alpha and --geometry apply

}  // namespace enwanda
