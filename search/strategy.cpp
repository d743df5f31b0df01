#include "search/strategy.h"

#include <algorithm>
#include <set>

#include "search/registry.h"
#include "search/revise.h"
#include "spec/counts.h"
#include "spec/relu_plan.h"

namespace deepreduce::search {

using spec::Role;
using spec::TrialSpec;
using storage::TrialState;

bool finished(TrialState s) {
  return s == TrialState::kDone || s == TrialState::kFailed || s == TrialState::kCancelled;
}

std::string Plan::add(TrialSpec spec, Role role, Role phase) {
  spec.role = role;
  spec.phase = phase == Role::kNone ? role : phase;
  std::string id = spec::trial_id(spec);
  if (ids_.insert(id).second) trials_.push_back({std::move(spec), role});
  return id;
}

void Plan::add_all(const std::vector<PlannedTrial>& trials) {
  for (const auto& t : trials) {
    const std::string id = spec::trial_id(t.spec);
    if (ids_.insert(id).second) trials_.push_back(t);
  }
}

TrialSpec with_model(const TrialSpec& base, spec::ModelSpec model) {
  TrialSpec s = base;
  s.job.model = std::move(model);
  return s;
}

std::vector<std::string> stages_of(const SweepConfig& c) { return spec::stage_names(*spec::resolve_unchecked(c.base.model).def); }

TrialSpec baseline_trial(const SweepConfig& config) {
  TrialSpec s;
  s.job = config.base;
  s.job.model.relu_off.clear();
  s.job.model.widths.clear();
  s.job.train.kd.teacher.clear();
  return s;
}

bool full_fidelity(const TrialSpec& spec) { return spec::schedule_epochs(spec.job.train) == spec.job.train.epochs; }

namespace {

// Several methods in one experiment: their trials together (one copy of a
// trial two of them want, with the first one's role), their decisions
// together, each strategy's trials marked with its name.
class Composite : public Strategy {
 public:
  Composite(std::vector<std::pair<std::string, std::unique_ptr<Strategy>>> parts) : parts_(std::move(parts)) {}

  Result<std::vector<PlannedTrial>> propose(const Seen& seen) const override {
    Plan plan;
    for (const auto& [name, s] : parts_) {
      auto p = s->propose(seen);
      if (!p.ok()) return p.status();
      plan.add_all(mark(*p, name));
    }
    return plan.take();
  }
  Result<std::vector<PlannedTrial>> whole_space(const std::vector<std::string>& order) const override {
    Plan plan;
    for (const auto& [name, s] : parts_) {
      auto p = s->whole_space(order);
      if (!p.ok()) return p.status();
      plan.add_all(mark(*p, name));
    }
    return plan.take();
  }
  std::string blocked(const Seen& seen) const override {
    for (const auto& [name, s] : parts_)
      if (std::string why = s->blocked(seen); !why.empty()) return why;
    return "";
  }
  std::vector<Decision> decisions(const Seen& seen) const override {
    std::vector<Decision> all;
    for (const auto& [name, s] : parts_) {
      auto d = s->decisions(seen);
      all.insert(all.end(), d.begin(), d.end());
    }
    return all;
  }

  // Each trial carries the name of the strategy that planned it (not part of its id).
  static std::vector<PlannedTrial> mark(std::vector<PlannedTrial> trials, const std::string& name) {
    for (auto& t : trials)
      if (t.spec.strategy.empty()) t.spec.strategy = name;
    return trials;
  }

