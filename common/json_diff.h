// Where two JSON documents differ, key by key.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace deepreduce {

// The keys in which two JSON documents differ (RFC 6902 paths as dotted keys:
// "train.lr"), each with its value in `before` and in `after` as JSON text,
// "unset" where a side has none.
struct JsonChange {
  std::string key, before, after;
};
std::vector<JsonChange> json_changes(const nlohmann::json& before, const nlohmann::json& after);

}  // namespace deepreduce
