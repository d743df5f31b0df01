#include "storage/export.h"
#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "common/format.h"
#include "spec/counts.h"
#include "spec/relu_plan.h"

namespace deepreduce::storage {
namespace {

std::string num(double x) { return fmt::format("{:.10g}", x); }

}  // namespace

Result<std::vector<TrialRow>> trial_rows(Store& store,
                                         const std::function<std::string(const spec::TrialSpec&)>& method_of) {
  auto trials = store.list_trials();
  if (!trials.ok()) return trials.status();
  std::vector<TrialRow> rows;
  for (const auto& t : *trials) {
    TrialRow r;
    const auto& m = t.spec.job.model;
    r.id = t.id;
    r.experiment = t.experiment;
    r.arch = m.arch;
    r.plan = spec::plan_summary(m);
    r.alpha = m.alpha;
    r.rho = m.rho;
    auto resolved = spec::resolve(m);
    if (resolved.ok()) {
      std::vector<int64_t> blocks;
      for (const auto& st : resolved->stages) blocks.push_back(st.blocks);
      r.blocks = fmt::format("{}", fmt::join(blocks, ","));
    }
    r.kd = !t.spec.teacher.empty();
    r.seed = t.spec.job.train.seed;
    r.state = state_name(t.state);
    r.worker = t.worker;
    r.name = t.spec.name;
    if (t.spec.role != spec::Role::kNone) r.role = role_name(t.spec.role);
    r.retired = t.retired;
    if (method_of) r.method = method_of(t.spec);
    if (auto c = spec::count(m); c.ok()) {
      r.relus = c->relus;
      r.macs = c->macs;
      r.params = c->params;
    }
    r.epochs = t.spec.job.train.epochs;
    auto result = store.get_result(t.id);
    if (!result.ok()) return result.status();
    if (*result) {
      const spec::TrialResult res = spec::trial_result_from_json(**result);
      r.top1 = res.top1;
      r.top5 = res.top5;
      r.val_top1 = res.val_top1;
      if (res.mask_outcome) r.mask_phase = spec::mask_outcome_text(*res.mask_outcome);
      if (!res.epochs.empty()) r.epochs = static_cast<int64_t>(res.epochs.size());
      r.seconds = res.seconds();
    }
    rows.push_back(r);
  }
  return rows;
}

std::string rows_to_csv(const std::vector<TrialRow>& rows) {
  std::string out =
      "id,experiment,arch,plan,alpha,rho,blocks,kd,state,relus,macs,params,top1,top5,epochs,seconds,val_top1,seed,"
      "name,role,retired,method,mask_phase\n";
  for (const auto& r : rows) {
    out += r.id + "," + csv_field(r.experiment) + "," + r.arch + "," + csv_field(r.plan) + "," + num(r.alpha) + "," +
           num(r.rho) + "," + csv_field(r.blocks) + "," + (r.kd ? "yes" : "no") + "," + r.state + "," +
           std::to_string(r.relus) + "," + std::to_string(r.macs) + "," + std::to_string(r.params) + "," +
           (r.top1 ? num(*r.top1) : "") + "," + (r.top5 ? num(*r.top5) : "") + "," + std::to_string(r.epochs) + "," +
           num(r.seconds) + "," + (r.val_top1 ? num(*r.val_top1) : "") + "," + std::to_string(r.seed) + "," +
           csv_field(r.name) + "," + r.role + "," + csv_field(r.retired) + "," + csv_field(r.method) + "," +
           csv_field(r.mask_phase) + "\n";
  }
  return out;
}

nlohmann::json rows_to_json(const std::vector<TrialRow>& rows) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : rows)
    out.push_back({{"id", r.id},         {"experiment", r.experiment},
                   {"arch", r.arch},     {"plan", r.plan},
                   {"alpha", r.alpha},   {"rho", r.rho},
                   {"blocks", r.blocks}, {"kd", r.kd}, {"seed", r.seed},
                   {"state", r.state},   {"relus", r.relus},
                   {"macs", r.macs},     {"params", r.params},
                   {"top1", r.top1 ? nlohmann::json(*r.top1) : nlohmann::json()},
                   {"top5", r.top5 ? nlohmann::json(*r.top5) : nlohmann::json()},
                   {"val_top1", r.val_top1 ? nlohmann::json(*r.val_top1) : nlohmann::json()},
                   {"epochs", r.epochs}, {"seconds", r.seconds},
                   {"name", r.name.empty() ? nlohmann::json() : nlohmann::json(r.name)},
                   {"role", r.role.empty() ? nlohmann::json() : nlohmann::json(r.role)},
                   {"retired", r.retired.empty() ? nlohmann::json() : nlohmann::json(r.retired)},
                   {"method", r.method.empty() ? nlohmann::json() : nlohmann::json(r.method)},
                   {"mask_phase", r.mask_phase.empty() ? nlohmann::json() : nlohmann::json(r.mask_phase)}});
  return out;
}

Result<std::string> trial_by_prefix(const std::vector<TrialRecord>& trials, const std::string& prefix,
                                    const std::string& where) {
  std::vector<std::string> hits;
  for (const auto& t : trials)
    if (!prefix.empty() && t.id.rfind(prefix, 0) == 0) hits.push_back(t.id);
  if (hits.size() != 1)
    return Status::invalid_argument("\"" + prefix + "\" matches " + std::to_string(hits.size()) + " trials in " + where +
                                    (hits.empty() ? "" : ": give more of the id"));
  return hits.front();
}

