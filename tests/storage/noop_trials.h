// Trials that train nothing, for tests of the store, the coordinator and the
// strategies' bookkeeping.
#pragma once

#include <vector>

#include "storage/trial.h"

namespace deepreduce::testing {

// `n` distinct trials of kind "noop" (seeds 0 .. n-1).
inline std::vector<spec::TrialSpec> noop_trials(size_t n) {
  std::vector<spec::TrialSpec> trials(n);
  for (size_t i = 0; i < n; ++i) {
    trials[i].kind = spec::TrialKind::kNoop;
    trials[i].job.train.seed = i;
  }
  return trials;
}

}  // namespace deepreduce::testing
