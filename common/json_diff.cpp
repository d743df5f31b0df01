#include "common/json_diff.h"


namespace deepreduce {

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
