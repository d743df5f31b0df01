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

#include <string>
#include <vector>

#include "common/status.h"
#include "storage/trial.h"

namespace deepreduce::cli {

struct TrialList {
  std::string name;
  std::string yaml_text;
  std::vector<std::string> names;         // per trial ("" when unnamed)
  std::vector<storage::TrialSpec> trials;  // dependencies before dependents
};

Result<TrialList> load_trial_list(const std::string& path);

// An experiment CONFIG: a sweep (with `search:`, see search/sweep.h), expanded
// by its strategy, or a trial list.
struct Experiment {
  std::string name, yaml_text, strategy;
  std::vector<storage::TrialSpec> trials;
  std::vector<std::string> roles;  // per trial: baseline, candidate, or the list's name
};
Result<Experiment> load_experiment(const std::string& path);

}  // namespace deepreduce::cli
