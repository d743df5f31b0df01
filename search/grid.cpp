// strategy: grid — every combination of culled stages, thinned stages, widths,
// resolutions, depths and KD (the full combined space of the paper's Sec. 3).
#include <algorithm>
#include <set>

#include "search/registry.h"
#include "spec/relu_plan.h"

namespace deepreduce::search {
namespace {

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

nlohmann::json options_of(const SweepConfig& c) {
  const auto& g = c.grid;
  return {{"cull", g.cull},   {"thin", g.thin}, {"alpha", g.alpha},
          {"rho", g.rho},     {"blocks", g.blocks}, {"kd", g.kd},
          {"thin_position", c.thin_position == spec::ThinPosition::kFirst ? "first" : "second"}};
}

Result<nlohmann::json> read(const ConfigReader& r, const YAML::Node& sr, SweepConfig& c) {
  auto& g = c.grid;
  DR_RETURN_IF_ERROR(read_reshaping(r, sr, c));
  if (sr["cull"]) DR_RETURN_IF_ERROR(r.list_of_lists(sr["cull"], "search.cull", "stage names", g.cull));
  if (sr["thin"]) DR_RETURN_IF_ERROR(r.list_of_lists(sr["thin"], "search.thin", "stage names", g.thin));
  const spec::ModelSpec& m = c.base.model;
  for (const char* key : {"cull", "thin"}) {
    const auto& sets = std::string(key) == "cull" ? g.cull : g.thin;
    for (size_t i = 0; i < sets.size(); ++i) {
      auto planned = std::string(key) == "cull" ? spec::cull(m, sets[i]) : spec::thin(m, sets[i], c.thin_position);
      if (!planned.ok()) return r.error(sr[key][i], std::string("search.") + key, planned.status().message());
    }
  }
  return options_of(c);
}

Status load(const nlohmann::json& o, SweepConfig& c) {
  try {
    auto& g = c.grid;
    g.cull = o.at("cull").get<std::vector<std::vector<std::string>>>();
    g.thin = o.at("thin").get<std::vector<std::vector<std::string>>>();
    g.alpha = o.at("alpha").get<std::vector<double>>();
    g.rho = o.at("rho").get<std::vector<double>>();
    g.blocks = o.at("blocks").get<std::vector<std::vector<int64_t>>>();
    g.kd = o.at("kd").get<std::vector<bool>>();
    auto position = spec::parse_thin_position(o.at("thin_position").get<std::string>());
    if (!position.ok()) return position.status();
    c.thin_position = *position;
  } catch (const nlohmann::json::exception& e) {
    return Status::corruption(std::string("grid options: ") + e.what());
  }
  return Status();
}

Result<std::unique_ptr<Strategy>> make(const SweepConfig& c, const nlohmann::json&) {
  return std::unique_ptr<Strategy>(std::make_unique<GridStrategy>(c));
}

}  // namespace

StrategyDef grid_strategy_def() {
  StrategyDef d;
  d.name = "grid";
  d.method = "DeepReDuce";
  d.presentation = deepreduce_presentation();
  d.summary = "every combination of culling, thinning, widths, resolutions, depths and KD";
  d.keys = {"cull", "thin", "alpha", "rho", "blocks", "kd", "thin_position"};
  d.halving = true;
  d.read = read;
  d.load = load;
  d.make = make;
  return d;
}

Result<std::vector<PlannedTrial>> grid_trials(const SweepConfig& c) {
  const auto& g = c.grid;
  const std::vector<double> alphas = g.alpha.empty() ? std::vector<double>{c.base.model.alpha} : g.alpha;
  const std::vector<double> rhos = g.rho.empty() ? std::vector<double>{c.base.model.rho} : g.rho;
  const std::vector<std::vector<int64_t>> depths =
      g.blocks.empty() ? std::vector<std::vector<int64_t>>{c.base.model.blocks} : g.blocks;
  std::vector<PlannedTrial> out;
  std::set<std::string> seen;
  auto add = [&](spec::TrialSpec spec, spec::Role role) {
    const std::string id = spec::trial_id(spec);
    if (seen.insert(id).second) out.push_back({std::move(spec), role});
    return id;
  };
  for (double alpha : alphas)
    for (double rho : rhos)
      for (const auto& blocks : depths) {
        spec::TrialSpec base;
        base.job = c.base;
        base.job.model.alpha = alpha;
        base.job.model.rho = rho;
        base.job.model.blocks = blocks;
        base.job.model.relu_off.clear();
        base.job.train.kd.teacher.clear();
        const bool any_kd = std::find(g.kd.begin(), g.kd.end(), true) != g.kd.end();
        std::string teacher;
        if (any_kd) teacher = add(base, spec::Role::kBaseline);  // the KD teacher: the all-ReLU network of this shape
        for (const auto& culled : g.cull)
          for (const auto& thinned : g.thin) {
            auto planned = spec::cull(base.job.model, culled);
            if (!planned.ok()) return planned.status();
            planned = spec::thin(*planned, thinned, c.thin_position);
            if (!planned.ok()) return planned.status();
            for (bool kd : g.kd) {
              spec::TrialSpec s = base;
              s.job.model = *planned;
              if (kd) s.teacher = teacher;
              add(s, s.job.model.relu_off.empty() && !kd ? spec::Role::kBaseline : spec::Role::kCandidate);
            }
          }
      }
  return out;
}

}  // namespace deepreduce::search
