#include "search/mask_planner.h"

#include <algorithm>
#include <fmt/format.h>

#include "spec/counts.h"

namespace deepreduce::search {
namespace {

using spec::Role;
using spec::TrialSpec;
using storage::TrialState;

}  // namespace

nlohmann::json to_json(const MaskedOptions& o) {
  nlohmann::json j = {{"method", enum_name(o.method, spec::kLinearizeMethodNames)},
          {"chain", o.chain},
          {"granularity", spec::granularity_name(o.granularity)},
          {"budgets", o.budgets},
          {"lambda", o.lambda},
          {"lambda_growth", o.lambda_growth},
          {"patience", o.patience},
          {"threshold", o.threshold},
          {"mask_epochs", o.mask_epochs},
          {"mask_lr", o.mask_lr},
          {"alpha_lr", o.alpha_lr},
          {"finetune_epochs", o.finetune_epochs},
          {"finetune_lr", o.finetune_lr}};
  // Only where set: the stored options of the strategies from before them stay as they were.
  if (o.mask_optimizer != spec::OptimizerKind::kAdam) j["mask_optimizer"] = enum_name(o.mask_optimizer, spec::kOptimizerNames);
  if (o.at_weight > 0) j["at_weight"] = o.at_weight;
  return j;
}

Result<MaskedOptions> masked_options_from_json(const nlohmann::json& j) {
  MaskedOptions o;
  try {
    auto method = parse_enum(j.at("method").get<std::string>(), spec::kLinearizeMethodNames);
    if (!method.ok()) return Status::corruption("linearize options: method: " + method.status().message());
    o.method = *method;
    o.chain = j.at("chain").get<bool>();
    auto g = spec::parse_granularity(j.at("granularity").get<std::string>());
    if (!g.ok()) return g.status();
    o.granularity = *g;
    o.budgets = j.at("budgets").get<std::vector<int64_t>>();
    o.lambda = j.at("lambda").get<double>();
    o.lambda_growth = j.at("lambda_growth").get<double>();
    o.patience = j.at("patience").get<int64_t>();
    o.threshold = j.at("threshold").get<double>();
    o.mask_epochs = j.at("mask_epochs").get<int64_t>();
    o.mask_lr = j.at("mask_lr").get<double>();
    o.alpha_lr = j.at("alpha_lr").get<double>();
    o.finetune_epochs = j.at("finetune_epochs").get<int64_t>();
    o.finetune_lr = j.at("finetune_lr").get<double>();
    if (j.contains("mask_optimizer")) {
      auto opt = parse_enum(j.at("mask_optimizer").get<std::string>(), spec::kOptimizerNames);
      if (!opt.ok()) return Status::corruption("linearize options: mask_optimizer: " + opt.status().message());
      o.mask_optimizer = *opt;
    }
    o.at_weight = j.value("at_weight", 0.0);
  } catch (const nlohmann::json::exception& e) {
    return Status::corruption(std::string("masked options: ") + e.what());
  }
  if (o.budgets.empty()) return Status::corruption("linearize options: no budgets");
  return o;
}

namespace {

class MaskedStrategy : public Strategy {
 public:
  MaskedStrategy(SweepConfig c, MaskedOptions o) : c_(std::move(c)), o_(std::move(o)) {}

  Result<std::vector<PlannedTrial>> propose(const Seen& seen) const override { return plan(&seen); }
  // The whole space: every mask phase, and every fine-tuning as if its mask
  // kept exactly its budget, spread over the sites (its real id is known once
  // its mask exists).
  Result<std::vector<PlannedTrial>> whole_space(const std::vector<std::string>&) const override { return plan(nullptr); }

  std::string blocked(const Seen& seen) const override {
    for (uint64_t seed : seeds()) {
      auto it = seen.find(spec::trial_id(baseline(seed)));
      if (it != seen.end() && it->second.state == TrialState::kFailed)
        return "the baseline of seed " + std::to_string(seed) + " failed: its masks cannot be learned";
    }
    return "";
  }

