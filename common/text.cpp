#include "common/text.h"

#include <fmt/format.h>
#include <algorithm>
#include <cstdint>
#include <cstdio>

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

namespace {

// Columns on a terminal: UTF-8 characters, not bytes ("±" is one column).
size_t columns(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

std::string TextTable::render() const {
  std::vector<size_t> width;
  for (const auto& row : rows_) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], columns(row[i]));
  }
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      const std::string pad(width[i] - columns(row[i]), ' ');
      if (i) line += "  ";
      line += i == 0 ? row[i] + pad : pad + row[i];
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

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

std::string counted(int64_t n, const std::string& noun, const std::string& plural) {
  return with_commas(n) + " " + (n == 1 ? noun : plural.empty() ? noun + "s" : plural);
}

size_t edit_distance(const std::string& a, const std::string& b) {
  // Optimal string alignment: Levenshtein plus transpositions of neighbours.
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<size_t>> d(n + 1, std::vector<size_t>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (size_t i = 1; i <= n; ++i)
    for (size_t j = 1; j <= m; ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[n][m];
}

std::string nearest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = SIZE_MAX;
  for (const auto& c : candidates) {
    const size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  const size_t allowed = std::min<size_t>(3, std::max<size_t>(1, word.size() / 3));
  return best_distance <= allowed ? best : "";
}

std::vector<JsonChange> json_changes(const nlohmann::json& before, const nlohmann::json& after) {
  std::vector<JsonChange> out;
  for (const auto& op : nlohmann::json::diff(before, after)) {
    const std::string path = op["path"].get<std::string>();
    std::string key = path.substr(1);
    std::replace(key.begin(), key.end(), '/', '.');
    const nlohmann::json::json_pointer at(path);
    out.push_back({key, before.contains(at) ? before[at].dump() : "unset", after.contains(at) ? after[at].dump() : "unset"});
  }
  return out;
}

}  // namespace deepreduce
