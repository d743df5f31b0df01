#include "search/strategy.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "spec/counts.h"
#include "spec/prune.h"
#include "spec/relu_plan.h"

namespace deepreduce::search {
namespace {

using storage::Role;
using storage::TrialSpec;
using storage::TrialState;

bool finished(TrialState s) {
  return s == TrialState::kDone || s == TrialState::kFailed || s == TrialState::kCancelled;
}

// An ordered, duplicate-free list of planned trials.
class Plan {
 public:
  // The spec carries its role and phase into the store (phase: the role,
  // unless given: a rung's is the role of the candidate it shortens).
  std::string add(TrialSpec spec, Role role, Role phase = Role::kNone) {
    spec.role = role;
    spec.phase = phase == Role::kNone ? role : phase;
    std::string id = storage::trial_id(spec);
    if (ids_.insert(id).second) trials_.push_back({std::move(spec), role});
    return id;
  }
  void add_all(const std::vector<PlannedTrial>& trials) {
    for (const auto& t : trials) add(t.spec, t.role);
  }
  std::vector<PlannedTrial> take() { return std::move(trials_); }
  size_t size() const { return trials_.size(); }

 private:
  std::set<std::string> ids_;
  std::vector<PlannedTrial> trials_;
};

TrialSpec with_model(const TrialSpec& base, nn::ModelSpec model) {
  TrialSpec s = base;
  s.job.model = std::move(model);
  return s;
}

std::vector<std::string> stages_of(const SweepConfig& c) {
  return nn::stage_names(*nn::resolve_unchecked(c.base.model).def);
}

// --- grid

class GridStrategy : public Strategy {
 public:
  explicit GridStrategy(SweepConfig c) : c_(std::move(c)) {}
  Result<std::vector<PlannedTrial>> propose(const Seen&) const override { return grid_trials(c_); }
  Result<std::vector<PlannedTrial>> whole_space(const std::vector<std::string>&) const override {
    return grid_trials(c_);
  }

 private:
  SweepConfig c_;
};

// --- the DeepReDuce pipeline (paper Sec. 3)

class DeepReduceStrategy : public Strategy {
 public:
  explicit DeepReduceStrategy(SweepConfig c) : c_(std::move(c)) {}

  Result<std::vector<PlannedTrial>> propose(const Seen& seen) const override {
    Plan plan;
    const std::string teacher = first_phases(plan);
    std::vector<std::string> order = c_.deepreduce.order;
    if (c_.deepreduce.has("criticality")) {
      // Culling, thinning and reshaping open once every stage is ranked.
      const CriticalityTable table = criticality_table(c_, seen);
      if (!table.complete) return plan.take();
      std::vector<CriticalityRow> rows = table.rows;
      std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.rank < b.rank; });
      order.clear();
      for (const auto& r : rows) order.push_back(r.stage);
    }
    DR_RETURN_IF_ERROR(candidates(order, teacher, plan));
    return plan.take();
  }

  std::string blocked(const Seen& seen) const override {
    auto failed = [&](const TrialSpec& spec) {
      auto it = seen.find(storage::trial_id(spec));
      return it != seen.end() && it->second.state == TrialState::kFailed;
    };
    const TrialSpec baseline = baseline_trial(c_);
    if (failed(baseline)) return "the baseline failed: no candidate can be ranked or distilled";
    if (!c_.deepreduce.has("criticality")) return "";
    std::string stages;
    for (const auto& t : criticality_trials(baseline, c_.grid.kd))
      if (t.kd == c_.deepreduce.rank_with_kd && failed(t.spec)) stages += (stages.empty() ? "" : ", ") + t.stage;
    if (stages.empty()) return "";
    return "criticality trial(s) of " + stages +
           " failed: the stages cannot be ranked, so culling, thinning and reshaping stay closed";
  }

  Result<std::vector<PlannedTrial>> whole_space(const std::vector<std::string>& order) const override {
    // As many candidates whatever the order (up to the ReLU budget); which
    // networks they are depends on it.
    const std::vector<std::string> o =
        !order.empty() ? order : !c_.deepreduce.order.empty() ? c_.deepreduce.order : stages_of(c_);
    std::vector<std::string> sorted = o, want = stages_of(c_);
    std::sort(sorted.begin(), sorted.end());
    std::sort(want.begin(), want.end());
    if (sorted != want) {
      std::string list;
      for (const auto& st : stages_of(c_)) list += (list.empty() ? "" : ",") + st;
      return Status::invalid_argument("--assume-order: expected every stage once (" + list +
                                      "), least critical first");
    }
    Plan plan;
    const std::string teacher = first_phases(plan);
    DR_RETURN_IF_ERROR(candidates(o, teacher, plan));
    return plan.take();
  }

