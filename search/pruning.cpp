// channel_pruning: the paper's comparison beside any search. The trained
// baseline loses its least important filters (L1, Li et al. 2017; FPGM, He et
// al. 2019) to MACs targets or uniform rates, and is fine-tuned.
#include <fmt/format.h>

#include "search/registry.h"
#include "spec/prune.h"

namespace deepreduce::search {
namespace {

using spec::Role;
using spec::TrialSpec;

class PruningStrategy : public Strategy {
 public:
  explicit PruningStrategy(SweepConfig c) : c_(std::move(c)) {}

  // The trained baseline, then its pruned networks (they wait for it).
  Result<std::vector<PlannedTrial>> propose(const Seen&) const override { return whole_space({}); }

  Result<std::vector<PlannedTrial>> whole_space(const std::vector<std::string>&) const override {
    Plan plan;
    const std::string base_id = plan.add(baseline_trial(c_), Role::kBaseline);
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
    auto add = [&](const spec::ModelSpec& model, spec::PruneSpec how) {
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
      auto shape = spec::prune_to_macs(baseline.job.model, f, p.scope);
      if (!shape.ok()) return shape.status().with_context("channel_pruning.macs");
      spec::PruneSpec how;
      how.macs_target = f;
      how.rate = shape->rate;
      add(shape->spec, how);
    }
    for (double rate : p.rates) {
      auto spec = spec::prune_rate(baseline.job.model, rate, p.scope);
      if (!spec.ok()) return spec.status().with_context("channel_pruning.rates");
      spec::PruneSpec how;
      how.rate = rate;
      add(*spec, how);
    }
    return out;
  }

  SweepConfig c_;
};

nlohmann::json options_of(const PruningSpace& p) {
  nlohmann::json criteria = nlohmann::json::array();
  for (auto c : p.criteria) criteria.push_back(spec::criterion_name(c));
  return {{"criteria", criteria}, {"scope", spec::prune_scope_name(p.scope)}, {"macs", p.macs_targets},
          {"rates", p.rates}, {"epochs", p.epochs}, {"lr", p.lr}, {"kd", p.kd}};
}

Result<nlohmann::json> read(const ConfigReader& r, const YAML::Node& n, SweepConfig& c) {
  auto& p = c.pruning;
  p.enabled = true;
  if (n["scope"])
    DR_RETURN_IF_ERROR(r.choice(n["scope"], "channel_pruning.scope", "coupled or inner", spec::parse_prune_scope, p.scope));
  if (n["criteria"]) {
    std::vector<std::string> names;
    DR_RETURN_IF_ERROR(r.list(n["criteria"], "channel_pruning.criteria", "criteria (l1, fpgm)", names));
    p.criteria.clear();
    for (size_t i = 0; i < names.size(); ++i) {
      auto crit = spec::parse_criterion(names[i]);
      if (!crit.ok())
        return r.error(n["criteria"][i], "channel_pruning.criteria", "expected l1 or fpgm, got \"" + names[i] + "\"");
      p.criteria.push_back(*crit);
    }
  }
  if (n["macs"])
    DR_RETURN_IF_ERROR(
        r.list(n["macs"], "channel_pruning.macs", "fractions of the baseline's MACs in (0, 1)", p.macs_targets));
  for (size_t i = 0; i < p.macs_targets.size(); ++i)
    if (!(p.macs_targets[i] > 0 && p.macs_targets[i] < 1))
      return r.error(n["macs"][i], "channel_pruning.macs", "expected a fraction of the baseline's MACs in (0, 1)");
    else if (auto shape = spec::prune_to_macs(c.base.model, p.macs_targets[i], p.scope); !shape.ok())
      return r.error(n["macs"][i], "channel_pruning.macs", shape.status().message());
  if (n["rates"]) DR_RETURN_IF_ERROR(r.list(n["rates"], "channel_pruning.rates", "pruning rates in (0, 1)", p.rates));
  for (size_t i = 0; i < p.rates.size(); ++i)
    if (!(p.rates[i] > 0 && p.rates[i] < 1))
      return r.error(n["rates"][i], "channel_pruning.rates", "expected a pruning rate in (0, 1)");
  if (p.macs_targets.empty() && p.rates.empty()) return r.error(n, "channel_pruning", "give macs (targets) or rates");
  if (n["epochs"]) DR_RETURN_IF_ERROR(r.scalar(n["epochs"], "channel_pruning.epochs", "an integer", p.epochs));
  if (p.epochs < 0) return r.error(n["epochs"], "channel_pruning.epochs", "expected >= 1 (0: train.epochs)");
  if (n["lr"]) DR_RETURN_IF_ERROR(r.scalar(n["lr"], "channel_pruning.lr", "a number > 0", p.lr));
  if (!(p.lr > 0)) return r.error(n["lr"], "channel_pruning.lr", "expected a number > 0");
  if (n["kd"]) DR_RETURN_IF_ERROR(r.list(n["kd"], "channel_pruning.kd", "true/false", p.kd));
  return options_of(p);
}

Status load(const nlohmann::json& o, SweepConfig& c) {
  try {
    auto& p = c.pruning;
    p.enabled = true;
    p.criteria.clear();
    for (const auto& name : o.at("criteria")) {
      auto crit = spec::parse_criterion(name.get<std::string>());
      if (!crit.ok()) return crit.status();
      p.criteria.push_back(*crit);
    }
    auto scope = spec::parse_prune_scope(o.at("scope").get<std::string>());
    if (!scope.ok()) return scope.status();
    p.scope = *scope;
    p.macs_targets = o.at("macs").get<std::vector<double>>();
    p.rates = o.at("rates").get<std::vector<double>>();
    p.epochs = o.at("epochs").get<int64_t>();
    p.lr = o.at("lr").get<double>();
    p.kd = o.at("kd").get<std::vector<bool>>();
  } catch (const nlohmann::json::exception& e) {
    return Status::corruption(std::string("channel_pruning options: ") + e.what());
  }
  return Status();
}

Result<std::unique_ptr<Strategy>> make(const SweepConfig& c, const nlohmann::json&) {
  return std::unique_ptr<Strategy>(std::make_unique<PruningStrategy>(c));
}


// "L1 to 50% MACs", "FPGM rate 0.30, inner channels only", + " + KD".
std::string row_label(const spec::TrialSpec& spec, bool kd) {
  if (!spec.prune) return kd ? "+ KD" : "";
  const spec::PruneSpec& prune = *spec.prune;
  std::string m = prune.criterion == spec::PruneCriterion::kL1 ? "L1" : "FPGM";
  if (prune.macs_target)
    m += " to " + fmt::format("{:.0f}", 100.0 * *prune.macs_target) + "% MACs";
  else if (prune.rate)
    m += " rate " + fmt::format("{:.2f}", *prune.rate);
  if (prune.scope == spec::PruneScope::kInner) m += ", inner channels only";
  return m + (kd ? " + KD" : "");
}

}  // namespace

StrategyDef channel_pruning_strategy_def() {
  StrategyDef d;
  d.name = "channel_pruning";
  d.method = "channel pruning";
  d.presentation.series = {{"channel pruning", "#d62728", "triangle"}};
  d.presentation.baseline = true;
  d.presentation.row_label = row_label;
  d.summary = "L1 / FPGM filter pruning of the trained baseline to MACs targets or rates, fine-tuned";
  d.section = "channel_pruning";
  d.keys = {"criteria", "scope", "macs", "rates", "epochs", "lr", "kd"};
  d.read = read;
  d.load = load;
  d.make = make;
  return d;
}

}  // namespace deepreduce::search
