// Published reference points, as data with their sources, selectable by name
// in a sweep's report.references and drawn on the report's plot.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "search/sweep.h"

namespace deepreduce::search {

// The names of the built-in sets, in a stable order.
std::vector<std::string> reference_set_names();
// A built-in set, or NotFound listing the known names.
Result<std::vector<ReferencePoint>> reference_set(const std::string& name);

}  // namespace deepreduce::search
