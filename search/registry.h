// The strategy registry: name -> config reader + factory. A strategy is one
// file (search/<name>.cpp) that defines its StrategyDef, plus its line in
// strategy_registry(); the sweep parser, make_strategy(), the stored config and
// the report find it here and need no edit.
//
// A config names its methods in `search:` (one mapping, or a list of them,
// each with `strategy: NAME` and that strategy's keys), and strategies that
// sit beside the search read a top-level section of their own
// (channel_pruning:). Each reader turns its keys into canonical JSON options,
// which the store keeps with the experiment (so reports never parse YAML) and
// which the factory builds the strategy from.
#pragma once

#include <yaml-cpp/yaml.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "search/config_reader.h"
#include "search/strategy.h"

namespace deepreduce::search {

struct StrategyDef {
  std::string name;     // "deepreduce": what `strategy:` says
  std::string method;   // the front its networks are drawn on: "DeepReDuce", "channel pruning", ...
  std::string summary;  // one line for help
  // Where its keys are: "search" (an entry of the search section) or a
  // top-level section of its own ("channel_pruning").
  std::string section = "search";
  std::vector<std::string> keys;  // its keys (besides `strategy` in a search entry)
  // Whether successive halving (search.successive_halving) may shorten its candidates.
  bool halving = false;
  // Reads its keys of `node` (the config's base job, seeds and model already
  // read into `config`) into canonical options; errors name file:line and key.
  // May fill `config`'s typed view of a built-in strategy.
  Result<nlohmann::json> (*read)(const ConfigReader& r, const YAML::Node& node, SweepConfig& config) = nullptr;
  // Restores `config`'s typed view from stored options (built-ins); checks them (all).
  Status (*load)(const nlohmann::json& options, SweepConfig& config) = nullptr;
  // The strategy for the config and these options.
  Result<std::unique_ptr<Strategy>> (*make)(const SweepConfig& config, const nlohmann::json& options) = nullptr;
};

// Every strategy, in a stable order.
const std::vector<StrategyDef>& strategy_registry();
// The strategy called `name`; NotFound naming the known ones (and the nearest).
Result<const StrategyDef*> find_strategy(const std::string& name);
// Names of strategies read from a `search` entry.
std::vector<std::string> search_strategy_names();

// The definitions (one per strategy file).
StrategyDef grid_strategy_def();
StrategyDef deepreduce_strategy_def();
StrategyDef channel_pruning_strategy_def();
StrategyDef linearize_strategy_def();
StrategyDef senet_strategy_def();

// The keys grid and deepreduce share, read into config.grid and
// config.thin_position: alpha, rho, blocks (reshaping) and kd, and
// thin_position; every value checked where it is written.
Status read_reshaping(const ConfigReader& r, const YAML::Node& search, SweepConfig& config);

// Wrappers make_strategy() puts around the methods.
std::unique_ptr<Strategy> with_halving(const SweepConfig& c, std::unique_ptr<Strategy> inner);
std::unique_ptr<Strategy> with_seeds(const SweepConfig& c, std::unique_ptr<Strategy> inner);

}  // namespace deepreduce::search
