#include "search/registry.h"

#include <fmt/format.h>

namespace deepreduce::search {

const std::vector<StrategyDef>& strategy_registry() {
  // One line per strategy: its file defines the rest.
  static const std::vector<StrategyDef> kRegistry = {
      grid_strategy_def(),
      deepreduce_strategy_def(),
      linearize_strategy_def(),
      senet_strategy_def(),
      senet_uniform_strategy_def(),
      channel_pruning_strategy_def(),
  };
  return kRegistry;
}

const StrategyDef* strategy_of_method(const std::string& method) {
  for (const auto& d : strategy_registry())
    if (d.method == method) return &d;
  return nullptr;
}

std::vector<std::string> search_strategy_names() {
  std::vector<std::string> names;
  for (const auto& d : strategy_registry())
    if (d.section == "search") names.push_back(d.name);
  return names;
}

Result<const StrategyDef*> find_strategy(const std::string& name) {
  for (const auto& d : strategy_registry())
    if (d.name == name) return &d;
  std::vector<std::string> names;
  for (const auto& d : strategy_registry()) names.push_back(d.name);
  const std::string known = fmt::format("{}", fmt::join(names, ", "));
  const std::string near = nearest(name, names);
  return Status::not_found(fmt::format("unknown strategy \"{}\"{}; known: {}", name,
                                       near.empty() ? "" : "; did you mean " + near + "?", known));
}

}  // namespace deepreduce::search
