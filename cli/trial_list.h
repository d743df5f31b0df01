// A YAML list of trials (until sweeps arrive, the CONFIG of `run` and
// `coordinator`):
//
//   name: demo
//   defaults: {dataset: synthetic, epochs: 2, alpha: 0.25}   # any `train` option
//   trials:
//     - name: base
//     - name: culled-kd
//       cull: [stem, s1]
//       teacher: base          # KD from the trial named base (listed earlier)
//     - kind: noop             # returns at once: for benchmarking the coordinator
//
// Errors name the file, the line and the key.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "search/strategy.h"
#include "search/sweep.h"
#include "storage/trial.h"

namespace deepreduce::cli {

struct TrialList {
  std::string name;
  std::string yaml_text;
  std::vector<std::string> names;         // per trial ("" when unnamed)
  std::vector<spec::TrialSpec> trials;  // dependencies before dependents
};

Result<TrialList> load_trial_list(const std::string& path);

// An experiment CONFIG: a sweep (with `search:`, see search/sweep.h), expanded
// by its strategy, or a trial list.
struct Experiment {
  std::string name, yaml_text, strategy;
  std::string definition;  // experiment_definition(yaml_text)
  // The trials to start with: a list's trials, or what a sweep's strategy
  // proposes before any result (it proposes more as results arrive).
  std::vector<spec::TrialSpec> trials;
  std::vector<std::string> roles;  // per trial: baseline, criticality, ..., or the list's name
  std::optional<search::SweepConfig> sweep;      // sweeps only
  std::shared_ptr<const search::Strategy> search;  // sweeps only
};
Result<Experiment> load_experiment(const std::string& path);

// A digest of what a config defines: its YAML without where the data lives
// (dataset.path; a list's data-dir) and without comments or layout. Running
// an experiment again with its data elsewhere is the same experiment.
std::string experiment_definition(const std::string& yaml_text);

}  // namespace deepreduce::cli