 private:
  // The phases that need no result: the baseline and the criticality study.
  // Returns the baseline's id (every candidate's KD teacher).
  std::string first_phases(Plan& plan) const {
    const TrialSpec baseline = baseline_trial(c_);
    const std::string id = plan.add(baseline, Role::kBaseline);
    if (c_.deepreduce.has("criticality"))
      for (const auto& t : criticality_trials(baseline, c_.grid.kd)) plan.add(t.spec, Role::kCriticality);
    return id;
  }

  // Culling (Sec. 3.2), thinning (Sec. 3.3) and reshaping (Sec. 3.4) of the
  // baseline given the stages least critical first, each without and with KD.
  Status candidates(const std::vector<std::string>& order, const std::string& teacher, Plan& plan) const {
    const auto& dr = c_.deepreduce;
    struct Reduction {
      std::vector<std::string> cull, thin;
      Role role;
    };
    std::vector<Reduction> reductions;
    const size_t n = order.size();
    std::vector<size_t> depths;  // how many of the least critical stages are culled
    if (dr.has("culling")) {
      for (size_t d = 1; d < n; ++d) depths.push_back(d);
    } else {
      depths.push_back(0);
    }
    for (size_t d : depths) {
      const std::vector<std::string> culled(order.begin(), order.begin() + d);
      if (dr.has("culling")) reductions.push_back({culled, {}, Role::kCulling});
      if (dr.has("thinning")) {
        std::vector<std::string> thinned;  // the survivors, but the stem (one ReLU: culled or kept)
        for (size_t k = d; k < n; ++k)
          if (order[k] != "stem") thinned.push_back(order[k]);
        if (!thinned.empty()) reductions.push_back({culled, thinned, Role::kThinning});
      }
    }
    // Reshaping: every other width, resolution and depth applied to the same reductions.
    struct Shape {
      double alpha, rho;
      std::vector<int64_t> blocks;
      bool reshaped;
    };
    std::vector<Shape> shapes = {{c_.base.model.alpha, c_.base.model.rho, c_.base.model.blocks, false}};
    if (dr.has("reshaping")) {
      const auto alphas = c_.grid.alpha.empty() ? std::vector<double>{c_.base.model.alpha} : c_.grid.alpha;
      const auto rhos = c_.grid.rho.empty() ? std::vector<double>{c_.base.model.rho} : c_.grid.rho;
      const auto depths_list =
          c_.grid.blocks.empty() ? std::vector<std::vector<int64_t>>{c_.base.model.blocks} : c_.grid.blocks;
      for (double a : alphas)
        for (double r : rhos)
          for (const auto& b : depths_list)
            if (a != c_.base.model.alpha || r != c_.base.model.rho || b != c_.base.model.blocks)
              shapes.push_back({a, r, b, true});
    }
    const TrialSpec baseline = baseline_trial(c_);
    for (const auto& shape : shapes) {
      nn::ModelSpec m = baseline.job.model;
      m.alpha = shape.alpha;
      m.rho = shape.rho;
      m.blocks = shape.blocks;
      std::vector<Reduction> reduced = reductions;
      // A reshaped network keeps every ReLU too: reshaping alone is a point of its own.
      if (shape.reshaped) reduced.insert(reduced.begin(), Reduction{{}, {}, Role::kReshaping});
      for (const auto& red : reduced) {
        auto planned = nn::cull(m, red.cull);
        if (planned.ok()) planned = nn::thin(*planned, red.thin, c_.thin_position);
        if (!planned.ok()) return planned.status();
        auto counts = nn::count(*planned);
        if (!counts.ok()) return counts.status();
        if (dr.relu_max > 0 && (counts->relus < dr.relu_min || counts->relus > dr.relu_max)) continue;
        for (bool kd : c_.grid.kd) {
          TrialSpec s = with_model(baseline, *planned);
          if (kd) s.teacher = teacher;  // the all-ReLU baseline teaches every candidate
          plan.add(s, shape.reshaped ? Role::kReshaping : red.role);
        }
      }
    }
    return Status();
  }

  SweepConfig c_;
};

// --- successive halving around any strategy's candidates

bool halved_role(Role role) {
  return role == Role::kCandidate || role == Role::kCulling || role == Role::kThinning || role == Role::kReshaping;
}

