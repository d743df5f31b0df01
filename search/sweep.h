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

#include <string>
#include <vector>

#include "common/status.h"
#include "storage/trial.h"
#include "train/options.h"

namespace deepreduce::search {

struct GridSpace {
  std::vector<std::vector<std::string>> cull = {{}};
  std::vector<std::vector<std::string>> thin = {{}};
  std::vector<double> alpha;                // empty: the model's
  std::vector<double> rho;                  // empty: the model's
  std::vector<std::vector<int64_t>> blocks;  // empty: the model's
  std::vector<bool> kd = {false};
};

struct SweepConfig {
  std::string path;       // where it was read from
  std::string yaml_text;  // verbatim, stored with the experiment
  std::string name;
  train::TrainJob base;   // dataset, model, training and KD defaults
  std::string strategy = "grid";
  GridSpace grid;
};

// Reads and validates a sweep config.
Result<SweepConfig> load_sweep(const std::string& path);
// The same from text (`path` only names it in messages).
Result<SweepConfig> parse_sweep(const std::string& text, const std::string& path);

// True when the YAML text is a sweep config (has a `search:` key) rather than a trial list.
bool looks_like_sweep(const std::string& text);

struct PlannedTrial {
  storage::TrialSpec spec;
  std::string role;  // "baseline", "candidate"
};

// The grid: every combination of the space, identical networks (same spec)
// once; a KD candidate depends on the all-ReLU baseline of its shape, which is
// included. Dependencies come before their dependents.
Result<std::vector<PlannedTrial>> grid_trials(const SweepConfig& config);

}  // namespace deepreduce::search
