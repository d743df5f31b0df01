// Tables for a terminal.
#pragma once

#include <string>
#include <vector>

namespace deepreduce {

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
