// Trials as values: what defines a trial (TrialSpec), its id, its states and
// the legal transitions between them. Free of RocksDB and of LibTorch.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "train/options.h"

namespace deepreduce::storage {

// Everything that defines a trial. Its canonical JSON (sorted keys, every field
// present, numbers in one form) hashes to its id, so the same spec always has
// the same id: re-running or overlapping sweeps never train a thing twice.
// What is not part of the trial is stored with it but never hashed: where its
// data was found (job.data.data_dir), the teacher's local file, and the role
// and phase the experiment gave it. The same sweep planned on two hosts with
// the data in two places has the same ids.
struct TrialSpec {
  std::string kind = "train";  // "train"; "noop" returns at once (benchmarks of the coordinator)
  train::TrainJob job;         // job.train.kd.teacher is ignored: see teacher
  // KD: the trial whose final weights teach this one ("" = no KD). T and lambda
  // are job.train.kd.temperature / lambda.
  std::string teacher;
  // The trial this one starts from (fine-tuning a pruned network, a longer
  // budget resuming a shorter one); "" = from scratch.
  std::string base;
  nlohmann::json prune = nullptr;  // channel-pruning options, null = none
  // Why the experiment wants it (not hashed): the strategy's role
  // ("baseline", "criticality", "culling", "thinning", "reshaping",
  // "candidate", "rung", "pruning"; "" in a plain trial list) and the phase it
  // belongs to (a rung's phase is the role of the candidate it shortens).
  std::string role;
  std::string phase;

  // Trials that must be done before this one may run (teacher, base).
  std::vector<std::string> dependencies() const;
};

// The stored form: the canonical fields plus data_dir, role and phase.
nlohmann::json to_json(const TrialSpec& spec);
Result<TrialSpec> trial_spec_from_json(const nlohmann::json& j, bool check = true);
// The canonical text, which the id hashes: sorted keys, without the data
// folder, the teacher's file, the role or the phase.
std::string canonical_json(const TrialSpec& spec);
// BLAKE2b-128 of the canonical text, as 32 lowercase hex digits.
std::string trial_id(const TrialSpec& spec);

enum class TrialState { kBlocked, kPending, kLeased, kDone, kFailed, kCancelled };

const char* state_name(TrialState s);
Result<TrialState> parse_state(const std::string& name);
const std::vector<TrialState>& all_states();

// The one table of legal transitions; everything else is refused.
bool transition_allowed(TrialState from, TrialState to);
Status check_transition(const std::string& trial, TrialState from, TrialState to);

// A trial as the store holds it.
struct TrialRecord {
  std::string id;
  std::string experiment;
  TrialSpec spec;
  TrialState state = TrialState::kPending;
  int64_t attempt = 0;          // leases granted so far (the lease's number)
  std::string worker;           // leased: who holds it
  int64_t lease_deadline_ms = 0;  // leased: unix ms after which the lease is void
  std::string lease;            // leased: the lease token (protocol::random_token), "" otherwise
  // What counts against the limits: failures of the trial itself (charged) and
  // workers lost while they trained it (lost). Leases lost to a coordinator or
  // `run` dying, hand-backs on a stop and failures of a worker's surroundings
  // (data, device) count for neither.
  int64_t charged = 0;
  int64_t lost = 0;
  std::vector<std::string> reasons;  // one per failed attempt
  nlohmann::json progress = nullptr;  // the last progress report
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

// What a stored result (train::TrainResult's JSON, or a no-op's) says, typed:
// the one place that reads a result's fields. Absent or malformed fields are
// nullopt / 0, never an exception (results of older builds lack some).
struct ResultSummary {
  std::optional<double> top1, top5;  // on the test split
  std::optional<double> val_top1;    // on the validation split (data.val_split), when held out
  // What a search decides on (criticality ranking, promotion, the front):
  // validation top-1 when there is a validation split, else test top-1.
  std::optional<double> decision_top1() const { return val_top1 ? val_top1 : top1; }
  std::optional<int64_t> epochs;  // epochs trained, when the result lists them
  double seconds = 0;             // their wall time
};
ResultSummary summarize_result(const nlohmann::json& result);

nlohmann::json to_json(const TrialRecord& r);
Result<TrialRecord> trial_record_from_json(const nlohmann::json& j);

int64_t now_ms();

}  // namespace deepreduce::storage
