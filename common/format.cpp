#include "common/format.h"

#include <fmt/format.h>

#include <algorithm>

namespace deepreduce {

std::string with_commas(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

std::string csv_field(const std::string& s) {
  // RFC 4180: a field with a comma, quote, CR or LF is quoted.
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

std::string percent(double fraction) { return fmt::format("{:.1f}%", 100.0 * fraction); }

std::string fixed(double x, int digits) { return fmt::format("{:.{}f}", x, digits); }

std::string counted(int64_t n, const std::string& noun, const std::string& plural) {
  return with_commas(n) + " " + (n == 1 ? noun : plural.empty() ? noun + "s" : plural);
}

std::string duration_text(double seconds) {
  const double s = std::max(0.0, seconds);
  if (s < 90) return fmt::format("{:.0f} s", s);
  if (s < 5400) return fmt::format("{:.0f} min", s / 60);
  return fmt::format("{:.1f} h", s / 3600);
}

}  // namespace deepreduce
