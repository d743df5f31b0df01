#include "spec/trial.h"

#include <fmt/format.h>

#include "common/digest.h"

namespace deepreduce::spec {

namespace {

struct RoleName {
  Role role;
  const char* name;
};
constexpr RoleName kRoles[] = {
    {Role::kNone, ""},           {Role::kBaseline, "baseline"},   {Role::kCriticality, "criticality"},
    {Role::kCulling, "culling"}, {Role::kThinning, "thinning"},   {Role::kReshaping, "reshaping"},
    {Role::kCandidate, "candidate"}, {Role::kRung, "rung"},      {Role::kPruning, "pruning"},
    {Role::kMask, "mask"},       {Role::kFinetune, "finetune"},
};

}  // namespace

const char* role_name(Role role) {
  for (const auto& r : kRoles)
    if (r.role == role) return r.name;
  return "?";
}

Result<Role> parse_role(const std::string& name) {
  std::string known;
  for (const auto& r : kRoles) {
    if (name == r.name) return r.role;
    if (*r.name) known += (known.empty() ? "" : ", ") + std::string(r.name);
  }
  return Status::invalid_argument(fmt::format("role: expected one of {} (or none), got \"{}\"", known, name));
}

bool role_is_network(Role role) { return role != Role::kRung && role != Role::kMask; }

const std::vector<Role>& all_roles() {
  static const std::vector<Role> kAll = [] {
    std::vector<Role> all;
    for (const auto& r : kRoles) all.push_back(r.role);
    return all;
  }();
  return kAll;
}

nlohmann::json to_json(const PruneSpec& p) {
  nlohmann::json j = {{"criterion", spec::criterion_name(p.criterion)}};
  if (p.macs_target) j["macs_target"] = *p.macs_target;
  if (p.rate) j["rate"] = *p.rate;
  if (p.scope == spec::PruneScope::kInner) j["scope"] = spec::prune_scope_name(p.scope);
  return j;
}

Result<PruneSpec> prune_spec_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return Status::invalid_argument("prune: expected an object");
  PruneSpec p;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const auto& v = it.value();
    if (k == "criterion" || k == "scope") {
      if (!v.is_string()) return Status::invalid_argument("prune." + k + ": expected a string");
      if (k == "criterion") {
        auto c = spec::parse_criterion(v.get<std::string>());
        if (!c.ok()) return c.status().with_context("prune.criterion");
        p.criterion = *c;
      } else {
        auto s = spec::parse_prune_scope(v.get<std::string>());
        if (!s.ok()) return s.status().with_context("prune.scope");
        p.scope = *s;
      }
    } else if (k == "macs_target" || k == "rate") {
      if (!v.is_number()) return Status::invalid_argument("prune." + k + ": expected a number");
      (k == "rate" ? p.rate : p.macs_target) = v.get<double>();
    } else {
      return Status::invalid_argument("prune: " + k + ": unknown key (known: criterion, scope, macs_target, rate)");
    }
  }
  if (!j.contains("criterion")) return Status::invalid_argument("prune.criterion: missing");
  return p;
}

std::vector<std::string> TrialSpec::dependencies() const {
  std::vector<std::string> deps;
  if (!teacher.empty()) deps.push_back(teacher);
  if (!base.empty() && base != teacher) deps.push_back(base);
  return deps;
}

namespace {

// What the trial is: no local path, no role, no name.
nlohmann::json canonical(const TrialSpec& s) {
  spec::TrainJob job = s.job;
  job.train.kd.teacher.clear();  // a local path is not part of what the trial is
  if (s.teacher.empty()) {
    // Without a teacher, T and lambda change nothing: keep one form.
    job.train.kd = spec::KdOptions{};
  }
  nlohmann::json j = {{"kind", enum_name(s.kind, kTrialKindNames)},
                      {"job", spec::to_json(job)},
                      {"teacher", s.teacher},
                      {"base", s.base},
                      {"prune", s.prune ? to_json(*s.prune) : nlohmann::json(nullptr)}};
  j["job"]["data"].erase("data_dir");    // nor is where its data lives
  j["job"]["train"].erase("eval_every");  // nor how often it is looked at
  return j;
}

}  // namespace

nlohmann::json to_json(const TrialSpec& s) {
  nlohmann::json j = canonical(s);
  j["job"]["data"]["data_dir"] = s.job.data.data_dir;
  if (s.job.train.eval_every != 1) j["job"]["train"]["eval_every"] = s.job.train.eval_every;
  if (s.role != Role::kNone) j["role"] = role_name(s.role);
  if (s.phase != Role::kNone) j["phase"] = role_name(s.phase);
  if (!s.name.empty()) j["name"] = s.name;
  if (!s.strategy.empty()) j["strategy"] = s.strategy;
  return j;
}

Result<TrialSpec> trial_spec_from_json(const nlohmann::json& j, bool check) {
  if (!j.is_object()) return Status::invalid_argument("trial spec: expected an object");
  TrialSpec s;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const auto& k = it.key();
    if (k != "kind" && k != "job" && k != "teacher" && k != "base" && k != "prune" && k != "role" && k != "phase" &&
        k != "name" && k != "strategy")
      return Status::invalid_argument(
          "trial spec: " + k + ": unknown key (known: kind, job, teacher, base, prune, role, phase, name, strategy)");
  }
  try {
    if (j.contains("kind")) {
      auto kind = parse_enum(j.at("kind").get<std::string>(), kTrialKindNames);
      if (!kind.ok()) return Status::invalid_argument("trial spec: kind: " + kind.status().message());
      s.kind = *kind;
    }
    if (j.contains("teacher")) s.teacher = j.at("teacher").get<std::string>();
    if (j.contains("base")) s.base = j.at("base").get<std::string>();
    if (j.contains("name")) s.name = j.at("name").get<std::string>();
    if (j.contains("strategy")) s.strategy = j.at("strategy").get<std::string>();
    for (const char* key : {"role", "phase"}) {
      if (!j.contains(key)) continue;
      auto role = parse_role(j.at(key).get<std::string>());
      if (!role.ok()) return role.status().with_context(std::string("trial spec: ") + key);
      (std::string(key) == "role" ? s.role : s.phase) = *role;
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::invalid_argument(std::string("trial spec: ") + e.what());
  }
  if (j.contains("prune") && !j.at("prune").is_null()) {
    auto prune = prune_spec_from_json(j.at("prune"));
    if (!prune.ok()) return prune.status().with_context("trial spec");
    s.prune = *prune;
  }
  if (j.contains("job")) {
    auto job = spec::train_job_from_json(j.at("job"), check);
    if (!job.ok()) return job.status().with_context("trial spec");
    s.job = *job;
  }
  return s;
}

std::string canonical_json(const TrialSpec& spec) { return canonical(spec).dump(); }

std::string trial_id(const TrialSpec& spec) { return blake2b_hex(canonical_json(spec), 16); }

}  // namespace deepreduce::spec
