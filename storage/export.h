// One flat row per trial, for `deepreduce export`, `status` and reports.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/store.h"

namespace deepreduce::storage {

struct TrialRow {
  std::string id, experiment, arch, plan;
  double alpha = 1, rho = 1;
  std::string blocks;  // "2,2,2,2"
  bool kd = false;
  uint64_t seed = 0;   // train.seed: a network trained with train.seeds has one row per seed
  std::string state;
  int64_t relus = 0, macs = 0, params = 0;
  std::optional<double> top1, top5;
  std::optional<double> val_top1;  // with a validation split
  int64_t epochs = 0;  // trained (from the result), else the budget
  double seconds = 0;
  std::string worker;
  std::string name;     // the name a trial list gave it ("" for a sweep's)
  std::string role;     // its role in a search (baseline, culling, ...; "" for a trial list's)
  std::string retired;  // why no config plans it any more ("" while planned)
  std::string method;   // the method its network belongs to (as the report names it), "" when not asked
  std::string mask_phase;  // a finished mask phase: how it ended (spec::mask_outcome_text)
};

// `method_of`, when given, names each trial's method (report::method_of: the
// store knows strategies by name, the report how they are shown).
Result<std::vector<TrialRow>> trial_rows(Store& store,
                                         const std::function<std::string(const spec::TrialSpec&)>& method_of = {});

// What `status --json` and the live page's /api/status say: experiments,
// trials per state, running trials with their progress, failures with their
// reasons, workers (quarantined ones with why), and "paused" ({since_ms,
// reason} while dispatch waits for the store to take results, else null).
Result<nlohmann::json> status_json(Store& store, const std::string& where);

// A coordinator whose store takes no results (a full disk) pauses dispatch;
// it says so in the decision "dispatch" of the experiments concerned,
// {"paused": true, "reason": ...}, and {"paused": false} once it resumes or
// stops. A record, not an event, so that `status` finds it however many
// events have come since.
DecisionRecord dispatch_decision(bool paused, const std::string& reason);
struct PausedDispatch {
  int64_t since_ms = 0;
  std::string reason;
};
// The pause of any experiment in the store, or none.
Result<std::optional<PausedDispatch>> paused_dispatch(Store& store);

// The one trial of `trials` whose id starts with `prefix` (a whole id or a
// unique prefix, as users type them); InvalidArgument naming how many matched.
Result<std::string> trial_by_prefix(const std::vector<TrialRecord>& trials, const std::string& prefix,
                                    const std::string& where);

// CSV with a header line; fields quoted where needed.
std::string rows_to_csv(const std::vector<TrialRow>& rows);
nlohmann::json rows_to_json(const std::vector<TrialRow>& rows);

}  // namespace deepreduce::storage
