#include "search/revise.h"
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "common/format.h"
#include "common/json_diff.h"
#include "storage/trial.h"

namespace deepreduce::search {

using storage::TrialState;

std::vector<std::string> config_changes(const nlohmann::json& before, const nlohmann::json& after) {
  std::vector<std::string> out;
  if (before.is_null() || after.is_null()) {
    if (before != after) out.push_back(before.is_null() ? "a trial list became a sweep" : "a sweep became a trial list");
    return out;
  }
  for (const auto& c : json_changes(before, after))
    if (c.key.find("data_dir") == std::string::npos)  // where the data is defines nothing
      out.push_back(c.key + " " + c.before + " -> " + c.after);
  return out;
}

Status plan_again(storage::Store& store, const std::string& id, TrialState state, const std::string& why) {
  if (state == TrialState::kDone) return store.set_retired(id, "");
  if (state == TrialState::kCancelled) return store.retry(id, why);
  return Status();
}

namespace {

// Every trial id another experiment of the store plans: a sweep's strategy
// (rebuilt from its stored config) asked on what the store holds; a trial
// list's are the trials it added.
Result<std::set<std::string>> planned_elsewhere(storage::Store& store, const std::string& experiment, const Seen& seen,
                                                const std::vector<storage::TrialRecord>& records) {
  std::set<std::string> out;
  auto experiments = store.list_experiments();
  if (!experiments.ok()) return experiments.status();
  for (const auto& e : *experiments) {
    if (e.name == experiment) continue;
    if (e.config.is_null()) {
      for (const auto& t : records)
        if (t.experiment == e.name) out.insert(t.id);
      continue;
    }
    auto config = sweep_config_from_json(e.config);
    if (!config.ok()) return config.status().with_context("experiment " + e.name + " (stored config)");
    auto strategy = make_strategy(*config);
    if (!strategy.ok()) return strategy.status().with_context("experiment " + e.name);
    auto planned = (*strategy)->propose(seen);
    if (!planned.ok()) return planned.status().with_context("experiment " + e.name);
    for (const auto& p : *planned) out.insert(spec::trial_id(p.spec));
  }
  return out;
}

}  // namespace

Result<RevisionSummary> revise(storage::Store& store, const storage::Experiment& before,
                               const storage::Experiment& after, const Strategy* strategy,
                               const std::vector<std::string>& list_ids, int64_t created, Observer& observer) {
  RevisionSummary s;
  s.revision = after.revision;
  s.created = created;
  s.changed = config_changes(before.config, after.config);
  if (s.changed.empty()) s.changed.push_back("the config's text (it has no canonical form to compare)");
  DR_RETURN_IF_ERROR(observer.update(store));
  const Seen* seen = &observer.seen();
  std::set<std::string> planned(list_ids.begin(), list_ids.end());
  if (strategy) {
    auto proposed = strategy->propose(*seen);
    if (!proposed.ok()) return proposed.status();
    for (const auto& p : *proposed) planned.insert(spec::trial_id(p.spec));
  }
  auto records = store.list_trials();
  if (!records.ok()) return records.status();
  auto elsewhere = planned_elsewhere(store, after.name, *seen, *records);
  if (!elsewhere.ok()) return elsewhere.status();
  const std::string why = std::string(kNoLongerPlanned) + " by revision " + std::to_string(after.revision) +
                          " of experiment " + after.name;
  for (const auto& t : *records) {
    const auto o = seen->find(t.id);
    const bool set_aside = o != seen->end() && o->second.no_longer_planned;
    if (planned.count(t.id)) {
      if (t.state == TrialState::kDone) ++s.kept;
      if (set_aside)
        DR_RETURN_IF_ERROR(plan_again(store, t.id, t.state, "planned again by revision " +
                                                                 std::to_string(after.revision) + " of experiment " +
                                                                 after.name));
      continue;
    }
    if (t.experiment != after.name || elsewhere->count(t.id) || set_aside) continue;
    switch (t.state) {
      case TrialState::kDone:
        DR_RETURN_IF_ERROR(store.set_retired(t.id, why));
        break;
      case TrialState::kPending:
      case TrialState::kBlocked:
      case TrialState::kFailed:
      case TrialState::kLeased:  // a lease left by a stopped run; its result would be refused
        DR_RETURN_IF_ERROR(store.cancel(t.id, why));
        break;
      case TrialState::kCancelled:
      case TrialState::kDamaged:
        continue;  // cancelled before, for another reason, or waiting for repair: left as it is
    }
    ++s.dropped;
  }
  nlohmann::json value = {{"revision", s.revision}, {"kept", s.kept},       {"new", s.created},
                          {"no_longer_planned", s.dropped}, {"changed", s.changed}};
  const std::string because = fmt::format("{}", fmt::join(s.changed, ", "));
  DR_RETURN_IF_ERROR(store.put_decisions(after.name, {{"revision/" + std::to_string(s.revision), value,
                                                       "the config changed: " + because, 0}}));
  return s;
}

std::string describe(const RevisionSummary& s) {
  std::string changed =
      fmt::format("{}", fmt::join(s.changed.begin(), s.changed.begin() + std::min<size_t>(s.changed.size(), 4), ", "));
  if (s.changed.size() > 4) changed += ", and " + counted(static_cast<int64_t>(s.changed.size()) - 4, "more key");
  return "revision " + std::to_string(s.revision) + " (" + changed + "): " + counted(s.kept, "done trial") +
         " kept, " + with_commas(s.created) + " new, " + with_commas(s.dropped) +
         " no longer planned (kept in the store, left out of the front)";
}

std::vector<RevisionLine> revision_history(const std::vector<storage::DecisionRecord>& decisions) {
  std::vector<RevisionLine> out;
  for (const auto& d : decisions) {
    if (d.key.rfind("revision/", 0) != 0 || !d.value.is_object()) continue;
    const auto& v = d.value;
    out.push_back({v.value("revision", int64_t{0}), d.time_ms,
                   d.why + " (" + v.value("kept", nlohmann::json()).dump() + " kept, " +
                       v.value("new", nlohmann::json()).dump() + " new, " +
                       v.value("no_longer_planned", nlohmann::json()).dump() + " no longer planned)"});
  }
  // By number: "revision/10" sorts before "revision/9" as a key.
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.revision < b.revision; });
  return out;
}

}  // namespace deepreduce::search
