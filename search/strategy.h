// Search strategies: which trials an experiment wants, given the results it has
// seen. The split follows optuna's ask/tell: the coordinator tells a strategy
// what finished (by handing it every stored trial) and asks it for the trials
// it wants now, and for the decisions it made on the way (a criticality
// ranking, a promotion), which the store keeps so that reports read them
// instead of making them again.
//
// Contract: propose() and decisions() are pure functions of the config and
// of `seen`. A restarted coordinator rebuilds a strategy by calling it on the
// stored trials and gets the same trial ids; trials it proposed before and
// proposes again are the same values, so adding them to the store is
// idempotent.
//
// Strategies are found by name in the registry (search/registry.h): each is
// one file with its config reader and its factory; make_strategy() composes
// every method a config names, with successive halving, seeds and channel
// pruning around them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "search/criticality.h"
#include "search/sweep.h"
#include "spec/result.h"
#include "storage/store.h"

namespace deepreduce::search {

// A trial as a strategy sees it.
struct Observation {
  storage::TrialState state = storage::TrialState::kPending;
  std::optional<double> top1;  // done trials: what decisions use (validation top-1 with a split, else test)
  spec::TrialResult result;   // done trials: the whole result, typed
  // Done trials: their stored artifacts, kind -> BLAKE2b-256.
  std::map<spec::ArtifactKind, std::string> artifacts;
  // A revision of its experiment no longer planned it (a done trial retired,
  // another cancelled; search/revise.h): planned again, it is brought back.
  bool no_longer_planned = false;
  bool operator==(const Observation& o) const {
    return state == o.state && top1 == o.top1 && artifacts == o.artifacts && no_longer_planned == o.no_longer_planned;
  }
};
using Seen = std::map<std::string, Observation>;  // by trial id

// Everything the store holds, as observations (results and artifacts included).
Result<Seen> observe(storage::Store& store);

// A decision a strategy made from what it saw, kept in the store: the report
// and `migrate` read it rather than decide again.
struct Decision {
  std::string key;            // "criticality", "phase:culling", ...: one value per key
  nlohmann::json value;       // what was decided
  std::string why;            // in words
  bool operator==(const Decision& o) const { return key == o.key && value == o.value && why == o.why; }
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  // Every trial wanted so far, dependencies before dependents.
  virtual Result<std::vector<PlannedTrial>> propose(const Seen& seen) const = 0;
  // Every trial of the whole space at full budget (no successive-halving
  // rungs), later phases planned as if the stages ranked least critical first
  // in `order` ("" order: the config's, else the stages in network order).
  // For `plan --all` and its cost estimate.
  virtual Result<std::vector<PlannedTrial>> whole_space(const std::vector<std::string>& order) const = 0;
  // How many trials the whole space holds at full fidelity (for `plan`).
  Result<int64_t> space_size() const {
    auto all = whole_space({});
    if (!all.ok()) return all.status();
    return static_cast<int64_t>(all->size());
  }
  // Why later phases cannot open ("" when nothing blocks them): the
  // prerequisites they would be decided on failed. A strategy never opens a
  // phase on failed evidence; it waits for `deepreduce retry`.
  virtual std::string blocked(const Seen& seen) const { return ""; }
  // What decisions are made on: with train.seeds, each network (as its first
  // seed's trial id) observed as the mean over its seeds; else `seen` itself.
  virtual Seen decision_view(const Seen& seen) const { return seen; }
  // The decisions made so far, from what it saw (kept in the store by expand()).
  virtual std::vector<Decision> decisions(const Seen& seen) const { return {}; }
};

// The strategy of a validated config: every method it names (search/registry.h),
// successive halving around their candidates where configured, channel
// pruning beside them, every network once per seed.
Result<std::unique_ptr<Strategy>> make_strategy(const SweepConfig& config);

// Replays each stored experiment's strategy (from its stored config) on the
// store's trials and stores the role and phase of every trial it would plan,
// and its decisions (for `migrate`: older stores kept neither).
Status assign_roles(storage::Store& store);

// What a strategy sees of a store, kept up to date from the store's gap-free
// event log: the first update reads every trial (and the results of the done
// ones), later ones only the trials named by the events since. A strategy's
// turn then costs the new events plus its own in-memory work, not a rescan of
// a store of 100,000 trials. One update at a time (not thread-safe).
class Observer {
 public:
  Status update(storage::Store& store);
  const Seen& seen() const { return seen_; }

