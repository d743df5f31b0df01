// Small text-formatting helpers for tables a person reads.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace deepreduce {

// 557056 -> "557,056".
std::string with_commas(int64_t n);
// A CSV field, quoted (with doubled quotes) where it holds a comma, quote or newline.
std::string csv_field(const std::string& s);
// A count and its noun, in the plural unless it is 1: counted(1, "epoch") ->
// "1 epoch", counted(3, "network") -> "3 networks" (with commas from 1,000).
std::string counted(int64_t n, const std::string& noun, const std::string& plural = "");
// Why `name` cannot name an experiment or a trial, "" when it can: names
// reach paths (runs/NAME.db), terminals, CSV, HTML and SVG, so they are
// printable UTF-8 of at most 128 bytes, without control characters, path
// separators, or a leading dot or dash.
std::string name_problem(const std::string& name);
// `s` as a terminal should show it: control characters (ESC, BEL, CR, ...)
// and bytes that are not UTF-8 written as \xNN, everything else as is.
std::string printable(const std::string& s);
// 0.1234 -> "12.3%".
std::string percent(double fraction);
// x with `digits` decimals: fixed(2.345, 1) -> "2.3".
std::string fixed(double x, int digits);

// The Levenshtein distance between two words (insertions, deletions,
// substitutions; an adjacent swap counts 1).
size_t edit_distance(const std::string& a, const std::string& b);
// The candidate nearest `word` when it is near enough to be what was meant
// (at most a third of its letters off, and at most 3), else "".
std::string nearest(const std::string& word, const std::vector<std::string>& candidates);

// The keys in which two JSON documents differ (RFC 6902 paths as dotted keys:
// "train.lr"), each with its value in `before` and in `after` as JSON text,
// "unset" where a side has none.
struct JsonChange {
  std::string key, before, after;
};
std::vector<JsonChange> json_changes(const nlohmann::json& before, const nlohmann::json& after);

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
