#include "storage/trial.h"


namespace deepreduce::storage {

const char* state_name(TrialState s) {
  switch (s) {
    case TrialState::kBlocked: return "blocked";
    case TrialState::kPending: return "pending";
    case TrialState::kLeased: return "leased";
    case TrialState::kDone: return "done";
    case TrialState::kFailed: return "failed";
    case TrialState::kCancelled: return "cancelled";
    case TrialState::kDamaged: return "damaged";
  }
  return "?";
}

const std::vector<TrialState>& all_states() {
  static const std::vector<TrialState> kAll = {TrialState::kBlocked, TrialState::kPending, TrialState::kLeased,
                                               TrialState::kDone,    TrialState::kFailed,  TrialState::kCancelled,
                                               TrialState::kDamaged};
  return kAll;
}

Result<TrialState> parse_state(const std::string& name) {
  for (auto s : all_states())
    if (name == state_name(s)) return s;
  return Status::corruption("unknown trial state \"" + name + "\"");
}

namespace {

using S = TrialState;
// from -> to. `done` is final: a finished trial is immutable (but for a
// damaged artifact).
constexpr std::pair<S, S> kTransitions[] = {
    {S::kBlocked, S::kPending},    // its dependencies are done
    {S::kBlocked, S::kFailed},     // a dependency failed
    {S::kBlocked, S::kCancelled},
    {S::kPending, S::kLeased},     // dispatched to a worker
    {S::kPending, S::kCancelled},
    {S::kLeased, S::kPending},     // worker lost or lease expired: attempt + 1
    {S::kLeased, S::kDone},        // result accepted
    {S::kLeased, S::kFailed},      // failed on its last allowed attempt
    {S::kLeased, S::kCancelled},
    {S::kFailed, S::kPending},     // retried by the user
    {S::kFailed, S::kBlocked},     // retried by the user, its dependencies retried too
    {S::kFailed, S::kCancelled},   // no longer planned by a revised config
    {S::kCancelled, S::kPending},  // a cancelled sweep resumed
    {S::kCancelled, S::kBlocked},  // planned again while a dependency is not done
    {S::kDone, S::kDamaged},       // an artifact of it failed verification
    {S::kDamaged, S::kPending},    // trained again (repair, or its attempts allow)
    {S::kDamaged, S::kBlocked},    // trained again once its own dependencies are whole
    {S::kPending, S::kBlocked},    // a dependency was found damaged: it waits for its retraining
    // Re-adopted by `deepreduce repair`: the store lost the record of its
    // result, but the result and every artifact it names are whole on disk.
    {S::kBlocked, S::kDone},
    {S::kPending, S::kDone},
    {S::kFailed, S::kDone},
    {S::kCancelled, S::kDone},
    {S::kDamaged, S::kDone},
};

}  // namespace

bool transition_allowed(TrialState from, TrialState to) {
  for (const auto& [f, t] : kTransitions)
    if (f == from && t == to) return true;
  return false;
}

Status check_transition(const std::string& trial, TrialState from, TrialState to) {
  if (transition_allowed(from, to)) return Status();
  return Status::failed_precondition("trial " + trial + ": illegal transition " + state_name(from) + " -> " +
                                     state_name(to));
}

nlohmann::json to_json(const TrialRecord& r) {
  return {{"id", r.id},
          {"experiment", r.experiment},
          {"spec", to_json(r.spec)},
          {"state", state_name(r.state)},
          {"attempt", r.attempt},
          {"worker", r.worker},
          {"lease_deadline_ms", r.lease_deadline_ms},
          {"lease", r.lease},
          {"charged", r.charged},
          {"lost", r.lost},
          {"reasons", r.reasons},
          {"progress", r.progress},
          {"retired", r.retired},
          {"created_ms", r.created_ms},
          {"updated_ms", r.updated_ms}};
}

Result<TrialRecord> trial_record_from_json(const nlohmann::json& j) {
  TrialRecord r;
  try {
    r.id = j.at("id").get<std::string>();
    r.experiment = j.at("experiment").get<std::string>();
    auto spec = spec::trial_spec_from_json(j.at("spec"), /*check=*/false);  // validated when added
    if (!spec.ok()) return Status::corruption("trial " + r.id + ": " + spec.status().message());
    r.spec = *spec;
    auto state = parse_state(j.at("state").get<std::string>());
    if (!state.ok()) return Status::corruption("trial " + r.id + ": " + state.status().message());
    r.state = *state;
    r.attempt = j.at("attempt").get<int64_t>();
    r.worker = j.at("worker").get<std::string>();
    r.lease_deadline_ms = j.at("lease_deadline_ms").get<int64_t>();
    // Records written before lease tokens and charged attempts existed have none.
    r.lease = j.value("lease", std::string());
    r.charged = j.value("charged", r.attempt);
    r.lost = j.value("lost", int64_t{0});
    r.reasons = j.at("reasons").get<std::vector<std::string>>();
    r.progress = j.at("progress");
    r.retired = j.value("retired", std::string());  // none before config revisions
    r.created_ms = j.at("created_ms").get<int64_t>();
    r.updated_ms = j.at("updated_ms").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    return Status::corruption("trial record: " + std::string(e.what()));
  }
  return r;
}

}  // namespace deepreduce::storage
