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

// How a report shows a method's networks: it asks each strategy (through its
// StrategyDef) and branches on no name.
struct SeriesStyle {
  std::string name;   // "DeepReDuce with KD", "learned linearization": the legend's words
  std::string color;  // "#1f77b4"
  std::string shape;  // circle, square, triangle, filled-diamond (report/figures.cpp draws them)
};
struct Presentation {
  // The series its networks are drawn in: one, or with `kd_series` two,
  // {without KD, with KD}, by whether a network trained with KD.
  std::vector<SeriesStyle> series;
  bool kd_series = false;
  // The method the search is about (DeepReDuce): its front comes first, its
  // fronts without and with KD are drawn dashed, and the criticality study
  // is drawn in its series' colours.
  bool primary = false;
  // A baseline the other methods are measured against (channel pruning): its
  // front comes last, the report tables each of its networks against the
  // nearest primary network in MACs, and the ReLU figure's arrows measure the
  // front against its best network. Left out of the latency front.
  bool baseline = false;
  // A baseline network's row label ("L1 to 50% MACs + KD").
  std::string (*row_label)(const spec::TrialSpec& spec, bool kd) = nullptr;
  // The ReLU budgets its stored options aim at (learned linearization's
  // search.budgets): rows of the report's per-budget table. Null: none.
  std::vector<int64_t> (*budgets)(const nlohmann::json& options) = nullptr;
};

struct StrategyDef {
  std::string name;     // "deepreduce": what `strategy:` says
  std::string method;   // the front its networks are drawn on: "DeepReDuce", "channel pruning", ...
  Presentation presentation;  // how the report shows its networks
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
  // What in these options cannot work as written (each a sentence naming the
  // keys and what to change); null: nothing to say.
  std::vector<std::string> (*warnings)(const nlohmann::json& options) = nullptr;
};

// Every strategy, in a stable order (the order of the report's legends).
const std::vector<StrategyDef>& strategy_registry();
// The strategy whose networks are drawn as `method` (StrategyDef::method);
// null for none.
const StrategyDef* strategy_of_method(const std::string& method);
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
StrategyDef senet_uniform_strategy_def();

// The keys grid and deepreduce share, read into config.grid and
// config.thin_position: alpha, rho, blocks (reshaping) and kd, and
// thin_position; every value checked where it is written.
Status read_reshaping(const ConfigReader& r, const YAML::Node& search, SweepConfig& config);

// How DeepReDuce's networks are shown (deepreduce and grid): the primary
// method, in two series, without and with KD.
Presentation deepreduce_presentation();

// Wrappers make_strategy() puts around the methods.
std::unique_ptr<Strategy> with_halving(const SweepConfig& c, std::unique_ptr<Strategy> inner);
std::unique_ptr<Strategy> with_seeds(const SweepConfig& c, std::unique_ptr<Strategy> inner);

}  // namespace deepreduce::search
