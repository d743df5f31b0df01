// Small text helpers the report's tables and its figures share.
#pragma once

#include <cstdint>
#include <fmt/format.h>
#include <string>

#include "common/utf8.h"
#include "report/report.h"

namespace deepreduce::report::text {

// Escaped for HTML and SVG text and attributes.
// For HTML and SVG (XML): markup escaped, and what XML cannot hold at all
// (control characters, bytes that are not UTF-8) shown as \xNN first.
inline std::string esc(const std::string& raw) {
  const std::string s = printable(raw);
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// "12.3K", "1.2M": ReLU and MAC counts as the literature quotes them.
inline std::string si(int64_t n) {
  const double x = static_cast<double>(n);
  if (x >= 1e9) return fmt::format("{:.3g}G", x / 1e9);
  if (x >= 1e6) return fmt::format("{:.3g}M", x / 1e6);
  if (x >= 1e3) return fmt::format("{:.3g}K", x / 1e3);
  return std::to_string(n);
}

// A point's test top-1: "71.53", or with seeds "71.53 ± 1.20 (n=2)".
inline std::string top1_text(const ReportPoint& p) {
  if (p.seeds <= 1) return fmt::format("{:.2f}", p.top1);
  return fmt::format("{:.2f}", p.top1) + " \u00b1 " + fmt::format("{:.2f}", p.top1_std) + " (n=" + std::to_string(p.seeds) + ")";
}

}  // namespace deepreduce::report::text
