// Numbers and counts as a person reads them, and CSV fields.
#pragma once

#include <cstdint>
#include <string>

namespace deepreduce {

// 557056 -> "557,056".
std::string with_commas(int64_t n);
// A CSV field, quoted (with doubled quotes) where it holds a comma, quote or newline.
std::string csv_field(const std::string& s);
// A count and its noun, in the plural unless it is 1: counted(1, "epoch") ->
// "1 epoch", counted(3, "network") -> "3 networks" (with commas from 1,000).
std::string counted(int64_t n, const std::string& noun, const std::string& plural = "");
// 0.1234 -> "12.3%".
std::string percent(double fraction);
// x with `digits` decimals: fixed(2.345, 1) -> "2.3".
std::string fixed(double x, int digits);

// A time span as a person reads it: "45 s", "12 min", "3.4 h" (the live page's form).
std::string duration_text(double seconds);

}  // namespace deepreduce
