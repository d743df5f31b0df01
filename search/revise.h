// Config revisions: an experiment run again with a config that defines other
// trials (a lower learning rate after a failure, one more budget) keeps every
// trial the new config still plans, by id (ids hash what defines a trial), and
// sets aside the ones it no longer plans instead of refusing the config or
// training everything again in a new store.
//
// Set aside means: unfinished trials are cancelled, done ones are retired
// (kept with their results and artifacts, left out of the front), and only
// when no other experiment in the store plans them. Planned again later (the
// config changed back, an adaptive phase reaches them), they are brought back:
// expand() does that for every trial it plans.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "search/strategy.h"
#include "storage/store.h"

namespace deepreduce::search {

// The reason a revision gives the trials it sets aside starts with this.
inline constexpr const char* kNoLongerPlanned = "no longer planned";

struct RevisionSummary {
  int64_t revision = 1;
  int64_t kept = 0;     // done trials the new config plans
  int64_t created = 0;  // trials it added
  int64_t dropped = 0;  // trials of the experiment no config in the store plans any more
  std::vector<std::string> changed;  // "train.lr 1e+30 -> 0.1", per key that differs
};

// After put_experiment stored revision `after.revision` of an experiment that
// was `before`: the experiment's trials that neither its new plan (`strategy`,
// or for a trial list `list_ids`) nor another experiment of the store plans
// are set aside, and the revision is stored as the decision "revision/N"
// (what changed and the counts). `created`: how many trials the new plan added.
// `observer` is the one the new plan was expanded with (it reads only what
// changed since).
Result<RevisionSummary> revise(storage::Store& store, const storage::Experiment& before,
                               const storage::Experiment& after, const Strategy* strategy,
                               const std::vector<std::string>& list_ids, int64_t created, Observer& observer);

// One line for a terminal: "revision 2 (train.lr 1e+30 -> 0.1): 3 done trials
// kept, 5 new, 2 no longer planned (kept in the store, left out of the front)".
std::string describe(const RevisionSummary& s);

// The revisions an experiment's decisions record, oldest first: each one's
// number, when, and "the config changed: ... (1 kept, 0 new, 1 no longer planned)".
struct RevisionLine {
  int64_t revision = 0;
  int64_t time_ms = 0;
  std::string text;
};
std::vector<RevisionLine> revision_history(const std::vector<storage::DecisionRecord>& decisions);

// Brings back a trial set aside by a revision (retired -> planned, cancelled
// -> pending or blocked); `why` joins its reasons.
Status plan_again(storage::Store& store, const std::string& id, storage::TrialState state, const std::string& why);

// The keys in which two canonical configs differ, each with both values.
std::vector<std::string> config_changes(const nlohmann::json& before, const nlohmann::json& after);

}  // namespace deepreduce::search
