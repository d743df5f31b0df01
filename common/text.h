// Small text-formatting helpers for tables a person reads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace deepreduce {

// 557056 -> "557,056".
std::string with_commas(int64_t n);
// A CSV field, quoted (with doubled quotes) where it holds a comma, quote or newline.
std::string csv_field(const std::string& s);
// 0.1234 -> "12.3%".
std::string percent(double fraction);
// x with `digits` decimals: fixed(2.345, 1) -> "2.3".
std::string fixed(double x, int digits);

// A left/right aligned text table; the first column is left-aligned, the
// others right-aligned.
class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header) : rows_{std::move(header)} {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace deepreduce
