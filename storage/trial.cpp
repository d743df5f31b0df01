#include "storage/trial.h"

#include "common/digest.h"


#include <chrono>

namespace deepreduce::storage {

std::vector<std::string> TrialSpec::dependencies() const {
  std::vector<std::string> deps;
  if (!teacher.empty()) deps.push_back(teacher);
  if (!base.empty() && base != teacher) deps.push_back(base);
  return deps;
}

namespace {

// What the trial is: no local path, no role.
nlohmann::json canonical(const TrialSpec& s) {
  train::TrainJob job = s.job;
  job.train.kd.teacher.clear();  // a local path is not part of what the trial is
  if (s.teacher.empty()) {
    // Without a teacher, T and lambda change nothing: keep one form.
    job.train.kd = train::KdOptions{};
  }
  nlohmann::json j = {{"kind", s.kind}, {"job", train::to_json(job)}, {"teacher", s.teacher}, {"base", s.base},
                      {"prune", s.prune}};
  j["job"]["data"].erase("data_dir");  // nor is where its data lives
  return j;
}

}  // namespace

nlohmann::json to_json(const TrialSpec& s) {
  nlohmann::json j = canonical(s);
  j["job"]["data"]["data_dir"] = s.job.data.data_dir;
  if (!s.role.empty()) j["role"] = s.role;
  if (!s.phase.empty()) j["phase"] = s.phase;
  return j;
}

Result<TrialSpec> trial_spec_from_json(const nlohmann::json& j, bool check) {
  if (!j.is_object()) return Status::invalid_argument("trial spec: expected an object");
  TrialSpec s;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const auto& k = it.key();
    if (k != "kind" && k != "job" && k != "teacher" && k != "base" && k != "prune" && k != "role" && k != "phase")
      return Status::invalid_argument("trial spec: " + k +
                                      ": unknown key (known: kind, job, teacher, base, prune, role, phase)");
  }
  try {
    if (j.contains("kind")) s.kind = j.at("kind").get<std::string>();
    if (j.contains("teacher")) s.teacher = j.at("teacher").get<std::string>();
    if (j.contains("base")) s.base = j.at("base").get<std::string>();
    if (j.contains("prune")) s.prune = j.at("prune");
    if (j.contains("role")) s.role = j.at("role").get<std::string>();
    if (j.contains("phase")) s.phase = j.at("phase").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    return Status::invalid_argument(std::string("trial spec: ") + e.what());
  }
  if (s.kind != "train" && s.kind != "noop")
    return Status::invalid_argument("trial spec: kind: expected train or noop, got \"" + s.kind + "\"");
  if (j.contains("job")) {
    auto job = train::train_job_from_json(j.at("job"), check);
    if (!job.ok()) return job.status().with_context("trial spec");
    s.job = *job;
  }
  return s;
}

std::string canonical_json(const TrialSpec& spec) { return canonical(spec).dump(); }

std::string trial_id(const TrialSpec& spec) {
  return blake2b_hex(canonical_json(spec), 16);
}

const char* state_name(TrialState s) {
  switch (s) {
    case TrialState::kBlocked: return "blocked";
    case TrialState::kPending: return "pending";
    case TrialState::kLeased: return "leased";
    case TrialState::kDone: return "done";
    case TrialState::kFailed: return "failed";
    case TrialState::kCancelled: return "cancelled";
  }
  return "?";
}

const std::vector<TrialState>& all_states() {
  static const std::vector<TrialState> kAll = {TrialState::kBlocked, TrialState::kPending, TrialState::kLeased,
                                               TrialState::kDone,    TrialState::kFailed,  TrialState::kCancelled};
  return kAll;
}

Result<TrialState> parse_state(const std::string& name) {
  for (auto s : all_states())
    if (name == state_name(s)) return s;
  return Status::corruption("unknown trial state \"" + name + "\"");
}

namespace {

using S = TrialState;
// from -> to. `done` is final: a finished trial is immutable.
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
    {S::kCancelled, S::kPending},  // a cancelled sweep resumed
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
          {"created_ms", r.created_ms},
          {"updated_ms", r.updated_ms}};
}

Result<TrialRecord> trial_record_from_json(const nlohmann::json& j) {
  TrialRecord r;
  try {
    r.id = j.at("id").get<std::string>();
    r.experiment = j.at("experiment").get<std::string>();
    auto spec = trial_spec_from_json(j.at("spec"), /*check=*/false);  // validated when added
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
    r.created_ms = j.at("created_ms").get<int64_t>();
    r.updated_ms = j.at("updated_ms").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    return Status::corruption("trial record: " + std::string(e.what()));
  }
  return r;
}

ResultSummary summarize_result(const nlohmann::json& j) {
  ResultSummary r;
  if (!j.is_object()) return r;
  if (j.contains("top1") && j["top1"].is_number()) r.top1 = j["top1"].get<double>();
  if (j.contains("top5") && j["top5"].is_number()) r.top5 = j["top5"].get<double>();
  if (j.contains("val_top1") && j["val_top1"].is_number()) r.val_top1 = j["val_top1"].get<double>();
  if (j.contains("epochs") && j["epochs"].is_array()) {
    r.epochs = static_cast<int64_t>(j["epochs"].size());
    for (const auto& e : j["epochs"])
      if (e.is_object() && e.contains("seconds") && e["seconds"].is_number()) r.seconds += e["seconds"].get<double>();
  }
  return r;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace deepreduce::storage