  // Each budget's mask, once learned: what it keeps and after how many epochs.
  std::vector<Decision> decisions(const Seen& seen) const override {
    std::vector<Decision> out;
    for (uint64_t seed : seeds()) {
      std::string base = spec::trial_id(baseline(seed));
      for (int64_t budget : o_.budgets) {
        const TrialSpec m = mask_phase(seed, budget, base);
        const std::string id = spec::trial_id(m);
        if (o_.chain) base = id;
        auto it = seen.find(id);
        if (it == seen.end() || it->second.state != TrialState::kDone || !it->second.result.mask) {
          if (o_.chain) break;
          continue;
        }
        const auto& r = it->second.result;
        const int64_t epochs = static_cast<int64_t>(r.epochs.size());
        const bool reached =
            o_.method != spec::LinearizeMethod::kSnl || (!r.epochs.empty() && r.epochs.back().relus && *r.epochs.back().relus <= budget);
        out.push_back({fmt::format("mask {} seed {}", budget, seed),
                       {{"trial", id}, {"relus", r.relus}, {"epochs", epochs}, {"digest", r.mask->digest},
                        {"l1_weight", r.epochs.empty() || !r.epochs.back().l1_weight ? 0.0 : *r.epochs.back().l1_weight}},
                       fmt::format("the mask phase {} the budget after {} epoch(s){}; {} ReLUs stay, fine-tuning planned",
                                   reached ? "reached" : "did not reach", epochs,
                                   reached ? "" : " (its cap): cut to the budget, largest α kept", r.relus)});
      }
    }
    return out;
  }

 private:
  std::vector<uint64_t> seeds() const {
    return c_.seeds.empty() ? std::vector<uint64_t>{c_.base.train.seed} : c_.seeds;
  }

  TrialSpec baseline(uint64_t seed) const {
    TrialSpec s = baseline_trial(c_);
    s.job.train.seed = seed;
    return s;
  }

  // The mask phase at `budget`, starting from `base` (the baseline or the next
  // larger budget's mask phase), distilled from the seed's baseline.
  TrialSpec mask_phase(uint64_t seed, int64_t budget, const std::string& base) const {
    TrialSpec s = baseline(seed);
    s.job.model.masks = spec::ReluMasks{o_.granularity, true, {}, ""};
    auto& t = s.job.train;
    t.optimizer = o_.mask_optimizer;
    t.lr = o_.mask_lr;
    if (o_.mask_optimizer == spec::OptimizerKind::kSgd) {
      t.momentum = 0.9;
      t.nesterov = false;
      t.weight_decay = 5e-4;
      t.schedule = spec::Schedule::kCosine;
    } else {
      t.weight_decay = 0;
      t.schedule = spec::Schedule::kConstant;
    }
    t.warmup_epochs = 0;
    t.milestones.clear();
    t.epochs = o_.mask_epochs;
    t.horizon = 0;
    t.kd.form = spec::KdForm::kSum;
    t.linearize.budget = budget;
    t.linearize.lambda = o_.lambda;
    t.linearize.growth = o_.lambda_growth;
    t.linearize.patience = o_.patience;
    t.linearize.threshold = o_.threshold;
    t.linearize.alpha_lr = o_.alpha_lr;
    t.linearize.method = o_.method;
    s.teacher = spec::trial_id(baseline(seed));
    s.base = base;
    return s;
  }

  // The network fine-tuned under `masks`, from its mask phase `mask_id`.
  TrialSpec finetune(uint64_t seed, const spec::ReluMasks& masks, const std::string& mask_id) const {
    TrialSpec s = baseline(seed);
    s.job.model.masks = masks;
    auto& t = s.job.train;
    t.optimizer = spec::OptimizerKind::kSgd;
    t.lr = o_.finetune_lr;
    t.momentum = 0.9;
    t.nesterov = false;
    t.weight_decay = 5e-4;
    t.schedule = spec::Schedule::kCosine;
    t.warmup_epochs = 0;
    t.milestones.clear();
    t.epochs = o_.finetune_epochs;
    t.horizon = 0;
    t.kd.form = spec::KdForm::kSum;
    t.kd.at_weight = o_.at_weight;
    s.teacher = spec::trial_id(baseline(seed));
    s.base = mask_id;
    return s;
  }

