#include "common/utf8.h"

#include <fmt/format.h>

#include <cstdint>

namespace deepreduce {

namespace {

// The length of the UTF-8 sequence at s[i] (a well-formed one, not overlong,
// not a surrogate, at most U+10FFFF), or 0.
size_t utf8_length(const std::string& s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  if (c == 0xE0 && b(i + 1) < 0xA0) return 0;   // overlong
  if (c == 0xED && b(i + 1) >= 0xA0) return 0;  // surrogates
  if (c == 0xF0 && b(i + 1) < 0x90) return 0;   // overlong
  if (c == 0xF4 && b(i + 1) >= 0x90) return 0;  // beyond U+10FFFF
  return n;
}

bool control(unsigned char c) { return c < 0x20 || c == 0x7F; }

}  // namespace

std::string name_problem(const std::string& name) {
  if (name.empty()) return "empty";
  if (name.size() > 128) return "longer than 128 bytes";
  for (size_t i = 0; i < name.size();) {
    const size_t n = utf8_length(name, i);
    if (n == 0) return "not UTF-8 (byte " + std::to_string(i + 1) + ")";
    if (n == 1 && control(static_cast<unsigned char>(name[i])))
      return "a control character (byte " + std::to_string(i + 1) + "): names are printed and used in paths";
    if (n == 2 && static_cast<unsigned char>(name[i]) == 0xC2 && static_cast<unsigned char>(name[i + 1]) < 0xA0)
      return "a control character (byte " + std::to_string(i + 1) + "): names are printed and used in paths";
    i += n;
  }
  if (name.find('/') != std::string::npos || name.find('\\') != std::string::npos)
    return "a path separator: names become file names (runs/NAME.db)";
  if (name[0] == '.' || name[0] == '-') return "it starts with '" + name.substr(0, 1) + "' (a hidden file or an option)";
  return "";
}

std::string printable(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_length(s, i);
    const bool c1 = n == 2 && static_cast<unsigned char>(s[i]) == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0;
    if (n == 0 || (n == 1 && control(static_cast<unsigned char>(s[i]))) || c1) {
      const size_t bad = n == 0 ? 1 : n;
      for (size_t k = 0; k < bad; ++k) out += fmt::format("\\x{:02X}", static_cast<unsigned char>(s[i + k]));
      i += bad;
      continue;
    }
    out.append(s, i, n);
    i += n;
  }
  return out;
}

}  // namespace deepreduce