 private:
  std::vector<std::pair<std::string, std::unique_ptr<Strategy>>> parts_;
};

}  // namespace

Result<std::unique_ptr<Strategy>> make_strategy(const SweepConfig& config) {
  std::vector<std::pair<std::string, std::unique_ptr<Strategy>>> parts;
  for (const auto& m : config.methods) {
    auto def = find_strategy(m.strategy);
    if (!def.ok()) return def.status();
    auto s = (*def)->make(config, m.options);
    if (!s.ok()) return s.status().with_context(m.strategy);
    std::unique_ptr<Strategy> part = std::move(*s);
    if ((*def)->halving && config.halving.enabled) part = with_halving(config, std::move(part));
    parts.push_back({m.strategy, std::move(part)});
  }
  if (parts.empty()) return Status::invalid_argument("search.strategy: the config names no method");
  std::unique_ptr<Strategy> s = std::make_unique<Composite>(std::move(parts));
  if (config.seeds.size() > 1) s = with_seeds(config, std::move(s));
  return s;
}

namespace {

// A trial as a strategy sees it: its state and, done, its result and artifacts.
Result<Observation> observation_of(storage::Store& store, const storage::TrialRecord& t) {
  Observation o;
  o.state = t.state;
  o.no_longer_planned = !t.retired.empty() || (t.state == TrialState::kCancelled && !t.reasons.empty() &&
                                               t.reasons.back().rfind(kNoLongerPlanned, 0) == 0);
  if (t.state == TrialState::kDone) {
    auto result = store.get_result(t.id);
    if (!result.ok()) return result.status();
    if (*result) {
      o.result = spec::trial_result_from_json(**result);
      // Decisions on validation top-1 when the trial held a split out (data.val_split).
      o.top1 = o.result.decision_top1();
    }
    auto artifacts = store.artifact_digests(t.id);
    if (!artifacts.ok()) return artifacts.status();
    o.artifacts = *artifacts;
  }
  return o;
}

}  // namespace

Result<Seen> observe(storage::Store& store) {
  auto trials = store.list_trials();
  if (!trials.ok()) return trials.status();
  Seen seen;
  for (const auto& t : *trials) {
    auto o = observation_of(store, t);
    if (!o.ok()) return o.status();
    seen[t.id] = *o;
  }
  return seen;
}

Status Observer::refresh(storage::Store& store, const std::string& id) {
  auto t = store.get_trial(id);
  if (!t.ok()) return t.status().code() == Status::Code::kNotFound ? Status() : t.status();
  auto o = observation_of(store, *t);
  if (!o.ok()) return o.status();
  seen_[id] = *o;
  return Status();
}

Status Observer::update(storage::Store& store) {
  if (!loaded_) {
    // Events numbered before the scan are in it; a margin covers numbers a
    // writer had handed out but not committed yet (re-reading is harmless).
    const uint64_t last = store.last_seq();
    seq_ = last > 1000 ? last - 1000 : 0;
    auto seen = observe(store);
    if (!seen.ok()) return seen.status();
    seen_ = std::move(*seen);
    loaded_ = true;
  }
  while (true) {
    auto events = store.events(seq_, 10000);
    if (!events.ok()) return events.status();
    if (events->empty()) return Status();
    std::set<std::string> touched;
    for (const auto& e : *events) {
      if (!e.trial.empty()) touched.insert(e.trial);
      seq_ = std::max(seq_, e.seq);
    }
    for (const auto& id : touched) DR_RETURN_IF_ERROR(refresh(store, id));
  }
}

Result<int64_t> expand(storage::Store& store, const std::string& experiment, const Strategy& strategy) {
  Observer observer;
  return expand(store, experiment, strategy, observer);
}

Result<int64_t> expand(storage::Store& store, const std::string& experiment, const Strategy& strategy,
                       Observer& observer, std::vector<spec::TrialSpec>* created_specs) {
  DR_RETURN_IF_ERROR(observer.update(store));
  const Seen& seen = observer.seen();
  auto planned = strategy.propose(seen);
  if (!planned.ok()) return planned.status();
  // The decisions behind the plan are kept before the trials they open.
  std::vector<storage::DecisionRecord> decided;
  for (const auto& d : strategy.decisions(seen)) decided.push_back({d.key, d.value, d.why, 0});
  if (!decided.empty()) DR_RETURN_IF_ERROR(store.put_decisions(experiment, decided));
  std::vector<TrialSpec> fresh;
  for (const auto& p : *planned) {
    const std::string id = spec::trial_id(p.spec);
    if (auto it = seen.find(id); it != seen.end() && it->second.no_longer_planned)
      DR_RETURN_IF_ERROR(plan_again(store, id, it->second.state, "planned again by experiment " + experiment));
  }
  for (const auto& p : *planned)
    if (!seen.count(spec::trial_id(p.spec))) {
      fresh.push_back(p.spec);
      if (fresh.back().role == Role::kNone) fresh.back().role = p.role;
      if (fresh.back().phase == Role::kNone) fresh.back().phase = p.role;
    }
  if (fresh.empty()) return int64_t{0};
  auto added = store.add_trials(experiment, fresh);
  if (!added.ok()) return added.status();
  int64_t created = 0;
  for (size_t i = 0; i < added->size(); ++i) {
    created += (*added)[i].created;
    if ((*added)[i].created && created_specs) created_specs->push_back(fresh[i]);
  }
  return created;
}

std::string added_text(const std::vector<spec::TrialSpec>& created) {
  // Strategies in the order they first appear; roles within each likewise.
  std::vector<std::string> strategies;
  std::map<std::string, std::vector<std::pair<std::string, int64_t>>> roles;
  std::map<std::string, int64_t> totals;
  for (const auto& s : created) {
    const std::string strategy = s.strategy.empty() ? "a trial list" : s.strategy;
    const std::string role = s.role == Role::kNone ? "-" : spec::role_name(s.role);
    if (!totals.count(strategy)) strategies.push_back(strategy);
    ++totals[strategy];
    auto& rs = roles[strategy];
    auto it = std::find_if(rs.begin(), rs.end(), [&](const auto& r) { return r.first == role; });
    if (it == rs.end()) rs.push_back({role, 1}); else ++it->second;
  }
  std::vector<std::string> parts;
  for (const auto& st : strategies) {
    std::vector<std::string> by_role;
    for (const auto& [role, n] : roles[st]) by_role.push_back(role + " " + std::to_string(n));
    parts.push_back(fmt::format("{} {} ({})", st, totals[st], fmt::join(by_role, ", ")));
  }
  return fmt::format("{}", fmt::join(parts, "; "));
}

Status assign_roles(storage::Store& store) {
  auto experiments = store.list_experiments();
  if (!experiments.ok()) return experiments.status();
  auto seen = observe(store);
  if (!seen.ok()) return seen.status();
  for (const auto& e : *experiments) {
    if (e.config.is_null()) continue;  // a trial list: its trials have no roles
    auto config = sweep_config_from_json(e.config);
    if (!config.ok()) return config.status().with_context("experiment " + e.name + " (stored config)");
    auto strategy = make_strategy(*config);
    if (!strategy.ok()) return strategy.status();
    auto planned = (*strategy)->propose(*seen);
    if (!planned.ok()) return planned.status();
    for (const auto& t : *planned) {
      const std::string id = spec::trial_id(t.spec);
      if (!seen->count(id)) continue;
      DR_RETURN_IF_ERROR(store.set_role(id, t.role, t.spec.phase == Role::kNone ? t.role : t.spec.phase));
    }
    std::vector<storage::DecisionRecord> decided;
    for (const auto& d : (*strategy)->decisions(*seen)) decided.push_back({d.key, d.value, d.why, 0});
    if (!decided.empty()) DR_RETURN_IF_ERROR(store.put_decisions(e.name, decided));
  }
  return Status();
}

}  // namespace deepreduce::search