class HalvingStrategy : public Strategy {
 public:
  HalvingStrategy(SweepConfig c, std::unique_ptr<Strategy> inner) : c_(std::move(c)), inner_(std::move(inner)) {
    const int64_t full = c_.base.train.epochs;
    for (int64_t b = c_.halving.min_epochs; ; b = std::min(b * c_.halving.eta, full)) {
      budgets_.push_back(b);
      if (b >= full) break;
    }
  }

  std::string blocked(const Seen& seen) const override { return inner_->blocked(seen); }

  Result<std::vector<PlannedTrial>> propose(const Seen& seen) const override {
    auto proposed = inner_->propose(seen);
    if (!proposed.ok()) return proposed.status();
    Plan plan;
    std::vector<PlannedTrial> candidates;
    for (auto& t : *proposed) {
      if (halved_role(t.role)) {
        candidates.push_back(std::move(t));
      } else {
        plan.add(t.spec, t.role);
      }
    }
    if (candidates.empty()) return plan.take();
    // Log-spaced ReLU bands: promotion compares networks of similar cost only,
    // so the front keeps a candidate at every budget.
    std::vector<double> logs;
    for (const auto& t : candidates) {
      auto counts = nn::count(t.spec.job.model);
      if (!counts.ok()) return counts.status();
      logs.push_back(std::log10(static_cast<double>(std::max<int64_t>(counts->relus, 1))));
    }
    const double lo = *std::min_element(logs.begin(), logs.end()), hi = *std::max_element(logs.begin(), logs.end());
    const int64_t bands = c_.halving.bands;
    auto band_of = [&](size_t i) {
      if (hi <= lo) return int64_t{0};
      return std::min<int64_t>(bands - 1, static_cast<int64_t>((logs[i] - lo) / (hi - lo) * static_cast<double>(bands)));
    };
    const size_t rungs = budgets_.size();
    std::vector<std::vector<std::string>> ids(candidates.size(), std::vector<std::string>(rungs));
    std::vector<size_t> alive(candidates.size());
    for (size_t i = 0; i < alive.size(); ++i) alive[i] = i;
    for (size_t r = 0; r < rungs; ++r) {
      for (size_t i : alive) {
        TrialSpec s = candidates[i].spec;
        s.job.train.epochs = budgets_[r];
        s.job.train.horizon = c_.base.train.epochs;
        s.base = r > 0 ? ids[i][r - 1] : "";
        ids[i][r] = plan.add(s, r + 1 == rungs ? candidates[i].role : Role::kRung, candidates[i].role);
      }
      if (r + 1 == rungs) break;
      std::vector<size_t> promoted;
      for (int64_t band = 0; band < bands; ++band) {
        std::vector<size_t> members;
        for (size_t i : alive)
          if (band_of(i) == band) members.push_back(i);
        if (members.empty()) continue;
        bool all_finished = true;
        std::vector<std::pair<double, size_t>> done;
        for (size_t i : members) {
          auto it = seen.find(ids[i][r]);
          if (it == seen.end() || !finished(it->second.state)) {
            all_finished = false;
            break;
          }
          if (it->second.state == TrialState::kDone && it->second.top1) done.push_back({*it->second.top1, i});
        }
        if (!all_finished) continue;  // this band's rung is still training
        std::stable_sort(done.begin(), done.end(), [&](const auto& a, const auto& b) {
          return a.first != b.first ? a.first > b.first : ids[a.second][r] < ids[b.second][r];
        });
        const size_t keep = std::min(done.size(), (members.size() + c_.halving.eta - 1) / c_.halving.eta);
        for (size_t k = 0; k < keep; ++k) promoted.push_back(done[k].second);
      }
      std::sort(promoted.begin(), promoted.end());
      alive = promoted;
    }
    return plan.take();
  }

  Result<std::vector<PlannedTrial>> whole_space(const std::vector<std::string>& order) const override {
    return inner_->whole_space(order);  // at full budget: the candidates themselves, no rungs
  }

 private:
  SweepConfig c_;
  std::unique_ptr<Strategy> inner_;
  std::vector<int64_t> budgets_;
};

// --- channel pruning of the baseline beside any strategy (issue 7)

class WithPruning : public Strategy {
 public:
  WithPruning(SweepConfig c, std::unique_ptr<Strategy> inner) : c_(std::move(c)), inner_(std::move(inner)) {}

  std::string blocked(const Seen& seen) const override { return inner_->blocked(seen); }

