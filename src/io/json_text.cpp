#include "enwanda/io/json_text.h"

#include <cstdio>

#include "enwanda/errors.h"

namespace enwanda {

namespace {
template <typename Input>
nlohmann::json parse_limited(Input&& input, const std::string& where) {
  auto limit = [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
    if (depth > kMaxJsonDepth && (event == nlohmann::json::parse_event_t::object_start ||
                                  event == nlohmann::json::parse_event_t::array_start))
      throw InputError(where + ": JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                       " levels; no file enwanda reads needs that many");
    return true;
  };
  try {
    return nlohmann::json::parse(std::forward<Input>(input), limit);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(where + ": not valid JSON: " + plain_json_error(e));
  }
}
}  // namespace

namespace {
// The length of the valid UTF-8 sequence at s[i], or 0 (RFC 3629: no overlongs, no surrogates).
size_t utf8_length(const std::string& s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((b(i + k) & 0xc0) != 0x80) return 0;
  if (n == 2 && c < 0xc2) return 0;
  if (n == 3 && ((c == 0xe0 && b(i + 1) < 0xa0) || (c == 0xed && b(i + 1) >= 0xa0))) return 0;
  if (n == 4 && ((c == 0xf0 && b(i + 1) < 0x90) || c > 0xf4 || (c == 0xf4 && b(i + 1) >= 0x90))) return 0;
  return n;
}

std::string escape_invalid_utf8(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    if (const size_t n = utf8_length(s, i)) {
      out.append(s, i, n);
      i += n;
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02X", static_cast<unsigned char>(s[i++]));
      out += buf;
    }
  }
  return out;
}

nlohmann::json with_valid_strings(const nlohmann::json& j) {
  if (j.is_string()) return escape_invalid_utf8(j.get_ref<const std::string&>());
  if (j.is_array()) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : j) out.push_back(with_valid_strings(e));
    return out;
  }
  if (j.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (auto it = j.begin(); it != j.end(); ++it) out[escape_invalid_utf8(it.key())] = with_valid_strings(it.value());
    return out;
  }
  return j;
}
}  // namespace

std::string dump_json(const nlohmann::json& j, int indent) {
  try {
    return j.dump(indent);
  } catch (const nlohmann::json::type_error&) {  // 316: a string that is not UTF-8
    return with_valid_strings(j).dump(indent);
  }
}

std::string plain_json_error(const nlohmann::json::exception& e) {
  std::string msg = e.what();
  if (msg.rfind("[json.exception.", 0) == 0) {
    const size_t close = msg.find("] ");
    if (close != std::string::npos) msg = msg.substr(close + 2);
  }
  return msg;
}

nlohmann::json parse_json(const std::string& text, const std::string& where) { return parse_limited(text, where); }

nlohmann::json parse_json(std::istream& in, const std::string& where) { return parse_limited(in, where); }

}  // namespace enwanda
