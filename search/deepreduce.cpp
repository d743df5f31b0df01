// strategy: deepreduce — the paper's pipeline (Jha et al., ICML 2021, Sec. 3):
// the all-ReLU baseline; the criticality study (ReLUs in one stage only);
// culling the least critical stages; thinning the survivors; reshaping; every
// candidate without and with KD. Later phases open as results arrive.
#include <algorithm>
#include <fmt/format.h>
#include <cmath>

#include "search/registry.h"
#include "spec/counts.h"
#include "spec/relu_plan.h"

namespace deepreduce::search {

using spec::Role;
using spec::TrialSpec;
using storage::TrialState;

namespace {

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
      auto it = seen.find(spec::trial_id(spec));
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

  // The criticality ranking once every stage's network is done (the culling
  // order it gives), and which phases are open and why.
  std::vector<Decision> decisions(const Seen& seen) const override {
    std::vector<Decision> out;
    std::vector<std::string> order = c_.deepreduce.order;
    std::string why_open;
    if (c_.deepreduce.has("criticality")) {
      CriticalityTable table = criticality_table(c_, seen);
      if (!table.complete) return out;
      std::vector<CriticalityRow> rows = table.rows;
      std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.rank < b.rank; });
      order.clear();
      for (const auto& r : rows) order.push_back(r.stage);
      nlohmann::json value = to_json(table);
      value["order"] = order;
      const std::string listed = fmt::format("{}", fmt::join(order, ", "));
      out.push_back({"criticality", value,
                     "every stage's ReLUs-only network is trained " + std::string(c_.deepreduce.rank_with_kd ? "with" : "without") +
                         " KD: stages ranked by " + table.metric + ", least critical (culled first): " + listed});
      why_open = "the criticality ranking";
    } else {
      why_open = "the culling order the config gives (search.order)";
    }
    nlohmann::json opened = nlohmann::json::array();
    for (const char* phase : {"culling", "thinning", "reshaping"})
      if (c_.deepreduce.has(phase)) opened.push_back(phase);
    if (!opened.empty()) out.push_back({"phases", {{"opened", opened}, {"order", order}}, "opened on " + why_open});
    return out;
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
      const std::string list = fmt::format("{}", fmt::join(stages_of(c_), ","));
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
      spec::ModelSpec m = baseline.job.model;
      m.alpha = shape.alpha;
      m.rho = shape.rho;
      m.blocks = shape.blocks;
      std::vector<Reduction> reduced = reductions;
      // A reshaped network keeps every ReLU too: reshaping alone is a point of its own.
      if (shape.reshaped) reduced.insert(reduced.begin(), Reduction{{}, {}, Role::kReshaping});
      for (const auto& red : reduced) {
        auto planned = spec::cull(m, red.cull);
        if (planned.ok()) planned = spec::thin(*planned, red.thin, c_.thin_position);
        if (!planned.ok()) return planned.status();
        auto counts = spec::count(*planned);
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

nlohmann::json options_of(const SweepConfig& c) {
  const auto& dr = c.deepreduce;
  return {{"phases", dr.phases},
          {"metric", dr.metric},
          {"rank_with_kd", dr.rank_with_kd},
          {"order", dr.order},
          {"relu_budget", dr.relu_max > 0 ? nlohmann::json{dr.relu_min, dr.relu_max} : nlohmann::json(nullptr)},
          {"alpha", c.grid.alpha},
          {"rho", c.grid.rho},
          {"blocks", c.grid.blocks},
          {"kd", c.grid.kd},
          {"thin_position", c.thin_position == spec::ThinPosition::kFirst ? "first" : "second"}};
}

Result<nlohmann::json> read(const ConfigReader& r, const YAML::Node& sr, SweepConfig& c) {
  c.grid.kd = {false, true};  // the paper trains every candidate without and with KD
  auto& dr = c.deepreduce;
  if (sr["phases"]) {
    DR_RETURN_IF_ERROR(r.list(sr["phases"], "search.phases", "phase names", dr.phases));
    for (size_t i = 0; i < dr.phases.size(); ++i)
      if (dr.phases[i] != "criticality" && dr.phases[i] != "culling" && dr.phases[i] != "thinning" &&
          dr.phases[i] != "reshaping")
        return r.error(sr["phases"][i], "search.phases",
                       "expected criticality, culling, thinning or reshaping, got \"" + dr.phases[i] + "\"");
  }
  if (sr["metric"]) {
    DR_RETURN_IF_ERROR(r.scalar(sr["metric"], "search.metric", "a metric name", dr.metric));
    if (auto m = parse_metric(dr.metric); !m.ok()) return r.error(sr["metric"], "search.metric", m.status().message());
  }
  if (sr["rank_with_kd"]) DR_RETURN_IF_ERROR(r.scalar(sr["rank_with_kd"], "search.rank_with_kd", "true or false", dr.rank_with_kd));
  const auto stages = stages_of(c);
  if (sr["order"]) {
    DR_RETURN_IF_ERROR(r.list(sr["order"], "search.order", "stage names", dr.order));
    std::vector<std::string> sorted = dr.order, want = stages;
    std::sort(sorted.begin(), sorted.end());
    std::sort(want.begin(), want.end());
    if (sorted != want) {
      const std::string list = fmt::format("{}", fmt::join(stages, ", "));
      return r.error(sr["order"], "search.order", "expected every stage once (" + list + "), least critical first");
    }
  }
  if (!dr.has("criticality") && dr.order.empty() && (dr.has("culling") || dr.has("thinning") || dr.has("reshaping")))
    return r.error(sr, "search.order", "missing: without the criticality phase, say which stages to cull first");
  if (sr["relu_budget"]) {
    std::vector<int64_t> budget;
    DR_RETURN_IF_ERROR(r.list(sr["relu_budget"], "search.relu_budget", "two ReLU counts [min, max]", budget));
    if (budget.size() != 2 || budget[0] < 0 || budget[1] < budget[0])
      return r.error(sr["relu_budget"], "search.relu_budget", "expected [min, max] with 0 <= min <= max");
    dr.relu_min = budget[0];
    dr.relu_max = budget[1];
  }
  DR_RETURN_IF_ERROR(read_reshaping(r, sr, c));
  const auto& g = c.grid;
  if (dr.has("criticality") && std::find(g.kd.begin(), g.kd.end(), dr.rank_with_kd) == g.kd.end())
    return r.error(sr["kd"] ? sr["kd"] : sr, "search.kd",
                   std::string("stages are ranked by the accuracies ") + (dr.rank_with_kd ? "with" : "without") +
                       " KD (rank_with_kd), so kd must include " + (dr.rank_with_kd ? "true" : "false"));
  return options_of(c);
}

Status load(const nlohmann::json& o, SweepConfig& c) {
  try {
    auto& dr = c.deepreduce;
    dr.phases = o.at("phases").get<std::vector<std::string>>();
    dr.metric = o.at("metric").get<std::string>();
    dr.rank_with_kd = o.at("rank_with_kd").get<bool>();
    dr.order = o.at("order").get<std::vector<std::string>>();
    if (o.at("relu_budget").is_array()) {
      dr.relu_min = o["relu_budget"].at(0).get<int64_t>();
      dr.relu_max = o["relu_budget"].at(1).get<int64_t>();
    }
    c.grid.alpha = o.at("alpha").get<std::vector<double>>();
    c.grid.rho = o.at("rho").get<std::vector<double>>();
    c.grid.blocks = o.at("blocks").get<std::vector<std::vector<int64_t>>>();
    c.grid.kd = o.at("kd").get<std::vector<bool>>();
    auto position = spec::parse_thin_position(o.at("thin_position").get<std::string>());
    if (!position.ok()) return position.status();
    c.thin_position = *position;
    if (!parse_metric(dr.metric).ok()) return Status::corruption("deepreduce options: metric \"" + dr.metric + "\"");
  } catch (const nlohmann::json::exception& e) {
    return Status::corruption(std::string("deepreduce options: ") + e.what());
  }
  return Status();
}

Result<std::unique_ptr<Strategy>> make(const SweepConfig& c, const nlohmann::json&) {
  return std::unique_ptr<Strategy>(std::make_unique<DeepReduceStrategy>(c));
}

}  // namespace

Presentation deepreduce_presentation() {
  Presentation p;
  p.series = {{"DeepReDuce without KD", "#1f77b4", "circle"}, {"DeepReDuce with KD", "#ff7f0e", "square"}};
  p.kd_series = true;
  p.primary = true;
  return p;
}

StrategyDef deepreduce_strategy_def() {
  StrategyDef d;
  d.name = "deepreduce";
  d.method = "DeepReDuce";
  d.presentation = deepreduce_presentation();
  d.summary = "the paper's pipeline: criticality, culling, thinning, reshaping, each without and with KD";
  d.keys = {"phases", "metric", "rank_with_kd", "order", "relu_budget", "alpha", "rho", "blocks", "kd", "thin_position"};
  d.halving = true;
  d.read = read;
  d.load = load;
  d.make = make;
  return d;
}

std::vector<CriticalityTrial> criticality_trials(const TrialSpec& baseline, const std::vector<bool>& kd) {
  std::vector<CriticalityTrial> out;
  const std::string teacher = spec::trial_id(baseline);
  std::vector<std::pair<std::string, spec::ModelSpec>> networks;
  for (const auto& stage : spec::stage_names(*spec::resolve_unchecked(baseline.job.model).def))
    networks.push_back({stage, *spec::only(baseline.job.model, stage)});
  networks.push_back({"none", *spec::no_relus(baseline.job.model)});
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
  if (!has_method(config, "deepreduce") || !config.deepreduce.has("criticality")) return table;
  table.metric = config.deepreduce.metric;
  const TrialSpec baseline = baseline_trial(config);
  const auto counts = spec::count(baseline.job.model);
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
    auto it = seen.find(spec::trial_id(t.spec));
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

nlohmann::json to_json(const CriticalityTable& t) {
  auto opt = [](const std::optional<double>& x) { return x ? nlohmann::json(*x) : nlohmann::json(nullptr); };
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : t.rows)
    rows.push_back({{"stage", r.stage}, {"relus", r.relus}, {"top1", opt(r.top1)}, {"top1_kd", opt(r.top1_kd)},
                    {"score", opt(r.score)}, {"rank", r.rank}});
  return {{"metric", t.metric}, {"complete", t.complete}, {"none_top1", opt(t.none_top1)},
          {"none_top1_kd", opt(t.none_top1_kd)}, {"rows", rows}};
}

CriticalityTable criticality_table_from_json(const nlohmann::json& j) {
  auto opt = [](const nlohmann::json& x) { return x.is_number() ? std::optional<double>(x.get<double>()) : std::nullopt; };
  CriticalityTable t;
  if (!j.is_object()) return t;
  t.metric = j.value("metric", std::string());
  t.complete = j.value("complete", false);
  if (j.contains("none_top1")) t.none_top1 = opt(j["none_top1"]);
  if (j.contains("none_top1_kd")) t.none_top1_kd = opt(j["none_top1_kd"]);
  if (j.contains("rows") && j["rows"].is_array())
    for (const auto& r : j["rows"]) {
      if (!r.is_object()) continue;
      CriticalityRow row;
      row.stage = r.value("stage", std::string());
      row.relus = r.value("relus", int64_t{0});
      row.top1 = opt(r.value("top1", nlohmann::json()));
      row.top1_kd = opt(r.value("top1_kd", nlohmann::json()));
      row.score = opt(r.value("score", nlohmann::json()));
      row.rank = r.value("rank", 0);
      t.rows.push_back(row);
    }
  return t;
}

}  // namespace deepreduce::search