 private:
  Status refresh(storage::Store& store, const std::string& id);
  Seen seen_;
  uint64_t seq_ = 0;  // events up to here are reflected
  bool loaded_ = false;
};

// The strategy's turn on a store: proposes from what the store holds, adds
// what is new to `experiment`, and stores the decisions that are new or
// changed. Returns the number of trials created. With an observer, what the
// store holds is read incrementally (see Observer).
Result<int64_t> expand(storage::Store& store, const std::string& experiment, const Strategy& strategy);
// `created`, when given, receives the specs of the trials it created.
Result<int64_t> expand(storage::Store& store, const std::string& experiment, const Strategy& strategy,
                       Observer& observer, std::vector<spec::TrialSpec>* created = nullptr);
// Which strategy added which trials with which roles, for a log line:
// "deepreduce 12 (culling 6, thinning 6); channel_pruning 4 (pruning 4)".
std::string added_text(const std::vector<spec::TrialSpec>& created);

// --- for strategies

// An ordered, duplicate-free list of planned trials. A trial planned twice
// keeps its first role.
class Plan {
 public:
  // The spec carries its role and phase into the store (phase: the role,
  // unless given: a rung's is the role of the candidate it shortens).
  std::string add(spec::TrialSpec spec, spec::Role role, spec::Role phase = spec::Role::kNone);
  void add_all(const std::vector<PlannedTrial>& trials);
  std::vector<PlannedTrial> take() { return std::move(trials_); }
  size_t size() const { return trials_.size(); }

 private:
  std::set<std::string> ids_;
  std::vector<PlannedTrial> trials_;
};

// The same trial with another network.
spec::TrialSpec with_model(const spec::TrialSpec& base, spec::ModelSpec model);
// The ReLU stages of the config's network ("stem", "s1", ...).
std::vector<std::string> stages_of(const SweepConfig& c);
// Whether a finished trial ended (done, failed or cancelled).
bool finished(storage::TrialState s);

// The all-ReLU baseline of a config (the KD teacher of every candidate).
spec::TrialSpec baseline_trial(const SweepConfig& config);

// --- the DeepReDuce pipeline's pieces, for reports and tests (search/deepreduce.cpp)

// The criticality networks of `baseline`: ReLUs only in one stage, and none at
// all ("none"), without or with KD from `teacher_id`.
struct CriticalityTrial {
  std::string stage;  // "stem", "s1", ..., or "none"
  bool kd = false;
  spec::TrialSpec spec;
};
std::vector<CriticalityTrial> criticality_trials(const spec::TrialSpec& baseline, const std::vector<bool>& kd);

// One row of the seed's criticality table, filled from finished trials.
struct CriticalityRow {
  std::string stage;
  int64_t relus = 0;
  std::optional<double> top1, top1_kd;
  std::optional<double> score;  // from the accuracy the ranking uses
  int rank = 0;                 // 1 = least critical (culled first); 0 = not ranked yet
};
// The table for a config (empty for strategies without a criticality phase),
// and the "none" network's accuracies.
struct CriticalityTable {
  std::vector<CriticalityRow> rows;  // stage order
  std::optional<double> none_top1, none_top1_kd;
  std::string metric;
  bool complete = false;  // every stage ranked
};
CriticalityTable criticality_table(const SweepConfig& config, const Seen& seen);
// The table as the "criticality" decision stores it, and back.
nlohmann::json to_json(const CriticalityTable& t);
CriticalityTable criticality_table_from_json(const nlohmann::json& j);

// A trial id → whether it completes its schedule (not a shortened rung).
bool full_fidelity(const spec::TrialSpec& spec);

}  // namespace deepreduce::search