  Result<std::vector<PlannedTrial>> propose(const Seen& seen) const override {
    auto proposed = inner_->propose(seen);
    if (!proposed.ok()) return proposed.status();
    Plan plan;
    const TrialSpec baseline = baseline_trial(c_);
    const std::string base_id = plan.add(baseline, Role::kBaseline);
    plan.add_all(*proposed);
    auto pruned = pruning_trials(base_id);
    if (!pruned.ok()) return pruned.status();
    plan.add_all(*pruned);
    return plan.take();
  }

  Result<std::vector<PlannedTrial>> whole_space(const std::vector<std::string>& order) const override {
    auto inner = inner_->whole_space(order);
    if (!inner.ok()) return inner.status();
    Plan plan;
    const std::string base_id = plan.add(baseline_trial(c_), Role::kBaseline);
    plan.add_all(*inner);
    auto pruned = pruning_trials(base_id);
    if (!pruned.ok()) return pruned.status();
    plan.add_all(*pruned);
    return plan.take();
  }

 private:
  Result<std::vector<PlannedTrial>> pruning_trials(const std::string& base_id) const {
    const auto& p = c_.pruning;
    const TrialSpec baseline = baseline_trial(c_);
    std::vector<PlannedTrial> out;
    auto add = [&](const nn::ModelSpec& model, storage::PruneSpec how) {
      for (const auto criterion : p.criteria)
        for (bool kd : p.kd) {
          TrialSpec s = with_model(baseline, model);
          s.base = base_id;
          s.teacher = kd ? base_id : "";
          s.job.train.epochs = p.epochs > 0 ? p.epochs : c_.base.train.epochs;
          s.job.train.lr = p.lr;
          s.job.train.warmup_epochs = 0;
          s.prune = how;
          s.prune->criterion = criterion;
          s.prune->scope = p.scope;
          out.push_back({s, Role::kPruning});
        }
    };
    for (double f : p.macs_targets) {
      auto shape = nn::prune_to_macs(baseline.job.model, f, p.scope);
      if (!shape.ok()) return shape.status().with_context("channel_pruning.macs");
      storage::PruneSpec how;
      how.macs_target = f;
      how.rate = shape->rate;
      add(shape->spec, how);
    }
    for (double rate : p.rates) {
      auto spec = nn::prune_rate(baseline.job.model, rate, p.scope);
      if (!spec.ok()) return spec.status().with_context("channel_pruning.rates");
      storage::PruneSpec how;
      how.rate = rate;
      add(*spec, how);
    }
    return out;
  }

  SweepConfig c_;
  std::unique_ptr<Strategy> inner_;
};

// --- seeds: every network trained once per seed, decided on the mean (train.seeds)

class SeededStrategy : public Strategy {
 public:
  SeededStrategy(SweepConfig c, std::unique_ptr<Strategy> inner) : c_(std::move(c)), inner_(std::move(inner)) {}

  Result<std::vector<PlannedTrial>> propose(const Seen& seen) const override {
    auto view = converge(seen);
    if (!view.ok()) return view.status();
    return replicate(view->planned).trials;
  }

  Result<std::vector<PlannedTrial>> whole_space(const std::vector<std::string>& order) const override {
    auto inner = inner_->whole_space(order);
    if (!inner.ok()) return inner.status();
    return replicate(*inner).trials;
  }

  std::string blocked(const Seen& seen) const override {
    auto view = converge(seen);
    return view.ok() ? inner_->blocked(view->means) : view.status().message();
  }

  Seen decision_view(const Seen& seen) const override {
    auto view = converge(seen);
    return view.ok() ? view->means : seen;
  }

 private:
  struct Copies {
    std::vector<PlannedTrial> trials;                          // every seed's copy, dependencies first
    std::map<std::string, std::vector<std::string>> ids;       // first seed's id -> the ids, seed by seed
  };
  struct View {
    std::vector<PlannedTrial> planned;  // the inner strategy's trials (the first seed)
    Seen means;                         // each of them as the mean of its seeds
  };

  // One copy per seed; a copy's teacher and base are its own seed's copies.
  // The first seed's copies are the inner strategy's trials themselves.
  Copies replicate(const std::vector<PlannedTrial>& planned) const {
    Copies out;
    for (const auto& p : planned) {
      const std::string first = storage::trial_id(p.spec);
      if (out.ids.count(first)) continue;
      auto& ids = out.ids[first];
      for (size_t k = 0; k < c_.seeds.size(); ++k) {
        TrialSpec s = p.spec;
        s.job.train.seed = c_.seeds[k];
        if (auto t = out.ids.find(s.teacher); !s.teacher.empty() && t != out.ids.end()) s.teacher = t->second[k];
        if (auto b = out.ids.find(s.base); !s.base.empty() && b != out.ids.end()) s.base = b->second[k];
        ids.push_back(storage::trial_id(s));
        out.trials.push_back({s, p.role});
      }
    }
    return out;
  }

