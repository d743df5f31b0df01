// Sweep configs: one YAML schema for experiments, validated before anything
// runs. Every error names file:line and the key path, e.g.
//   configs/x.yaml:12: search.alpha: expected a list of numbers in (0, 4], got "big"
//
//   name: quickstart
//   dataset: {name: fashion-mnist, path: /usr/share/datasets/fashion-mnist,
//             train_subset: 5000, test_subset: 1000}
//   model: {arch: resnet18, alpha: 0.25, blocks: [1, 1, 1, 1]}   # classes/channels from the dataset
//   train: {epochs: 3, batch: 128, lr: 0.1, schedule: cosine, weight_decay: 5e-4}
//   kd: {temperature: 4, lambda: 0.9}
//   search:
//     strategy: grid
//     cull: [[], [stem], [stem, s1]]      # culled stage sets
//     thin: [[], [s4]]                    # thinned stage sets
//     alpha: [0.25, 0.5]                  # default: the model's
//     rho: [1]
//     blocks: [[1, 1, 1, 1]]
//     kd: [false, true]                   # KD from the all-ReLU baseline of the same shape
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "spec/pi_cost.h"
#include "spec/prune.h"
#include "spec/relu_plan.h"
#include "storage/trial.h"
#include "spec/job.h"

namespace deepreduce::search {

struct GridSpace {
  std::vector<std::vector<std::string>> cull = {{}};
  std::vector<std::vector<std::string>> thin = {{}};
  std::vector<double> alpha;                // empty: the model's
  std::vector<double> rho;                  // empty: the model's
  std::vector<std::vector<int64_t>> blocks;  // empty: the model's
  std::vector<bool> kd = {false};
};

// The DeepReDuce pipeline (strategy: deepreduce), paper Sec. 3:
//   search:
//     strategy: deepreduce
//     phases: [criticality, culling, thinning, reshaping]   # the default: all
//     metric: deepreduce          # or accuracy, accuracy_per_relu
//     rank_with_kd: false         # rank stages by the KD accuracies instead
//     order: [stem, s1, s4, s2, s3]   # only when the criticality phase is off
//     alpha: [0.5]                # reshaping: widths, resolutions and depths
//     rho: [0.5]                  #   applied to the culled and thinned networks
//     blocks: [[1, 1, 1, 1]]
//     kd: [false, true]           # every candidate without and with KD
//     relu_budget: [1000, 200000] # skip candidates outside [min, max] ReLUs
struct DeepReduceSpace {
  std::vector<std::string> phases = {"criticality", "culling", "thinning", "reshaping"};
  std::string metric = "deepreduce";
  bool rank_with_kd = false;
  std::vector<std::string> order;  // least critical first; used when criticality is off
  int64_t relu_min = 0, relu_max = 0;  // 0: no bound
  bool has(const std::string& phase) const;
};

// Successive halving around a strategy's candidates:
//   search:
//     successive_halving: {min_epochs: 1, eta: 3, bands: 3}
// Candidates first train min_epochs of the full schedule; in each ReLU band
// (log-spaced) the best 1/eta of a finished rung continue from their
// checkpoint to eta times the budget, up to train.epochs.
struct HalvingOptions {
  bool enabled = false;
  int64_t min_epochs = 1;
  int64_t eta = 3;
  int64_t bands = 3;
};

// A point to draw beside the results: published figures, with their source.
struct ReferencePoint {
  std::string series;  // e.g. "DeepReDuce paper: channel pruning"
  std::string label;
  int64_t relus = 0;
  double top1 = 0;
  int64_t macs = 0;  // 0: not given
  std::optional<double> baseline_top1;  // pruning: the unpruned network's accuracy
  std::string source;
  // The task the figure was measured on; empty: not given (drawn on any report).
  std::string dataset;
  std::string arch;
  std::string set;  // the built-in set it came from, if any
  bool curve = false;  // one point of a published front: the plot joins its series' points
};

// Channel pruning of the baseline (issue 7), a comparison beside the search:
//   channel_pruning:
//     criteria: [l1, fpgm]
//     macs: [0.5, 0.3]          # targets as fractions of the baseline's MACs
//     rates: [0.3]              # or per-layer rates
//     epochs: 2                 # fine-tuning epochs
//     lr: 0.01
//     kd: [false, true]
struct PruningSpace {
  bool enabled = false;
  std::vector<spec::PruneCriterion> criteria = {spec::PruneCriterion::kL1};
  // coupled: block outputs too, the same channels across each residual stage
  // (FPGM and LFPC on ResNet-56); inner: only the inner channels of blocks.
  spec::PruneScope scope = spec::PruneScope::kCoupled;
  std::vector<double> macs_targets;
  std::vector<double> rates;
  int64_t epochs = 0;  // 0: the sweep's train.epochs
  double lr = 0.01;
  std::vector<bool> kd = {false};
};

// One method of an experiment: a registered strategy (search/registry.h) and
// its options as canonical JSON (what its reader made of its keys).
struct Method {
  std::string strategy;
  nlohmann::json options = nlohmann::json::object();
};

struct SweepConfig {
  std::string path;       // where it was read from
  std::string yaml_text;  // verbatim, stored with the experiment
  std::string name;
  spec::TrainJob base;   // dataset, model, training and KD defaults
  // train.seeds: every network is trained once per seed (the first is
  // train.seed), decisions use the mean over seeds, and the report shows the
  // mean and spread. Empty: one seed, train.seed.
  std::vector<uint64_t> seeds;
  // The methods the experiment runs: the entries of `search` (one or a list)
  // and the strategies with sections of their own (channel_pruning), in the
  // order the config gives them. `strategy` is the first search entry's.
  std::vector<Method> methods;
  std::string strategy = "grid";
  // Typed views of the built-in strategies' options (filled by their readers
  // and loaders; a new strategy keeps its own in its options).
  GridSpace grid;  // grid's space; deepreduce's reshaping (alpha, rho, blocks) and KD flags
  // search.thin_position: which ReLU of a block thinning removes (spec::thin).
  spec::ThinPosition thin_position = spec::ThinPosition::kSecond;
  DeepReduceSpace deepreduce;
  HalvingOptions halving;
  PruningSpace pruning;
  std::vector<ReferencePoint> references;  // report.references
  // pi_cost: the private-inference protocol the report estimates latency with
  // (a built-in preset, optionally with calibrated constants); delphi by default.
  spec::PiProtocol pi = *spec::pi_preset("delphi");
};

// Reads and validates a sweep config.
Result<SweepConfig> load_sweep(const std::string& path);
// The same from text (`path` only names it in messages). `require_data`:
// a dataset without a path (and not found where Debian installs it) is an
// error; a stored config read back for a report or roles passes false, since
// where the data lives is no part of any trial and the host may have none.
Result<SweepConfig> parse_sweep(const std::string& text, const std::string& path, bool require_data = true);

// True when the YAML text is a sweep config rather than a trial list: told
// apart by keys only one of them has (search, dataset, model, ... or trials,
// defaults), else by the kind the unknown keys are nearest to, so a misspelt
// key is reported by the right parser with a suggestion.
bool looks_like_sweep(const std::string& text);

struct PlannedTrial {
  spec::TrialSpec spec;
  spec::Role role = spec::Role::kNone;
  // The strategy planned this trial for each of train.seeds itself (its
  // spec depends on what that seed's earlier trials produced): the seeds
  // wrapper passes it through instead of copying it per seed.
  bool all_seeds = false;
};

// Whether a config names the method `strategy` (a registry name), and its entry.
bool has_method(const SweepConfig& c, const std::string& strategy);
const Method* find_method(const SweepConfig& c, const std::string& strategy);

// The canonical, versioned JSON form of a parsed config: what the store keeps
// with an experiment, so that reports and `migrate` never parse YAML. Its
// methods' options are read back by their strategies' loaders.
constexpr int kConfigVersion = 1;
nlohmann::json to_json(const SweepConfig& c);
Result<SweepConfig> sweep_config_from_json(const nlohmann::json& j);

// The grid: every combination of the space, identical networks (same spec)
// once; a KD candidate depends on the all-ReLU baseline of its shape, which is
// included. Dependencies come before their dependents.
Result<std::vector<PlannedTrial>> grid_trials(const SweepConfig& config);

}  // namespace deepreduce::search