DecisionRecord dispatch_decision(bool paused, const std::string& reason) {
  return {"dispatch", {{"paused", paused}, {"reason", reason}}, reason, 0};
}

Result<std::optional<PausedDispatch>> paused_dispatch(Store& store) {
  auto experiments = store.list_experiments();
  if (!experiments.ok()) return experiments.status();
  for (const auto& e : *experiments) {
    auto decisions = store.list_decisions(e.name);
    if (!decisions.ok()) return decisions.status();
    for (const auto& d : *decisions)
      if (d.key == "dispatch" && d.value.value("paused", false))
        return std::optional<PausedDispatch>(PausedDispatch{d.time_ms, d.value.value("reason", std::string())});
  }
  return std::optional<PausedDispatch>();
}

Result<nlohmann::json> status_json(Store& store, const std::string& where) {
  auto experiments = store.list_experiments();
  if (!experiments.ok()) return experiments.status();
  auto counts = store.count_by_state();
  if (!counts.ok()) return counts.status();
  // Only the trials it shows are read: status costs what it prints, not the store's size.
  auto leased = store.list_trials(TrialState::kLeased);
  if (!leased.ok()) return leased.status();
  auto failures = store.list_trials(TrialState::kFailed);
  if (!failures.ok()) return failures.status();
  auto roles = store.count_by_role();
  if (!roles.ok()) return roles.status();
  auto workers = store.list_workers();
  if (!workers.ok()) return workers.status();
  nlohmann::json states = nlohmann::json::object(), exps = nlohmann::json::array(), running = nlohmann::json::array(),
                 failed = nlohmann::json::array(), ws = nlohmann::json::array();
  int64_t total = 0;
  for (auto [state, n] : *counts) {
    states[state_name(state)] = n;
    total += n;
  }
  for (const auto& e : *experiments)
    exps.push_back({{"name", e.name}, {"strategy", e.strategy}, {"created_ms", e.created_ms}, {"revision", e.revision}});
  auto name = [](const TrialRecord& t) {
    return t.spec.name.empty() ? nlohmann::json(nullptr) : nlohmann::json(t.spec.name);
  };
  auto role = [](const TrialRecord& t) {
    return t.spec.role == spec::Role::kNone ? nlohmann::json(nullptr) : nlohmann::json(role_name(t.spec.role));
  };
  for (const auto& t : *leased)
    running.push_back({{"trial", t.id}, {"name", name(t)}, {"role", role(t)}, {"worker", t.worker}, {"attempt", t.attempt},
                       {"plan", spec::plan_summary(t.spec.job.model)}, {"epochs", t.spec.job.train.epochs},
                       {"progress", t.progress}, {"updated_ms", t.updated_ms},
                       {"lease_deadline_ms", t.lease_deadline_ms}});
  for (const auto& t : *failures)
    failed.push_back({{"trial", t.id}, {"name", name(t)}, {"role", role(t)}, {"charged", t.charged}, {"lost", t.lost}, {"reasons", t.reasons}});
  // Trials per role (phase) the strategy has opened; trials of plain lists have none.
  nlohmann::json role_counts = nlohmann::json::object();
  for (const auto& [name, n] : *roles)
    if (!name.empty()) role_counts[name] = n;
  for (const auto& w : *workers)
    ws.push_back({{"name", w.name}, {"host", w.host}, {"state", enum_name(w.state, kWorkerStateNames)}, {"reason", w.reason},
                  {"updated_ms", w.updated_ms}});
  // The time left for the trials known now (an adaptive search opens more):
  // their epochs left at the running trials' last epoch times, as many at once
  // as are running.
  int64_t epochs_left = 0;
  double epoch_seconds = 0;
  int timed = 0;
  for (const auto& t : *leased) {
    const auto& p = t.progress;
    const int64_t at = p.is_object() && p.contains("epoch") && p["epoch"].is_number() ? p["epoch"].get<int64_t>() : 0;
    if (t.spec.kind != spec::TrialKind::kNoop) epochs_left += std::max<int64_t>(0, t.spec.job.train.epochs - at);
    if (p.is_object() && p.contains("seconds") && p["seconds"].is_number()) {
      epoch_seconds += p["seconds"].get<double>();
      ++timed;
    }
  }
  for (auto state : {TrialState::kPending, TrialState::kBlocked}) {
    auto waiting = store.list_trials(state);
    if (!waiting.ok()) return waiting.status();
    for (const auto& t : *waiting)
      if (t.spec.kind != spec::TrialKind::kNoop) epochs_left += t.spec.job.train.epochs;
  }
  nlohmann::json eta = nullptr;
  if (timed && epochs_left)
    eta = epochs_left * (epoch_seconds / timed) / static_cast<double>(std::max<size_t>(1, leased->size()));
  else if (!epochs_left)
    eta = 0.0;
  auto paused = paused_dispatch(store);
  if (!paused.ok()) return paused.status();
  nlohmann::json pause = nullptr;
  if (*paused) pause = {{"since_ms", (*paused)->since_ms}, {"reason", (*paused)->reason}};
  return nlohmann::json{{"store", where},    {"now_ms", now_ms()}, {"experiments", exps}, {"trials", total},
                        {"states", states},  {"running", running}, {"failed", failed},   {"workers", ws},
                        {"roles", role_counts}, {"epochs_left", epochs_left}, {"eta_seconds", eta},
                        {"paused", pause}};
}

}  // namespace deepreduce::storage