  // What the inner strategy decides on: each of its trials as the mean of its
  // seeds (done when every seed is; failed when any seed failed). Deciding
  // can open a phase whose trials then have results of their own, so this
  // repeats until the inner strategy's plan stops changing.
  Result<View> converge(const Seen& seen) const {
    View view;
    for (int round = 0; round < 256; ++round) {
      auto planned = inner_->propose(view.means);
      if (!planned.ok()) return planned.status();
      const Copies copies = replicate(*planned);
      Seen means;
      for (const auto& [first, ids] : copies.ids) {
        std::vector<double> tops;
        bool any = false, failed = false, done = true, leased = false;
        for (const auto& id : ids) {
          auto it = seen.find(id);
          if (it == seen.end()) {
            done = false;
            continue;
          }
          any = true;
          failed |= it->second.state == TrialState::kFailed;
          leased |= it->second.state == TrialState::kLeased;
          if (it->second.state == TrialState::kDone && it->second.top1) tops.push_back(*it->second.top1);
          else done = false;
        }
        if (!any) continue;
        Observation o;
        if (failed) {
          o.state = TrialState::kFailed;
        } else if (done) {
          o.state = TrialState::kDone;
          double sum = 0;
          for (double t : tops) sum += t;
          o.top1 = sum / static_cast<double>(tops.size());
        } else {
          o.state = leased ? TrialState::kLeased : TrialState::kPending;
        }
        means[first] = o;
      }
      view.planned = std::move(*planned);
      if (means == view.means) return view;
      view.means = std::move(means);
    }
    return Status::internal("train.seeds: the strategy's plan did not settle");
  }

  SweepConfig c_;
  std::unique_ptr<Strategy> inner_;
};

}  // namespace

