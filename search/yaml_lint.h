// Checks every config file gets before its keys are read, whichever surface
// reads it (sweeps, trial lists, trial files): mistakes YAML itself accepts
// silently, each named by file:line and key path.
//   - a key given twice in one mapping (YAML keeps one of them, unseen);
//   - a key that is not a plain scalar (`? [a, b]`);
//   - a value over several lines: a quote left open swallows the lines after
//     it into one string (`name: "quick` ... the rest of the file);
//   - more than kMaxYamlValues values, counted as a reader walks them (aliases
//     of aliases expand a few lines into billions).
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>

#include "common/status.h"

namespace deepreduce::search {

// The most values (scalars, lists, mappings) a config may hold, aliases
// expanded; the largest shipped config has a few hundred.
constexpr int64_t kMaxYamlValues = 1000000;
// The largest config file read.
constexpr size_t kMaxConfigBytes = 8u << 20;

// `text` is the file's text: a scalar that does not fit on the line it starts
// on spans lines (YAML folds the line breaks of a quoted one into spaces, so
// the value alone cannot tell).
Status lint_yaml(const YAML::Node& root, const std::string& path, const std::string& text);

// A YAML scalar read as T, or an error naming file:line and `key` with what
// was expected (yaml-cpp's own "bad conversion" names neither).
template <typename T>
Status read_scalar(const YAML::Node& n, const std::string& path, const std::string& key, const char* expected,
                   T& out) {
  const std::string where = path + ":" + std::to_string(n.Mark().line + 1) + ": " + key + ": ";
  if (!n.IsScalar())
    return Status::invalid_argument(where + "expected " + expected + ", got " +
                                    (n.IsSequence() ? "a list" : n.IsMap() ? "a mapping" : "nothing"));
  try {
    out = n.as<T>();
  } catch (const YAML::Exception&) {
    return Status::invalid_argument(where + "expected " + expected + ", got \"" + n.Scalar() + "\"");
  }
  return Status();
}

}  // namespace deepreduce::search
