// Trials as the store holds them: their states, the legal transitions between
// them, and their records. What defines a trial is spec/trial.h. Free of
// RocksDB and of LibTorch.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "spec/result.h"
#include "spec/trial.h"

namespace deepreduce::storage {

// kDamaged: done, but an artifact it made failed verification (its bytes are
// not what its record says); it is trained again (repair, or automatically
// while its attempts allow), and what depends on it waits meanwhile.
enum class TrialState { kBlocked, kPending, kLeased, kDone, kFailed, kCancelled, kDamaged };

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
  spec::TrialSpec spec;
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
  // A done trial no revision of its experiment plans any more (and no other
  // experiment in the store): why, e.g. "no longer planned by revision 2 of
  // experiment x". It keeps its result and artifacts but is left out of the
  // front; planned again, it counts again. "" for every planned trial.
  std::string retired;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

nlohmann::json to_json(const TrialRecord& r);
Result<TrialRecord> trial_record_from_json(const nlohmann::json& j);

using deepreduce::now_ms;  // common/clock.h

}  // namespace deepreduce::storage