namespace {

// A trial as a strategy sees it: its state, and a done trial's top-1.
Result<Observation> observation_of(storage::Store& store, const storage::TrialRecord& t) {
  Observation o;
  o.state = t.state;
  if (t.state == TrialState::kDone) {
    auto result = store.get_result(t.id);
    if (!result.ok()) return result.status();
    // Decisions on validation top-1 when the trial held a split out (data.val_split).
    if (*result) o.top1 = train::trial_result_from_json(**result).decision_top1();
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

Result<std::unique_ptr<Strategy>> make_strategy(const SweepConfig& config) {
  std::unique_ptr<Strategy> s;
  if (config.strategy == "grid") {
    s = std::make_unique<GridStrategy>(config);
  } else if (config.strategy == "deepreduce") {
    s = std::make_unique<DeepReduceStrategy>(config);
  } else {
    return Status::invalid_argument("search.strategy: expected grid or deepreduce, got \"" + config.strategy + "\"");
  }
  if (config.halving.enabled) s = std::make_unique<HalvingStrategy>(config, std::move(s));
  if (config.pruning.enabled) s = std::make_unique<WithPruning>(config, std::move(s));
  if (config.seeds.size() > 1) s = std::make_unique<SeededStrategy>(config, std::move(s));
  return s;
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
                       Observer& observer) {
  DR_RETURN_IF_ERROR(observer.update(store));
  const Seen& seen = observer.seen();
  auto planned = strategy.propose(seen);
  if (!planned.ok()) return planned.status();
  std::vector<TrialSpec> fresh;
  for (const auto& p : *planned)
    if (!seen.count(storage::trial_id(p.spec))) {
      fresh.push_back(p.spec);
      if (fresh.back().role == Role::kNone) fresh.back().role = p.role;
      if (fresh.back().phase == Role::kNone) fresh.back().phase = p.role;
    }
  if (fresh.empty()) return int64_t{0};
  auto added = store.add_trials(experiment, fresh);
  if (!added.ok()) return added.status();
  int64_t created = 0;
  for (const auto& a : *added) created += a.created;
  return created;
}

TrialSpec baseline_trial(const SweepConfig& config) {
  TrialSpec s;
  s.job = config.base;
  s.job.model.relu_off.clear();
  s.job.model.widths.clear();
  s.job.train.kd.teacher.clear();
  return s;
}

std::vector<CriticalityTrial> criticality_trials(const TrialSpec& baseline, const std::vector<bool>& kd) {
  std::vector<CriticalityTrial> out;
  const std::string teacher = storage::trial_id(baseline);
  std::vector<std::pair<std::string, nn::ModelSpec>> networks;
  for (const auto& stage : nn::stage_names(*nn::resolve_unchecked(baseline.job.model).def))
    networks.push_back({stage, *nn::only(baseline.job.model, stage)});
  networks.push_back({"none", *nn::no_relus(baseline.job.model)});
  for (bool k : kd)
    for (const auto& [stage, model] : networks) {
      TrialSpec s = with_model(baseline, model);
      if (k) s.teacher = teacher;
      out.push_back({stage, k, s});
    }
  return out;
}

CriticalityTable criticality_table(const SweepConfig& config, const Seen& seen) {
  CriticalityTable table;
  if (config.strategy != "deepreduce" || !config.deepreduce.has("criticality")) return table;
  table.metric = config.deepreduce.metric;
  const TrialSpec baseline = baseline_trial(config);
  const auto counts = nn::count(baseline.job.model);
  std::vector<bool> kd_flags = config.grid.kd;
  bool all_finished = true;
  std::map<std::string, CriticalityRow> rows;
  for (const auto& sc : counts->stages) {
    CriticalityRow row;
    row.stage = sc.stage;
    row.relus = sc.relus;
    rows[sc.stage] = row;
  }
  for (const auto& t : criticality_trials(baseline, kd_flags)) {
    auto it = seen.find(storage::trial_id(t.spec));
    const bool ranking = t.kd == config.deepreduce.rank_with_kd;
    // Ranking needs every ranking network done: a failed one blocks the phase (see blocked()).
    if (ranking && (it == seen.end() || it->second.state != TrialState::kDone)) all_finished = false;
    if (it == seen.end() || !it->second.top1) continue;
    const double top1 = *it->second.top1;
    if (t.stage == "none") {
      (t.kd ? table.none_top1_kd : table.none_top1) = top1;
    } else {
      (t.kd ? rows[t.stage].top1_kd : rows[t.stage].top1) = top1;
    }
  }
  // Ranked from the accuracies the config ranks with; a stage whose network
  // failed counts as most critical (it is never culled on missing evidence).
  const bool with_kd = config.deepreduce.rank_with_kd;
  const std::optional<double> none = with_kd ? table.none_top1_kd : table.none_top1;
  std::vector<StageAccuracy> known;
  std::vector<std::string> unknown;
  for (const auto& sc : counts->stages) {
    const auto& acc = with_kd ? rows[sc.stage].top1_kd : rows[sc.stage].top1;
    if (acc) known.push_back({sc.stage, sc.relus, *acc}); else unknown.push_back(sc.stage);
  }
  table.complete = all_finished;
  if (all_finished) {
    const double chance = 100.0 / static_cast<double>(config.base.model.classes);
    auto ranked = rank_stages(known, none.value_or(chance), *parse_metric(config.deepreduce.metric));
    for (const auto& r : ranked) {
      rows[r.stage].score = r.score;
      rows[r.stage].rank = r.rank;
    }
    int rank = static_cast<int>(ranked.size());
    for (const auto& stage : unknown) rows[stage].rank = ++rank;
  }
  for (const auto& sc : counts->stages) table.rows.push_back(rows[sc.stage]);
  return table;
}

bool full_fidelity(const TrialSpec& spec) {
  return train::schedule_epochs(spec.job.train) == spec.job.train.epochs;
}

Status assign_roles(storage::Store& store) {
  auto experiments = store.list_experiments();
  if (!experiments.ok()) return experiments.status();
  auto seen = observe(store);
  if (!seen.ok()) return seen.status();
  for (const auto& e : *experiments) {
    if (!looks_like_sweep(e.config_yaml)) continue;
    auto config = parse_sweep(e.config_yaml, e.name + " (stored config)", /*require_data=*/false);
    if (!config.ok()) return config.status();
    auto strategy = make_strategy(*config);
    if (!strategy.ok()) return strategy.status();
    auto planned = (*strategy)->propose(*seen);
    if (!planned.ok()) return planned.status();
    for (const auto& t : *planned) {
      const std::string id = storage::trial_id(t.spec);
      if (!seen->count(id)) continue;
      DR_RETURN_IF_ERROR(store.set_role(id, t.role, t.spec.phase == Role::kNone ? t.role : t.spec.phase));
    }
  }
  return Status();
}

}  // namespace deepreduce::search
