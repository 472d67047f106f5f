#include "enwanda/io/safetensors_header.h"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "enwanda/errors.h"
#include "enwanda/io/json_text.h"

namespace enwanda {

namespace {
struct DtypeEntry {
  Dtype d;
  const char* name;
  size_t size;
};
const DtypeEntry kDtypes[] = {
    {Dtype::BOOL, "BOOL", 1}, {Dtype::U8, "U8", 1},     {Dtype::I8, "I8", 1},
    {Dtype::F8_E5M2, "F8_E5M2", 1}, {Dtype::F8_E4M3, "F8_E4M3", 1},
    {Dtype::I16, "I16", 2},   {Dtype::U16, "U16", 2},   {Dtype::F16, "F16", 2},
    {Dtype::BF16, "BF16", 2}, {Dtype::I32, "I32", 4},   {Dtype::U32, "U32", 4},
    {Dtype::F32, "F32", 4},   {Dtype::F64, "F64", 8},   {Dtype::I64, "I64", 8},
    {Dtype::U64, "U64", 8},
};

bool mul_overflows(uint64_t a, uint64_t b, uint64_t* out) { return __builtin_mul_overflow(a, b, out); }
}  // namespace

size_t dtype_size(Dtype d) {
  for (auto& e : kDtypes)
    if (e.d == d) return e.size;
  return 0;
}
std::string dtype_name(Dtype d) {
  for (auto& e : kDtypes)
    if (e.d == d) return e.name;
  return "?";
}
bool parse_dtype(const std::string& name, Dtype* out) {
  for (auto& e : kDtypes)
    if (name == e.name) {
      *out = e.d;
      return true;
    }
  return false;
}
SafetensorsHeader parse_safetensors_header(const uint8_t* prefix, size_t prefix_len, uint64_t file_bytes,
                                           const std::string& where) {
  auto bad = [&](const std::string& why) { return InputError(where + ": invalid safetensors header: " + why); };
  if (file_bytes < 8 || prefix_len < 8) throw bad("file is " + std::to_string(file_bytes) + " bytes, shorter than the 8-byte header length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | prefix[i];
  if (n > kMaxHeaderBytes) throw bad("header length " + std::to_string(n) + " exceeds the 100 MB limit");
  if (n > file_bytes - 8) throw bad("header length " + std::to_string(n) + " runs past the end of the " + std::to_string(file_bytes) + "-byte file (truncated download?)");
  if (prefix_len < 8 + n) throw bad("header not available in memory");
  std::string text(reinterpret_cast<const char*>(prefix + 8), n);
  if (text.empty() || text[0] != '{') throw bad("header does not start with a JSON object '{'");

  // Parse, noting duplicate top-level keys (nlohmann would keep the last silently).
  std::set<std::string> seen;
  std::string duplicate;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text, [&](int depth, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) {
      if (depth > kMaxJsonDepth) throw bad("JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
      if (ev == nlohmann::json::parse_event_t::key && depth == 1) {
        const std::string& k = parsed.get_ref<const std::string&>();
        if (!seen.insert(k).second && duplicate.empty()) duplicate = k;
      }
      return true;
    });
  } catch (const nlohmann::json::exception& e) {
    throw bad("not valid UTF-8 JSON: " + plain_json_error(e));
  }
  if (!duplicate.empty()) throw bad("duplicate tensor name \"" + duplicate + "\"");
  if (!j.is_object()) throw bad("header is not a JSON object");

  SafetensorsHeader h;
  h.data_start = 8 + n;
  const uint64_t buffer_len = file_bytes - 8 - n;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    const auto& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) throw bad("__metadata__ is not an object of strings");
      for (auto m = v.begin(); m != v.end(); ++m) {
        if (!m.value().is_string()) throw bad("__metadata__ value for \"" + m.key() + "\" is not a string");
        h.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
      throw bad("tensor \"" + name + "\" needs dtype, shape and data_offsets");
    TensorInfo t;
    t.name = name;
    if (!v["dtype"].is_string() || !parse_dtype(v["dtype"].get<std::string>(), &t.dtype))
      throw bad("tensor \"" + name + "\" has unknown dtype " + v["dtype"].dump());
    if (!v["shape"].is_array()) throw bad("tensor \"" + name + "\" shape is not an array");
    uint64_t numel = 1;
    for (const auto& d : v["shape"]) {
      if (!d.is_number_unsigned()) throw bad("tensor \"" + name + "\" has a negative or non-integer dimension");
      uint64_t dim = d.get<uint64_t>();
      if (dim > static_cast<uint64_t>(INT64_MAX) || mul_overflows(numel, dim, &numel))
        throw bad("tensor \"" + name + "\" shape product overflows");
      t.shape.push_back(static_cast<int64_t>(dim));
    }
    uint64_t nbytes = 0;
    if (mul_overflows(numel, dtype_size(t.dtype), &nbytes)) throw bad("tensor \"" + name + "\" byte size overflows");
    const auto& off = v["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      throw bad("tensor \"" + name + "\" data_offsets must be two non-negative integers");
    t.begin = off[0].get<uint64_t>();
    t.end = off[1].get<uint64_t>();
    if (t.end < t.begin) throw bad("tensor \"" + name + "\" data_offsets end before they begin");
    if (t.end - t.begin != nbytes)
      throw bad("tensor \"" + name + "\" occupies " + std::to_string(t.end - t.begin) + " bytes but " +
                dtype_name(t.dtype) + " x shape needs " + std::to_string(nbytes));
    h.tensors.push_back(std::move(t));
  }
  std::sort(h.tensors.begin(), h.tensors.end(), [](const TensorInfo& a, const TensorInfo& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t expected = 0;
  for (const auto& t : h.tensors) {
    if (t.begin < expected) throw bad("tensor \"" + t.name + "\" overlaps the previous tensor's bytes");
    if (t.begin > expected) throw bad("gap in the data buffer before tensor \"" + t.name + "\"");
    expected = t.end;
  }
  if (expected > buffer_len)
    throw bad("tensors need " + std::to_string(expected) + " data bytes but the file holds " +
              std::to_string(buffer_len) + " (truncated download?)");
  if (expected != buffer_len)
    throw bad("data buffer is " + std::to_string(buffer_len) + " bytes but the tensors cover " + std::to_string(expected));
  return h;
}

}  // namespace enwanda
