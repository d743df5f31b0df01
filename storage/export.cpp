#include "storage/export.h"

#include <sstream>

#include "common/text.h"
#include "spec/counts.h"
#include "spec/relu_plan.h"

namespace deepreduce::storage {
namespace {

std::string num(double x) {
  std::ostringstream os;
  os.precision(10);
  os << x;
  return os.str();
}

}  // namespace

Result<std::vector<TrialRow>> trial_rows(Store& store) {
  auto trials = store.list_trials();
  if (!trials.ok()) return trials.status();
  std::vector<TrialRow> rows;
  for (const auto& t : *trials) {
    TrialRow r;
    const auto& m = t.spec.job.model;
    r.id = t.id;
    r.experiment = t.experiment;
    r.arch = m.arch;
    r.plan = nn::plan_summary(m);
    r.alpha = m.alpha;
    r.rho = m.rho;
    auto resolved = nn::resolve(m);
    if (resolved.ok())
      for (const auto& st : resolved->stages) r.blocks += (r.blocks.empty() ? "" : ",") + std::to_string(st.blocks);
    r.kd = !t.spec.teacher.empty();
    r.seed = t.spec.job.train.seed;
    r.state = state_name(t.state);
    r.worker = t.worker;
    if (auto c = nn::count(m); c.ok()) {
      r.relus = c->relus;
      r.macs = c->macs;
      r.params = c->params;
    }
    r.epochs = t.spec.job.train.epochs;
    auto result = store.get_result(t.id);
    if (!result.ok()) return result.status();
    if (*result) {
      const train::TrialResult res = train::trial_result_from_json(**result);
      r.top1 = res.top1;
      r.top5 = res.top5;
      r.val_top1 = res.val_top1;
      if (!res.epochs.empty()) r.epochs = static_cast<int64_t>(res.epochs.size());
      r.seconds = res.seconds();
    }
    rows.push_back(r);
  }
  return rows;
}

std::string rows_to_csv(const std::vector<TrialRow>& rows) {
  std::string out =
      "id,experiment,arch,plan,alpha,rho,blocks,kd,state,relus,macs,params,top1,top5,epochs,seconds,val_top1,seed\n";
  for (const auto& r : rows) {
    out += r.id + "," + csv_field(r.experiment) + "," + r.arch + "," + csv_field(r.plan) + "," + num(r.alpha) + "," +
           num(r.rho) + "," + csv_field(r.blocks) + "," + (r.kd ? "yes" : "no") + "," + r.state + "," +
           std::to_string(r.relus) + "," + std::to_string(r.macs) + "," + std::to_string(r.params) + "," +
           (r.top1 ? num(*r.top1) : "") + "," + (r.top5 ? num(*r.top5) : "") + "," + std::to_string(r.epochs) + "," +
           num(r.seconds) + "," + (r.val_top1 ? num(*r.val_top1) : "") + "," + std::to_string(r.seed) + "\n";
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
                   {"epochs", r.epochs}, {"seconds", r.seconds}});
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
    exps.push_back({{"name", e.name}, {"strategy", e.strategy}, {"created_ms", e.created_ms}});
  auto role = [](const TrialRecord& t) {
    return t.spec.role == Role::kNone ? nlohmann::json(nullptr) : nlohmann::json(role_name(t.spec.role));
  };
  for (const auto& t : *leased)
    running.push_back({{"trial", t.id}, {"role", role(t)}, {"worker", t.worker}, {"attempt", t.attempt},
                       {"plan", nn::plan_summary(t.spec.job.model)}, {"epochs", t.spec.job.train.epochs},
                       {"progress", t.progress}, {"updated_ms", t.updated_ms},
                       {"lease_deadline_ms", t.lease_deadline_ms}});
  for (const auto& t : *failures)
    failed.push_back({{"trial", t.id}, {"role", role(t)}, {"charged", t.charged}, {"lost", t.lost}, {"reasons", t.reasons}});
  // Trials per role (phase) the strategy has opened; trials of plain lists have none.
  nlohmann::json role_counts = nlohmann::json::object();
  for (const auto& [name, n] : *roles)
    if (!name.empty()) role_counts[name] = n;
  for (const auto& w : *workers)
    ws.push_back({{"name", w.name}, {"host", w.host}, {"state", w.state}, {"reason", w.reason},
                  {"updated_ms", w.updated_ms}});
  return nlohmann::json{{"store", where},    {"now_ms", now_ms()}, {"experiments", exps}, {"trials", total},
                        {"states", states},  {"running", running}, {"failed", failed},   {"workers", ws},
                        {"roles", role_counts}};
}

}  // namespace deepreduce::storage