  // A stand-in for a mask not learned yet: its budget spread over the sites in
  // proportion to their size (for plan --all's counts and costs).
  // The shares are rounded down, then what rounding left goes to the sites
  // with the largest remainders, a unit each while it fits: the count is the
  // budget itself, as the runs' masks are (cut to it exactly), where units allow.
  spec::ReluMasks nominal_masks(int64_t budget) const {
    spec::ReluMasks m{o_.granularity, false, {}, std::string(64, '0')};
    const auto sites = *spec::relu_sites(c_.base.model);
    int64_t total = 0;
    for (const auto& s : sites) total += s.full();
    int64_t used = 0;
    std::vector<std::pair<double, size_t>> remainders;
    for (size_t i = 0; i < sites.size(); ++i) {
      const auto& s = sites[i];
      const int64_t per_unit = spec::relus_per_unit(o_.granularity, s.height, s.width);
      const int64_t units = spec::mask_units(o_.granularity, s.channels, s.height, s.width);
      const double share = static_cast<double>(budget) * static_cast<double>(s.full()) /
                           static_cast<double>(std::max<int64_t>(total, 1)) / static_cast<double>(per_unit);
      const int64_t kept = std::min(units, static_cast<int64_t>(share));
      m.kept[s.name] = kept;
      used += kept * per_unit;
      remainders.push_back({share - static_cast<double>(kept), i});
    }
    std::stable_sort(remainders.begin(), remainders.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (const auto& [rest, i] : remainders) {
      const auto& s = sites[i];
      const int64_t per_unit = spec::relus_per_unit(o_.granularity, s.height, s.width);
      const int64_t units = spec::mask_units(o_.granularity, s.channels, s.height, s.width);
      if (used + per_unit > budget || m.kept[s.name] >= units) continue;
      ++m.kept[s.name];
      used += per_unit;
    }
    return m;
  }

  Result<std::vector<PlannedTrial>> plan(const Seen* seen) const {
    Plan plan;
    std::vector<PlannedTrial> out;
    for (uint64_t seed : seeds()) {
      std::string base = plan.add(baseline(seed), Role::kBaseline);
      for (int64_t budget : o_.budgets) {
        const std::string mask_id = plan.add(mask_phase(seed, budget, base), Role::kMask);
        if (o_.chain) base = mask_id;
        if (!seen) {
          plan.add(finetune(seed, nominal_masks(budget), mask_id), Role::kFinetune);
          continue;
        }
        // The fine-tuning is planned once its mask is learned and stored.
        auto it = seen->find(mask_id);
        if (it == seen->end() || it->second.state != TrialState::kDone || !it->second.result.mask) continue;
        const spec::ReluMasks& learned = *it->second.result.mask;
        auto stored = it->second.artifacts.find(spec::ArtifactKind::kMask);
        if (stored == it->second.artifacts.end() || stored->second != learned.digest) continue;
        plan.add(finetune(seed, learned, mask_id), Role::kFinetune);
      }
    }
    for (auto& t : plan.take()) {
      t.all_seeds = true;
      out.push_back(std::move(t));
    }
    return out;
  }

  SweepConfig c_;
  MaskedOptions o_;
};

}  // namespace

std::vector<std::string> masked_keys() {
  return {"granularity", "budgets", "mask_epochs", "mask_lr", "finetune_epochs", "finetune_lr"};
}

Status read_masked_options(const ConfigReader& r, const YAML::Node& sr, const SweepConfig& c, MaskedOptions& o) {
  if (sr["granularity"])
    DR_RETURN_IF_ERROR(r.choice(sr["granularity"], "search.granularity", "pixel or channel", spec::parse_granularity,
                                o.granularity));
  if (!sr["budgets"]) return r.error(sr, "search.budgets", "missing: the ReLU counts to learn masks for");
  DR_RETURN_IF_ERROR(r.list(sr["budgets"], "search.budgets", "ReLU counts", o.budgets));
  const int64_t full = spec::count(c.base.model)->relus;
  for (size_t i = 0; i < o.budgets.size(); ++i)
    if (o.budgets[i] < 1 || o.budgets[i] >= full)
      return r.error(sr["budgets"][i], "search.budgets",
                     fmt::format("expected ReLU counts in 1..{} (the baseline has {}), got {}", full - 1, full,
                                 o.budgets[i]));
  if (o.budgets.empty()) return r.error(sr["budgets"], "search.budgets", "expected at least one budget");
  std::sort(o.budgets.begin(), o.budgets.end(), std::greater<int64_t>());
  if (std::adjacent_find(o.budgets.begin(), o.budgets.end()) != o.budgets.end())
    return r.error(sr["budgets"], "search.budgets", "a budget is listed twice");
  auto number = [&](const char* key, double& out, double lo, double hi, const char* what) -> Status {
    if (!sr[key]) return Status();
    DR_RETURN_IF_ERROR(r.scalar(sr[key], std::string("search.") + key, what, out));
    if (!(out >= lo && out <= hi)) return r.error(sr[key], std::string("search.") + key, std::string("expected ") + what);
    return Status();
  };
  auto integer = [&](const char* key, int64_t& out, int64_t lo, const char* what) -> Status {
    if (!sr[key]) return Status();
    DR_RETURN_IF_ERROR(r.scalar(sr[key], std::string("search.") + key, what, out));
    if (out < lo) return r.error(sr[key], std::string("search.") + key, std::string("expected ") + what);
    return Status();
  };
  DR_RETURN_IF_ERROR(number("lambda", o.lambda, 0, 1e6, "a number >= 0"));
  DR_RETURN_IF_ERROR(number("lambda_growth", o.lambda_growth, 1, 1e6, "a number >= 1"));
  DR_RETURN_IF_ERROR(integer("patience", o.patience, 0, "an epoch index >= 0"));
  DR_RETURN_IF_ERROR(number("threshold", o.threshold, 1e-9, 1 - 1e-9, "a number in (0, 1)"));
  DR_RETURN_IF_ERROR(integer("mask_epochs", o.mask_epochs, 1, "an integer >= 1"));
  DR_RETURN_IF_ERROR(number("mask_lr", o.mask_lr, 1e-12, 10, "a learning rate > 0"));
  DR_RETURN_IF_ERROR(number("alpha_lr", o.alpha_lr, 0, 10, "a learning rate >= 0 (0: mask_lr)"));
  DR_RETURN_IF_ERROR(integer("finetune_epochs", o.finetune_epochs, 1, "an integer >= 1"));
  DR_RETURN_IF_ERROR(number("finetune_lr", o.finetune_lr, 1e-12, 10, "a learning rate > 0"));
  return Status();
}

Presentation masked_presentation(SeriesStyle style) {
  Presentation p;
  p.series = {std::move(style)};
  p.budgets = [](const nlohmann::json& options) {
    auto o = masked_options_from_json(options);
    return o.ok() ? o->budgets : std::vector<int64_t>{};
  };
  return p;
}

std::unique_ptr<Strategy> masked_strategy(const SweepConfig& config, MaskedOptions options) {
  return std::make_unique<MaskedStrategy>(config, std::move(options));
}

std::vector<std::string> masked_warnings(const nlohmann::json& options) {
  std::vector<std::string> out;
  auto o = masked_options_from_json(options);
  if (!o.ok()) return out;
  // SNL's rule raises λ first after the epoch of 0-based index `patience`,
  // for the epochs after it: a cap at or below patience + 1 trains every
  // epoch at the initial λ, and every phase ends at its cap, cut to the
  // budget by the size of α rather than learned under a growing penalty.
  if (o->method == spec::LinearizeMethod::kSnl && o->mask_epochs <= o->patience + 1)
    out.push_back(fmt::format("search.mask_epochs {} is at or below search.patience {} + 1: the L1 weight never grows, so "
                              "every mask phase ends at its cap and is cut to its budget by the size of alpha, not "
                              "learned under SNL's growing penalty; raise mask_epochs above patience + 1",
                              o->mask_epochs, o->patience));
  return out;
}

Status load_masked(const nlohmann::json& options, SweepConfig&) { return masked_options_from_json(options).status(); }

Result<std::unique_ptr<Strategy>> make_masked(const SweepConfig& config, const nlohmann::json& options) {
  auto o = masked_options_from_json(options);
  if (!o.ok()) return o.status();
  return masked_strategy(config, *o);
}

}  // namespace deepreduce::search
