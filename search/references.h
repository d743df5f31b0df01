// Published reference points, as data with their sources, selectable by name
// in a sweep's report.references and drawn on the report's plot.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "search/sweep.h"

namespace deepreduce::search {

// A built-in set: published points of one task (dataset, architecture).
struct ReferenceSet {
  std::string name;
  std::string dataset;
  std::string arch;
  std::vector<ReferencePoint> points;  // each carries the set's name and task
};

// Every built-in set, in a stable order.
const std::vector<ReferenceSet>& reference_sets();
// The names of the built-in sets, in a stable order.
std::vector<std::string> reference_set_names();
// A built-in set, or NotFound listing the known names.
Result<std::vector<ReferencePoint>> reference_set(const std::string& name);

}  // namespace deepreduce::search
