#include "enwanda/io/npy_header.h"

#include <vector>

#include "enwanda/errors.h"

namespace enwanda {

namespace {
// The header dict of a .npy file: NumPy writes it as a Python literal
// ({'descr': '<i8', 'fortran_order': False, 'shape': (3, 4), }) and reads it with ast.literal_eval
// (numpy/lib/format.py, _read_array_header), which also skips a trailing '# comment'. Read here by
// one forward pass over the characters, no regex: a header of any content costs time linear in its
// length and no recursion, and its length is bounded first by kMaxNpyHeaderBytes.
class HeaderReader {
 public:
  HeaderReader(const std::string& text, const std::string& path) : s_(text), path_(path) {}

  // Fills descr, fortran_order and shape; the comment after the dict, if any, into `comment`.
  void read(std::string* descr, bool* fortran, std::vector<int64_t>* shape, std::string* comment) {
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = string_literal();
      expect(':');
      skip_space();
      if (key == "descr" && !have_descr) {
        *descr = string_literal();
        have_descr = true;
      } else if (key == "fortran_order" && !have_order) {
        *fortran = boolean();
        have_order = true;
      } else if (key == "shape" && !have_shape) {
        *shape = int_tuple();
        have_shape = true;
      } else {
        fail("unexpected or repeated key '" + key.substr(0, 40) + "' (NumPy's keys are descr, fortran_order, shape)");
      }
      skip_space();
      if (peek() == ',') ++i_;
      else if (peek() != '}') fail("expected ',' or '}' after the value of '" + key + "'");
    }
    ++i_;  // '}'
    if (!have_descr) fail("lacks descr");
    if (!have_order) fail("lacks fortran_order");
    if (!have_shape) fail("lacks shape");
    skip_space();
    if (peek() == '#') {
      const size_t end = s_.find('\n', i_);
      *comment = s_.substr(i_ + 1, end == std::string::npos ? std::string::npos : end - i_ - 1);
      i_ = end == std::string::npos ? s_.size() : end;
    }
    skip_space();
    if (i_ != s_.size()) fail("text after the header dict");
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(path_ + ": .npy header " + what + " (at byte " + std::to_string(i_) + " of the header)");
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++i_;
  }
  // 'text' or "text", no escapes (NumPy's keys and dtype strings have none)
  std::string string_literal() {
    const char q = peek();
    if (q != '\'' && q != '"') fail("expected a quoted string");
    const size_t end = s_.find(q, i_ + 1);
    if (end == std::string::npos) fail("has an unterminated string");
    std::string out = s_.substr(i_ + 1, end - i_ - 1);
    if (out.find('\\') != std::string::npos) fail("has an escape in a string");
    i_ = end + 1;
    return out;
  }
  bool boolean() {
    if (s_.compare(i_, 4, "True") == 0) return i_ += 4, true;
    if (s_.compare(i_, 5, "False") == 0) return i_ += 5, false;
    fail("fortran_order is not True or False");
  }
  // (d0, d1, ...) of non-negative integers, a trailing comma allowed
  std::vector<int64_t> int_tuple() {
    if (peek() != '(') fail("shape is not a tuple");
    ++i_;
    std::vector<int64_t> dims;
    while (true) {
      skip_space();
      if (peek() == ')') break;
      if (peek() < '0' || peek() > '9') fail("shape holds something other than non-negative integers");
      int64_t d = 0;
      while (peek() >= '0' && peek() <= '9') {
        if (__builtin_mul_overflow(d, int64_t{10}, &d) || __builtin_add_overflow(d, int64_t{peek() - '0'}, &d))
          fail("shape has a dimension beyond 2^63");
        ++i_;
      }
      dims.push_back(d);
      if (dims.size() > 64) fail("shape has more than 64 dimensions");
      skip_space();
      if (peek() == ',') ++i_;
      else if (peek() != ')') fail("shape is not a tuple of integers");
    }
    ++i_;
    return dims;
  }

  const std::string& s_;
  const std::string& path_;
  size_t i_ = 0;
};

}  // namespace

TokenFileHeader parse_token_npy_header(const std::string& header, const std::string& path, int* elem) {
  std::string descr, comment;
  bool fortran = false;
  std::vector<int64_t> shape;
  HeaderReader(header, path).read(&descr, &fortran, &shape, &comment);
  if (descr == "<i8") *elem = 8;
  else if (descr == "<i4") *elem = 4;
  else throw InputError(path + ": token ids must be int32 or int64 (little-endian), got dtype '" + descr.substr(0, 40) + "'");
  if (fortran) throw InputError(path + ": Fortran-ordered arrays are not supported; save with C order");
  if (shape.size() != 2)
    throw InputError(path + ": token array must have rank 2 [nsamples, seqlen], got rank " + std::to_string(shape.size()));
  if (shape[0] == 0 || shape[1] < 2) throw InputError(path + ": token array is empty or shorter than 2 tokens per row");
  TokenFileHeader h{shape[0], shape[1], ""};
  // the mark write_token_npy leaves: "# enwanda vocabulary sha256 <64 hex digits>"
  const std::string mark = " enwanda vocabulary sha256 ";
  if (comment.rfind(mark, 0) == 0 && comment.size() >= mark.size() + 64) {
    const std::string hex = comment.substr(mark.size(), 64);
    if (hex.find_first_not_of("0123456789abcdef") == std::string::npos) h.vocabulary_sha256 = hex;
  }
  return h;
}

}  // namespace enwanda
