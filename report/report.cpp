#include "report/report.h"

#include "report/figures.h"
#include "search/registry.h"
#include "report/text.h"
#include "search/revise.h"

#include <algorithm>
#include <functional>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <string_view>
#include <type_traits>

#include <fmt/format.h>

#include "common/format.h"
#include "common/nearest.h"
#include "common/table.h"
#include "spec/counts.h"
#include "spec/relu_plan.h"
#include "common/files.h"

namespace deepreduce::report {
namespace {

using search::Seen;
using search::StrategyDef;
using storage::TrialState;
using text::esc;
using text::top1_text;

std::string opt(const std::optional<double>& x, int digits = 2) { return x ? fmt::format("{:.{}f}", *x, digits) : "-"; }

// The strategy that planned a trial (search/registry.h). Trials of earlier
// stores name none: a pruned network is channel_pruning's, any other deepreduce's.
const StrategyDef& strategy_of(const spec::TrialSpec& spec) {
  // Stores from before SENet's measured shares named the uniform variant
  // "senet": its mask phases set uniform shares, its fine-tunings distil
  // logits only. They are the ablation's.
  if (spec.strategy == "senet" &&
      ((spec.role == spec::Role::kMask && spec.job.train.linearize.method == spec::LinearizeMethod::kSenetUniform) ||
       (spec.role == spec::Role::kFinetune && spec.job.train.kd.at_weight == 0)))
    return **search::find_strategy("senet_uniform");
  if (!spec.strategy.empty())
    if (auto def = search::find_strategy(spec.strategy); def.ok()) return **def;
  return **search::find_strategy(spec.prune ? "channel_pruning" : "deepreduce");
}

// How a method's networks are shown; a method no strategy draws (none
// today) is shown plainly.
const search::Presentation& presentation_of(const std::string& method) {
  static const search::Presentation kPlain;
  const StrategyDef* def = search::strategy_of_method(method);
  return def ? def->presentation : kPlain;
}

}  // namespace

Result<Report> build_report(storage::Store& store) {
  Report r;
  auto experiments = store.list_experiments();
  if (!experiments.ok()) return experiments.status();
  r.experiments = *experiments;
  for (const auto& e : r.experiments) {
    if (e.revision <= 1) continue;
    auto decisions = store.list_decisions(e.name);
    if (!decisions.ok()) return decisions.status();
    for (const auto& rev : search::revision_history(*decisions))
      r.revisions.push_back("experiment " + e.name + " revision " + std::to_string(rev.revision) + ": " + rev.text);
  }
  auto rows = storage::trial_rows(store, method_of);
  if (!rows.ok()) return rows.status();
  r.trials = *rows;
  auto records = store.list_trials();
  if (!records.ok()) return records.status();
  // What the strategy would observe, from what was just read (no second pass over the store).
  Seen seen;
  std::map<std::string, storage::TrialRecord> by_id;
  for (const auto& t : *records) by_id[t.id] = t;
  // Decisions as the strategy made them: on validation top-1 where trials held a split out.
  for (const auto& row : r.trials) {
    search::Observation& o = seen[row.id];
    o.state = by_id[row.id].state;
    o.top1 = row.val_top1 ? row.val_top1 : row.top1;
    r.validation |= row.val_top1.has_value();
  }
  std::map<std::string, int64_t> epochs_of;
  for (const auto& row : r.trials) epochs_of[row.id] = row.epochs;
  std::map<std::string, ReportPoint> point_of;
  for (const auto& row : r.trials) {
    const auto& t = by_id[row.id];
    if (t.state != TrialState::kDone || !row.top1) continue;
    // Epochs this trial trained itself (as its result counts them: a mask
    // phase stops at its budget): a continued rung resumed its base's.
    int64_t own = row.epochs;
    if (t.spec.continues_base() && epochs_of.count(t.spec.base)) own -= epochs_of[t.spec.base];
    r.trained_epochs += own;
    r.epochs_by_method[strategy_of(t.spec).method] += own;
    if (!t.retired.empty()) {  // no config in the store plans it any more
      ++r.retired;
      continue;
    }
    if (!search::full_fidelity(t.spec) || t.spec.kind != spec::TrialKind::kTrain || !spec::role_is_network(t.spec.role)) continue;
    ReportPoint p;
    p.id = row.id;
    p.plan = row.plan;
    p.relus = row.relus;
    p.macs = row.macs;
    p.params = row.params;
    p.top1 = *row.top1;
    p.val_top1 = row.val_top1;
    p.alpha = row.alpha;
    p.rho = row.rho;
    p.kd = row.kd;
    const StrategyDef& def = strategy_of(t.spec);
    p.method = def.method;
    // A network trained under a learned mask: how its mask phase ended.
    if (t.spec.job.model.masks && !t.spec.job.model.masks->learnable && !t.spec.base.empty())
      if (auto res = store.get_result(t.spec.base); res.ok() && *res)
        if (auto o = spec::trial_result_from_json(**res).mask_outcome) p.mask_note = spec::mask_outcome_text(*o);
    const auto& series = def.presentation.series;
    p.series = series.empty() ? p.method : def.presentation.kd_series && p.kd ? series.back().name : series.front().name;
    r.points.push_back(p);
    point_of[p.id] = p;
  }

  // With train.seeds a network was trained once per seed: one point per
  // network (the same spec but for the seed, its teacher and base the same
  // networks), with the mean and the spread. The front is built on means.
  std::map<std::string, std::string> network_memo;
  std::function<std::string(const std::string&)> network_of = [&](const std::string& id) -> std::string {
    if (id.empty()) return "";
    if (auto it = network_memo.find(id); it != network_memo.end()) return it->second;
    auto rec = by_id.find(id);
    if (rec == by_id.end()) return id;
    spec::TrialSpec spec = rec->second.spec;
    spec.job.train.seed = 0;
    spec.teacher = network_of(spec.teacher);
    spec.base = network_of(spec.base);
    // Each seed learns its own mask: the same network whatever its units (its base says which budget).
    if (spec.job.model.masks && !spec.job.model.masks->learnable) {
      spec.job.model.masks->kept.clear();
      spec.job.model.masks->digest.clear();
    }
    return network_memo[id] = spec::trial_id(spec);
  };
  {
    std::vector<std::string> order;
    std::map<std::string, std::vector<ReportPoint>> groups;
    for (const auto& p : r.points) {
      const std::string key = network_of(p.id);
      if (!groups.count(key)) order.push_back(key);
      groups[key].push_back(p);
    }
    std::vector<ReportPoint> merged;
    for (const auto& key : order) {
      auto& g = groups[key];
      std::sort(g.begin(), g.end(), [&](const ReportPoint& a, const ReportPoint& b) {
        return by_id[a.id].spec.job.train.seed < by_id[b.id].spec.job.train.seed;
      });
      ReportPoint m = g.front();
      m.seeds = static_cast<int>(g.size());
      double sum = 0, val_sum = 0;
      bool all_val = true;
      for (const auto& p : g) {
        m.seed_ids.push_back(p.id);
        if (&p != &g.front() && p.mask_note != g.front().mask_note && !p.mask_note.empty())
          m.mask_note += "; seed " + std::to_string(by_id[p.id].spec.job.train.seed) + ": " + p.mask_note;
        sum += p.top1;
        if (p.val_top1) val_sum += *p.val_top1; else all_val = false;
      }
      m.top1 = sum / static_cast<double>(g.size());
      m.val_top1 = all_val ? std::optional<double>(val_sum / static_cast<double>(g.size())) : std::nullopt;
      if (g.size() > 1) {
        double ss = 0;
        for (const auto& p : g) ss += (p.top1 - m.top1) * (p.top1 - m.top1);
        m.top1_std = std::sqrt(ss / static_cast<double>(g.size() - 1));
      }
      for (const auto& p : g) point_of[p.id] = m;
      merged.push_back(m);
    }
    r.points = std::move(merged);
  }

  // Each method's front: the primary methods' first, the baselines' last,
  // the others between in the order their networks come. The report's
  // headline front is the first that is not a baseline's.
  {
    auto rank = [](const std::string& method) {
      const search::Presentation& p = presentation_of(method);
      return p.primary ? 0 : p.baseline ? 2 : 1;
    };
    std::vector<std::string> methods;
    for (int place : {0, 1, 2})
      for (const auto& p : r.points)
        if (rank(p.method) == place && std::find(methods.begin(), methods.end(), p.method) == methods.end())
          methods.push_back(p.method);
    for (const auto& m : methods) {
      auto f = front_of(r.points, [&](const ReportPoint& p) { return p.method == m; },
                        [](const ReportPoint& p) { return p.relus; });
      if (!f.empty()) r.fronts.push_back({m, f});
    }
  }
  const auto relus_of = [](const ReportPoint& p) { return p.relus; };
  r.front = front_of(r.points, [](const ReportPoint&) { return true; }, relus_of);
  r.compared_front = front_of(
      r.points, [](const ReportPoint& p) { return !presentation_of(p.method).baseline; }, relus_of);

  // The baseline as its experiment marked it when it was planned.
  for (const auto& [id, t] : by_id)
    if (!r.baseline && t.spec.role == spec::Role::kBaseline && point_of.count(id)) r.baseline = point_of[id];
  // What the stored configs add: the criticality study, references, pruning.
  // They are the parsed configs the store keeps (never the YAML), and the
  // decisions the strategies stored: the report needs no dataset on its host.
  std::set<std::string> pruning_seen;
  bool protocol_set = false;
  for (const auto& e : r.experiments) {
    if (e.config.is_null()) continue;  // a trial list
    auto config = search::sweep_config_from_json(e.config);
    if (!config.ok()) return config.status().with_context("experiment " + e.name);
    if (r.task.empty()) {
      const auto& b = config->base;
      r.task = b.model.arch + " on " + b.data.dataset + ", " + std::to_string(b.train.epochs) + (b.train.epochs == 1 ? " epoch" : " epochs");
      if (config->seeds.size() > 1) r.task += ", " + std::to_string(config->seeds.size()) + " seeds";
    }
    const std::string base_id = spec::trial_id(search::baseline_trial(*config));
    if (!r.baseline && point_of.count(base_id)) r.baseline = point_of[base_id];
    if (r.criticality.rows.empty()) {
      // The ranking as the strategy decided it (a stored decision); before it
      // decided, the accuracies seen so far, as it sees them (with
      // train.seeds, the mean over seeds).
      auto decisions = store.list_decisions(e.name);
      if (!decisions.ok()) return decisions.status();
      for (const auto& d : *decisions)
        if (d.key == "criticality") r.criticality = search::criticality_table_from_json(d.value);
      if (r.criticality.rows.empty()) {
        auto strategy = search::make_strategy(*config);
        if (!strategy.ok()) return strategy.status().with_context("experiment " + e.name);
        r.criticality = search::criticality_table(*config, (*strategy)->decision_view(seen));
      }
    }
    for (const auto& m : config->methods) {
      auto def = search::find_strategy(m.strategy);
      if (!def.ok() || !(*def)->presentation.budgets) continue;
      for (int64_t b : (*def)->presentation.budgets(m.options))
        if (std::find(r.budgets.begin(), r.budgets.end(), b) == r.budgets.end()) r.budgets.push_back(b);
    }
    std::sort(r.budgets.begin(), r.budgets.end());
    if (!protocol_set) {
      r.protocol = config->pi;
      protocol_set = true;
    }
    // Published figures are drawn only beside an experiment on their task.
    const std::string& dataset = config->base.data.dataset;
    const std::string& arch = config->base.model.arch;
    for (const auto& q : config->references) {
      if ((!q.dataset.empty() && q.dataset != dataset) || (!q.arch.empty() && q.arch != arch)) {
        const std::string what = (q.set.empty() ? q.series : q.set) + " (" +
                                 (q.arch.empty() ? "any architecture" : q.arch) + " on " +
                                 (q.dataset.empty() ? "any dataset" : q.dataset) + ")";
        if (std::find(r.references_left_out.begin(), r.references_left_out.end(), what) == r.references_left_out.end())
          r.references_left_out.push_back(what);
        continue;
      }
      const bool seen_before = std::any_of(r.references.begin(), r.references.end(), [&](const search::ReferencePoint& o) {
        return o.series == q.series && o.label == q.label && o.relus == q.relus && o.top1 == q.top1;
      });
      if (!seen_before) r.references.push_back(q);
    }
  }
  // What each network would cost under the protocol, and the front in those terms.
  for (auto& p : r.points) {
    auto c = spec::count(by_id[p.id].spec.job.model);
    p.relu_layers = c.ok() ? spec::relu_layers(*c) : 0;
    p.pi = spec::pi_cost(r.protocol, p.relus, p.macs, p.relu_layers);
    point_of[p.id] = p;
  }
  for (auto& f : r.front) f = point_of[f.id];
  for (auto& f : r.compared_front) f = point_of[f.id];
  for (auto& mf : r.fronts)
    for (auto& f : mf.points) f = point_of[f.id];
  if (r.baseline) r.baseline = point_of[r.baseline->id];
  std::vector<Point> by_latency;
  for (const auto& p : r.points)
      by_latency.push_back({static_cast<int64_t>(std::llround(p.pi.online_seconds * 1e9)), p.top1, p.id});
  for (const auto& f : pareto_front(by_latency)) r.latency_front.push_back(point_of[f.id]);
  for (const auto& p : r.points) {
    const search::Presentation& shown = presentation_of(p.method);
    if (!shown.baseline || pruning_seen.count(p.id)) continue;
    pruning_seen.insert(p.id);
    const auto& t = by_id[p.id];
    PruningRow row;
    row.method = shown.row_label ? shown.row_label(t.spec, p.kd) : p.method + (p.kd ? " + KD" : "");
    if (point_of.count(t.spec.base)) row.baseline_top1 = point_of[t.spec.base].top1;
    row.pruned = p;
    // The network of the other methods' front nearest in MACs (the paper
    // compares at similar FLOPs). Of equally near ones, the most accurate.
    for (const auto& f : r.compared_front) {
      const int64_t d = std::llabs(f.macs - p.macs);
      if (!row.nearest || d < std::llabs(row.nearest->macs - p.macs) ||
          (d == std::llabs(row.nearest->macs - p.macs) && f.top1 > row.nearest->top1))
        row.nearest = f;
    }
    r.pruning.push_back(row);
  }
  if (!r.front.empty()) {
    int64_t ref = 1;
    for (const auto& p : r.points) ref = std::max(ref, p.relus);
    // Dominated networks add no volume: the front's is the whole set's.
    std::vector<Point> front;
    for (const auto& p : r.front) front.push_back({p.relus, p.val_top1.value_or(p.top1), p.id});
    r.hypervolume = hypervolume(front, ref * 10, 0.0);
  }
  return r;
}

nlohmann::json front_json(const Report& r) {
  auto point = [&](const ReportPoint& p) {
    return nlohmann::json{{"id", p.id},         {"plan", p.plan},   {"series", p.series}, {"method", p.method},
                          {"relus", p.relus},
                          {"macs", p.macs},     {"params", p.params}, {"top1", p.top1},   {"alpha", p.alpha},
                          {"rho", p.rho},       {"kd", p.kd},       {"relu_layers", p.relu_layers},
                          {"pi", spec::to_json(p.pi)}};
  };
  nlohmann::json front = nlohmann::json::array(), latency = nlohmann::json::array();
  for (const auto& p : r.front) front.push_back(point(p));
  for (const auto& p : r.latency_front) latency.push_back(point(p));
  nlohmann::json fronts = nlohmann::json::object();
  for (const auto& f : r.fronts) {
    fronts[f.method] = nlohmann::json::array();
    for (const auto& p : f.points) fronts[f.method].push_back(point(p));
  }
  return {{"front", front}, {"fronts", fronts}, {"latency_front", latency}, {"protocol", r.protocol.name},
          {"hypervolume", r.hypervolume}, {"baseline", r.baseline ? point(*r.baseline) : nlohmann::json(nullptr)}};
}

std::vector<ReportPoint> front_of(const std::vector<ReportPoint>& points,
                                  const std::function<bool(const ReportPoint&)>& keep,
                                  const std::function<int64_t(const ReportPoint&)>& x) {
  std::vector<Point> pts;
  std::map<std::string, const ReportPoint*> by_id;
  for (const auto& p : points)
    if (keep(p)) {
      pts.push_back({x(p), p.val_top1.value_or(p.top1), p.id});
      by_id[p.id] = &p;
    }
  std::vector<ReportPoint> out;
  for (const auto& f : pareto_front(pts)) out.push_back(*by_id[f.id]);
  return out;
}

std::optional<ReportPoint> own_baseline(const Report& r, const ReportPoint& p) {
  // The all-ReLU network of the same width and resolution, trained without
  // KD where there is one (the baseline every mask phase and KD starts from).
  std::optional<ReportPoint> out;
  for (const auto& q : r.points) {
    if (q.plan != "all" || q.alpha != p.alpha || q.rho != p.rho) continue;
    if (!out || (out->kd && !q.kd)) out = q;
  }
  return out;
}

std::optional<ReportPoint> best_under(const Report& r, int64_t budget, const std::string& method) {
  std::optional<ReportPoint> best;
  auto decided = [](const ReportPoint& p) { return p.val_top1.value_or(p.top1); };
  for (const auto& p : r.points) {
    if (p.relus > budget || (!method.empty() && p.method != method)) continue;
    if (!best || decided(p) > decided(*best) || (decided(p) == decided(*best) && p.relus < best->relus)) best = p;
  }
  return best;
}

std::string method_of(const spec::TrialSpec& spec) { return strategy_of(spec).method; }

std::vector<std::string> methods_of(const Report& r) {
  std::vector<std::string> out;
  for (const auto& f : r.fronts) out.push_back(f.method);
  return out;
}

std::string front_text(const Report& r) { return front_text(r.front, r.validation); }

std::string front_text(const std::vector<ReportPoint>& front, bool validation) {
  TextTable t({"trial", "method", "plan", "alpha", "rho", "KD", "ReLUs", "MACs", validation ? "test top-1" : "top-1"});
  for (const auto& p : front)
    t.add({p.id.substr(0, 12), p.method, p.plan, fmt::format("{:g}", p.alpha), fmt::format("{:g}", p.rho),
           p.kd ? "yes" : "no", with_commas(p.relus), with_commas(p.macs), top1_text(p)});
  return t.render();
}

std::string pareto_csv(const Report& r) {
  // Every method's front, each point naming its method and whether it is on
  // the experiment's front (every point of that is on its method's front).
  std::set<std::string> overall;
  for (const auto& p : r.front) overall.insert(p.id);
  std::string out =
      "id,plan,alpha,rho,kd,relus,macs,params,top1,relu_layers,protocol,online_seconds,online_bytes,offline_seconds,"
      "offline_bytes,seeds,top1_std,method,on_front\n";
  for (const auto& f : r.fronts)
    for (const auto& p : f.points)
      fmt::format_to(std::back_inserter(out),
                     "{},{},{:g},{:g},{},{},{},{},{:.4f},{},{},{:.6g},{:.6g},{:.6g},{:.6g},{},{:.4f},{},{}\n", p.id,
                     csv_field(p.plan), p.alpha, p.rho, p.kd ? "true" : "false", p.relus, p.macs, p.params, p.top1,
                     p.relu_layers, csv_field(r.protocol.name), p.pi.online_seconds, p.pi.online_bytes,
                     p.pi.offline_seconds, p.pi.offline_bytes, p.seeds, p.top1_std, csv_field(f.method),
                     overall.count(p.id) ? "true" : "false");
  return out;
}

std::string criticality_csv(const Report& r) {
  // With a validation split the study (a decision) is on validation accuracies.
  std::string out = r.validation ? "stage,relus,val_top1,val_top1_kd,score,rank\n" : "stage,relus,top1,top1_kd,score,rank\n";
  auto f4 = [](const std::optional<double>& x) { return x ? fmt::format("{:.4f}", *x) : std::string(); };
  for (const auto& row : r.criticality.rows)
    fmt::format_to(std::back_inserter(out), "{},{},{},{},{},{}\n", row.stage, row.relus, f4(row.top1), f4(row.top1_kd),
                   row.score ? fmt::format("{:.6g}", *row.score) : "", row.rank ? std::to_string(row.rank) : "");
  fmt::format_to(std::back_inserter(out), "none,0,{},{},,\n", f4(r.criticality.none_top1), f4(r.criticality.none_top1_kd));
  return out;
}


namespace {

// Appends every part to `s` (a document built piece by piece).
template <class... Parts>
void append(std::string& s, const Parts&... parts) {
  static_assert((std::is_convertible_v<const Parts&, std::string_view> && ...), "append() takes text, not numbers");
  ((s += parts), ...);
}

// One row of cells, each escaped and wrapped as <tag>...</tag>.
std::string html_row(const std::vector<std::string>& cells, const char* tag) {
  std::string out = "<tr>";
  for (const auto& c : cells) fmt::format_to(std::back_inserter(out), "<{0}>{1}</{0}>", tag, esc(c));
  return out + "</tr>\n";
}

std::string html_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::string out = "<table>" + html_row(header, "th");
  for (const auto& row : rows) out += html_row(row, "td");
  return out + "</table>\n";
}

std::string md_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  auto line = [](const std::vector<std::string>& cells) { return fmt::format("| {} |\n", fmt::join(cells, " | ")); };
  std::string out = line(header) + "|" + std::string(header.empty() ? "" : "---|");
  for (size_t i = 1; i < header.size(); ++i) out += "---|";
  out += "\n";
  for (const auto& row : rows) out += line(row);
  return out;
}

struct Tables {
  std::vector<std::string> front_h = {"trial", "method", "plan", "alpha", "rho", "KD", "ReLUs", "MACs", "top-1"};
  std::vector<std::vector<std::string>> front;
  // Each method's own front.
  std::vector<std::string> method_front_h = {"trial", "plan", "alpha", "rho", "KD", "ReLUs", "ReLU layers", "MACs",
                                             "top-1"};
  struct MethodRows {
    std::string method;
    std::vector<std::vector<std::string>> rows;
    bool masked = false;  // a last column says how each network's mask phase ended
  };
  std::vector<MethodRows> method_fronts;
  std::vector<std::string> method_front_h_of(const MethodRows& m) const {
    auto h = method_front_h;
    if (m.masked) h.push_back("mask phase");
    return h;
  }
  std::vector<std::string> crit_h = {"stage", "ReLUs", "top-1 without KD", "top-1 with KD", "C_k", "rank"};
  std::vector<std::vector<std::string>> crit;
  std::vector<std::string> prune_h = {"method", "baseline top-1", "pruned top-1", "change", "MACs", "ReLUs",
                                      "nearest in MACs", "its MACs", "its ReLUs", "its top-1"};
  std::string prune_title;  // "Channel pruning against DeepReDuce"
  std::vector<std::vector<std::string>> prune;
  std::vector<std::string> ref_h = {"series", "label", "ReLUs", "MACs", "top-1", "source"};
  std::vector<std::vector<std::string>> refs;
  std::vector<std::string> headline;
  // At each ReLU budget of a learned-linearization method: each method's best
  // network within it (chosen on validation top-1 where held out), and the winner.
  std::vector<std::string> budget_h;
  std::vector<std::vector<std::string>> budget_rows;
};

Tables tables(const Report& r) {
  Tables t;
  if (r.validation) {
    t.crit_h = {"stage", "ReLUs", "val top-1 without KD", "val top-1 with KD", "C_k", "rank"};
    t.front_h.back() = "test top-1";  // chosen on validation top-1, quoted on test
  }
  for (const auto& p : r.front)
    t.front.push_back({p.id.substr(0, 12), p.method, p.plan, fmt::format("{:g}", p.alpha), fmt::format("{:g}", p.rho),
                       p.kd ? "yes" : "no", with_commas(p.relus), with_commas(p.macs), top1_text(p)});
  t.prune_h[6] = "nearest in MACs on the other methods' front";
  {
    std::vector<std::string> baselines;
    for (const auto& row : r.pruning)
      if (std::find(baselines.begin(), baselines.end(), row.pruned.method) == baselines.end())
        baselines.push_back(row.pruned.method);
    t.prune_title = fmt::format("{} against the other methods", fmt::join(baselines, " and "));
    if (!t.prune_title.empty()) t.prune_title[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(t.prune_title[0])));
  }
  for (const auto& f : r.fronts) {
    // A learned mask's networks say how their mask phase ended.
    const bool masked = std::any_of(f.points.begin(), f.points.end(), [](const ReportPoint& p) { return !p.mask_note.empty(); });
    std::vector<std::vector<std::string>> rows;
    for (const auto& p : f.points) {
      rows.push_back({p.id.substr(0, 12), p.plan, fmt::format("{:g}", p.alpha), fmt::format("{:g}", p.rho),
                      p.kd ? "yes" : "no", with_commas(p.relus), std::to_string(p.relu_layers), with_commas(p.macs),
                      top1_text(p)});
      if (masked) rows.back().push_back(p.mask_note.empty() ? "-" : "its mask phase " + p.mask_note);
    }
    t.method_fronts.push_back({f.method, rows, masked});
  }
  if (r.validation) t.method_front_h.back() = "test top-1";
  if (!r.budgets.empty()) {
    t.budget_h = {"ReLU budget"};
    for (const auto& f : r.fronts) t.budget_h.push_back(f.method + (r.validation ? " (test top-1, ReLUs)" : " (top-1, ReLUs)"));
    t.budget_h.push_back(r.validation ? "best on validation" : "best");
    t.budget_h.push_back("its trial");
    for (int64_t budget : r.budgets) {
      std::vector<std::string> row = {with_commas(budget)};
      for (const auto& f : r.fronts) {
        auto pick = best_under(r, budget, f.method);
        std::string cell = pick ? top1_text(*pick) + " at " + with_commas(pick->relus) : "-";
        if (pick)
          if (auto base = own_baseline(r, *pick); base && base->id != pick->id)
            cell += fmt::format(" ({:+.2f} from its baseline)", pick->top1 - base->top1);
        row.push_back(cell);
      }
      auto best = best_under(r, budget);
      row.push_back(best ? best->method : "-");
      row.push_back(best ? best->id.substr(0, 12) : "-");
      t.budget_rows.push_back(row);
    }
  }
  for (const auto& row : r.criticality.rows)
    t.crit.push_back({row.stage, with_commas(row.relus), opt(row.top1), opt(row.top1_kd), opt(row.score, 4),
                      row.rank ? std::to_string(row.rank) : "-"});
  if (!r.criticality.rows.empty())
    t.crit.push_back({"none", "0", opt(r.criticality.none_top1), opt(r.criticality.none_top1_kd), "", ""});
  for (const auto& row : r.pruning) {
    std::vector<std::string> cells = {row.method, opt(row.baseline_top1), fmt::format("{:.2f}", row.pruned.top1),
                                      row.baseline_top1 ? fmt::format("{:+.2f}", row.pruned.top1 - *row.baseline_top1) : "-",
                                      with_commas(row.pruned.macs), with_commas(row.pruned.relus)};
    if (row.nearest) {
      cells.insert(cells.end(), {row.nearest->plan + (row.nearest->kd ? " + KD" : ""), with_commas(row.nearest->macs),
                                 with_commas(row.nearest->relus), fmt::format("{:.2f}", row.nearest->top1)});
    } else {
      cells.insert(cells.end(), {"-", "-", "-", "-"});
    }
    t.prune.push_back(cells);
  }
  for (const auto& q : r.references)
    t.refs.push_back({q.series, q.label, with_commas(q.relus), q.macs ? with_commas(q.macs) : "-",
                      fmt::format("{:.2f}", q.top1), q.source});
  // Headline figures, in the paper's form.
  int64_t done = 0;
  for (const auto& row : r.trials) done += row.state == "done";
  t.headline.push_back(std::to_string(r.trials.size()) + " trials, " + std::to_string(done) + " done, " +
                       std::to_string(r.points.size()) + " trained to their full schedule, " +
                       std::to_string(r.trained_epochs) + " epochs trained in all." +
                       (r.retired ? " " + counted(r.retired, "done trial") + " no revised config plans any more " +
                                        (r.retired == 1 ? "is" : "are") + " left out."
                                  : ""));
  // Selection without the test set is the honest kind; without a held-out
  // split, say plainly that the test set chose too.
  if (!r.validation && !r.points.empty())
    t.headline.push_back("No validation split was held out (dataset.val_split): the fronts, the criticality "
                         "ranking and every best network were chosen on test top-1, the accuracy quoted.");
  if (r.epochs_by_method.size() > 1) {
    // And per network it ended with (a candidate, a fine-tuned network; seeds
    // of one network count once each): what a point of its front cost.
    std::map<std::string, int64_t> networks;
    for (const auto& p : r.points) networks[p.method] += p.seeds;
    std::string per;
    for (const auto& [method, epochs] : r.epochs_by_method) {
      per += (per.empty() ? "" : ", ") + method + " " + counted(epochs, "epoch");
      if (networks[method] > 0)
        per += fmt::format(" ({:.1f} per network it ended with)",
                           static_cast<double>(epochs) / static_cast<double>(networks[method]));
    }
    t.headline.push_back("Epochs trained per method (the trials each planned): " + per + ".");
  }
  for (const auto& line : r.revisions) t.headline.push_back(line + ".");
  if (!r.front.empty()) {
    const std::string span =
        r.front.size() == 1
            ? "at " + with_commas(r.front.front().relus) + " ReLUs, " + fmt::format("{:.2f}", r.front.front().top1) + "%"
            : "from " + with_commas(r.front.front().relus) + " ReLUs at " + fmt::format("{:.2f}", r.front.front().top1) +
                  "% to " + with_commas(r.front.back().relus) + " ReLUs at " + fmt::format("{:.2f}", r.front.back().top1) + "%";
    // How many networks of each method are on it, in the order of the fronts.
    std::vector<std::string> by_method;
    for (const auto& f : r.fronts) {
      const auto n = std::count_if(r.front.begin(), r.front.end(), [&](const ReportPoint& p) { return p.method == f.method; });
      if (n) by_method.push_back(f.method + " " + std::to_string(n));
    }
    t.headline.push_back("Pareto front of every method: " + counted(static_cast<int64_t>(r.front.size()), "network") +
                         " (" + fmt::format("{}", fmt::join(by_method, ", ")) + "), " + span + "; hypervolume " +
                         fmt::format("{:.3f}", r.hypervolume) + " (log10 ReLUs x top-1).");
  }
  if (r.baseline) {
    t.headline.push_back("All-ReLU baseline: " + with_commas(r.baseline->relus) + " ReLUs, " +
                         fmt::format("{:.2f}", r.baseline->top1) + "% top-1.");
    for (int drop : {0, 1, 2}) {
      // The network of the front with the fewest ReLUs at this accuracy or better.
      const double target = r.baseline->top1 - drop;
      const ReportPoint* fewest = nullptr;
      for (const auto& p : r.front)
        if (p.top1 >= target && (!fewest || p.relus < fewest->relus)) fewest = &p;
      if (!fewest) continue;
      const std::string where = drop == 0   ? "At the baseline's accuracy or better"
                                : drop == 1 ? "Within 1 point of the baseline"
                                            : "Within " + std::to_string(drop) + " points of the baseline";
      const std::string which = " (" + fewest->method + ": " + fewest->plan + ")";
      if (fewest->relus > 0)
        t.headline.push_back(where + ": " + with_commas(fewest->relus) + " ReLUs" + which + ", " +
                             fmt::format("{:.1f}", static_cast<double>(r.baseline->relus) / fewest->relus) +
                             " times fewer.");
      else  // a network without a single ReLU gets there: this task needs no nonlinearity
        t.headline.push_back(where + ": a network with no ReLUs at all" + which +
                             " (a linear network suffices for this task at this accuracy).");
    }
  }
  if (!r.pruning.empty()) {
    // Each baseline network against the other methods' front and against its own method's networks.
    std::vector<Point> front;
    for (const auto& p : r.compared_front) front.push_back({p.relus, p.top1, p.id});
    for (const auto& row : r.pruning) {
      std::vector<Point> pruned;
      for (const auto& other : r.pruning)
        if (other.pruned.method == row.pruned.method)
          pruned.push_back({other.pruned.relus, other.pruned.top1, other.pruned.id});
      auto saving = relu_saving_at_accuracy(front, pruned, row.pruned.top1);
      auto ours = relus_for_accuracy(front, row.pruned.top1);
      if (saving && ours)
        t.headline.push_back("At the accuracy of " + row.method + " (" + fmt::format("{:.2f}", row.pruned.top1) +
                             "%), the other methods' front needs " + with_commas(*ours) + " ReLUs, " +
                             row.pruned.method + " " + with_commas(*relus_for_accuracy(pruned, row.pruned.top1)) +
                             (*ours == 0 ? ": no ReLU at all is needed." : ": a ReLU saving of " + fmt::format("{:.2f}", *saving) + "x."));
      if (auto gain = accuracy_gain_at_relus(front, pruned, row.pruned.relus))
        t.headline.push_back("With at most the ReLUs of " + row.method + " (" + with_commas(row.pruned.relus) +
                             "), the other methods' best network scores " + fmt::format("{:+.2f}", *gain) +
                             " points against " + row.pruned.method + "'s best there.");
    }
  }
  // Each search method against each other method: its iso-ReLU accuracy gain
  // at the other's front ReLU counts, and its ReLU saving at the other's
  // front accuracies.
  for (const auto& a : r.fronts) {
    if (presentation_of(a.method).baseline) continue;
    for (const auto& b : r.fronts) {
      if (&a == &b) continue;
      std::vector<Point> ours, theirs;
      for (const auto& p : a.points) ours.push_back({p.relus, p.top1, p.id});
      for (const auto& p : b.points) theirs.push_back({p.relus, p.top1, p.id});
      std::vector<std::pair<double, int64_t>> gains;  // (points, at ReLUs)
      std::vector<std::pair<double, double>> savings;  // (x fewer, at top-1)
      for (const auto& q : theirs) {
        if (q.relus <= 0) continue;  // a network without ReLUs: nothing to save or gain at
        if (auto g = accuracy_gain_at_relus(ours, theirs, q.relus)) gains.push_back({*g, q.relus});
        if (auto sv = relu_saving_at_accuracy(ours, theirs, q.accuracy)) savings.push_back({*sv, q.accuracy});
      }
      if (gains.empty() && savings.empty()) continue;
      std::string line = a.method + " against " + b.method + ":";
      if (gains.size() == 1) {
        line += " at its " + with_commas(gains[0].second) + " ReLUs, " + fmt::format("{:+.2f}", gains[0].first) + " points";
      } else if (!gains.empty()) {
        double sum = 0;
        for (const auto& g : gains) sum += g.first;
        const auto [lo, hi] = std::minmax_element(gains.begin(), gains.end());
        line += " at " + std::to_string(gains.size()) + " of its ReLU counts, " +
                fmt::format("{:+.2f}", sum / static_cast<double>(gains.size())) + " points on average (from " +
                fmt::format("{:+.2f}", lo->first) + " at " + with_commas(lo->second) + " to " + fmt::format("{:+.2f}", hi->first) + " at " +
                with_commas(hi->second) + " ReLUs)";
      }
      // A saving is said in words: "2.93 times fewer ReLUs", "1.82 times more";
      // one of no ReLU at all (infinite) is counted apart.
      std::vector<std::pair<double, double>> finite;
      int free = 0;
      for (const auto& sv : savings) std::isinf(sv.first) ? ++free : (finite.push_back(sv), 0);
      auto times = [](double x) {
        return x >= 1 ? fmt::format("{:.2f} times fewer ReLUs", x) : fmt::format("{:.2f} times more ReLUs", 1 / x);
      };
      std::string sep = gains.empty() ? " " : "; ";
      if (finite.size() == 1) {
        line += sep + "at its " + fmt::format("{:.2f}", finite[0].second) + "%, " + times(finite[0].first);
      } else if (!finite.empty()) {
        const auto [lo, hi] = std::minmax_element(finite.begin(), finite.end());
        line += sep + "at " + std::to_string(finite.size()) + " of its accuracies, from " + times(lo->first) + " to " +
                times(hi->first);
      }
      if (free)
        line += (finite.empty() ? sep : std::string("; ")) + counted(free, "of its accuracies", "of its accuracies") +
                " reached with no ReLU at all";
      t.headline.push_back(line + ".");
    }
  }
  // The same two figures against each reference series (meaningful when the
  // references are for the same task and data as this experiment). A series
  // of one point gets its line; a published front gets the line of its point
  // with the largest ReLU saving and, if another, of its point with the
  // largest accuracy gain, and says how many of its points the front matches.
  std::map<std::string, std::vector<Point>> series;
  for (const auto& q : r.references) series[q.series].push_back({q.relus, q.top1, q.label});
  if (!r.front.empty()) {
    std::vector<Point> front;
    for (const auto& p : r.front) front.push_back({p.relus, p.top1, p.id});
    for (const auto& [name, curve] : series) {
      struct Against {
        const Point* q;
        std::optional<double> saving, gain;
      };
      std::vector<Against> rows;
      for (const auto& q : curve)
        rows.push_back({&q, relu_saving_at_accuracy(front, curve, q.accuracy), accuracy_gain_at_relus(front, curve, q.relus)});
      auto line = [&](const Against& a) {
        return "(" + a.q->id + ", " + with_commas(a.q->relus) + " ReLUs, " + fmt::format("{:.2f}", a.q->accuracy) + "%): " +
               (!a.saving ? std::string("its accuracy not reached")
                : std::isinf(*a.saving) ? std::string("its accuracy reached with no ReLU at all")
                : *a.saving >= 1        ? fmt::format("{:.2f}", *a.saving) + "x fewer ReLUs at its accuracy"
                                        : fmt::format("{:.2f}", 1 / *a.saving) + "x more ReLUs at its accuracy") +
               (a.gain ? ", " + fmt::format("{:+.2f}", *a.gain) + " points at its ReLU count" : "") + ".";
      };
      if (rows.size() == 1) {
        if (rows[0].saving || rows[0].gain) t.headline.push_back("Against " + name + " " + line(rows[0]));
        continue;
      }
      const Against* most_saving = nullptr;
      const Against* most_gain = nullptr;
      size_t reached = 0;
      for (const auto& a : rows) {
        reached += a.saving.has_value();
        if (a.saving && (!most_saving || *a.saving > *most_saving->saving)) most_saving = &a;
        if (a.gain && (!most_gain || *a.gain > *most_gain->gain)) most_gain = &a;
      }
      const std::string of = "Against " + name + " (" + std::to_string(reached) + " of its " +
                             std::to_string(rows.size()) + " points' accuracies reached), ";
      if (most_saving) t.headline.push_back(of + "the largest ReLU saving " + line(*most_saving));
      if (most_gain && most_gain != most_saving) t.headline.push_back(of + "the largest accuracy gain " + line(*most_gain));
      if (!most_saving && !most_gain) t.headline.push_back(of + "no comparison: each of its points has fewer ReLUs than any network on the front and more accuracy than all of them.");
    }
  }
  return t;
}

Status write(const std::string& path, const std::string& text) {
  return write_file_atomic(path, text);
}

}  // namespace

namespace {

// The live page's "Now" section and the script that keeps it current.
std::string live_section(const Report& r, int refresh_seconds) {
  int64_t done = 0;
  for (const auto& row : r.trials) done += row.state == "done";
  std::string s =
      "<section id='now'><h2>Now</h2><style>.warn{color:#b00;font-weight:bold}</style>"
      "<p id='now-paused' class='warn'></p>"
      "<p id='now-summary'>waiting for the coordinator's status...</p>"
      "<div id='now-running'></div><div id='now-failed'></div><div id='now-workers'></div></section>\n"
      "<script>\n(function () {\n"
      "  var doneAtLoad = " + std::to_string(done) + ", every = " + std::to_string(std::max(2, refresh_seconds / 3)) +
      " * 1000;\n"
      "  var q = location.search;  // ?token=... when the page needs one\n"
      "  function esc(v) { return String(v == null ? '-' : v).replace(/[&<>\"']/g, function (c) {\n"
      "    return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '\"': '&quot;', \"'\": '&#39;'}[c]; }); }\n"
      "  function table(head, rows) {\n"
      "    if (!rows.length) return '';\n"
      "    return '<table><tr>' + head.map(function (h) { return '<th>' + esc(h) + '</th>'; }).join('') + '</tr>' +\n"
      "      rows.map(function (r) { return '<tr>' + r.map(function (c) { return '<td>' + esc(c) + '</td>'; }).join('') +\n"
      "      '</tr>'; }).join('') + '</table>'; }\n"
      "  function duration(s) { if (s == null) return 'not known yet'; s = Math.round(s);\n"
      "    return s < 90 ? s + ' s' : s < 5400 ? Math.round(s / 60) + ' min' : (s / 3600).toFixed(1) + ' h'; }\n"
      "  function show(s) {\n"
      "    var st = s.states || {}, parts = [];\n"
      "    ['done', 'leased', 'pending', 'blocked', 'failed', 'cancelled'].forEach(function (k) {\n"
      "      if (st[k]) parts.push(st[k] + ' ' + (k == 'leased' ? 'running' : k)); });\n"
      "    document.getElementById('now-paused').textContent = s.paused ? 'Dispatch is paused: the store takes no '\n"
      "      + 'results (' + s.paused.reason + '); it resumes once they fit.' : '';\n"
      "    document.getElementById('now-summary').textContent = s.trials + (s.trials == 1 ? ' trial: ' : ' trials: ') +\n"
      "      parts.join(', ') +\n"
      "      '; time left for the trials known now: ' + duration(s.eta_seconds) + ' (' + s.epochs_left + ' epochs)';\n"
      "    document.getElementById('now-running').innerHTML = table(['running', 'role or name', 'plan', 'worker',\n"
      "      'epoch', 'top-1 so far', 'img/s'], (s.running || []).map(function (t) { var p = t.progress || {};\n"
      "      return [t.trial.substring(0, 12), t.role || t.name, t.plan, t.worker,\n"
      "        (p.epoch == null ? 0 : p.epoch) + '/' + t.epochs, p.top1 != null ? p.top1.toFixed(2) :\n"
      "        p.val_top1 != null ? p.val_top1.toFixed(2) + ' (val)' :\n"
      "        p.train_top1 != null ? p.train_top1.toFixed(2) + ' (train)' : '-',\n"
      "        p.images_per_second == null ? '-' : Math.round(p.images_per_second)]; }));\n"
      "    document.getElementById('now-failed').innerHTML = table(['failed', 'role or name', 'reason'],\n"
      "      (s.failed || []).map(function (t) { return [t.trial.substring(0, 12), t.role || t.name,\n"
      "        (t.reasons || []).slice(-1)[0]]; }));\n"
      "    document.getElementById('now-workers').innerHTML = table(['quarantined worker', 'host', 'why'],\n"
      "      (s.workers || []).filter(function (w) { return w.state == 'quarantined'; }).map(function (w) {\n"
      "        return [w.name, w.host, w.reason]; }));\n"
      "    if ((st.done || 0) != doneAtLoad) location.reload();  // new results: the figures change\n"
      "  }\n"
      "  function tick() {\n"
      "    fetch('api/status' + q).then(function (r) { return r.json(); }).then(show).catch(function (e) {\n"
      "      document.getElementById('now-summary').textContent = 'the coordinator does not answer (' + e + ')'; });\n"
      "  }\n"
      "  tick(); setInterval(tick, every);\n"
      "})();\n</script>\n";
  return s;
}

}  // namespace

std::string report_html(const Report& r, int refresh_seconds) {
  const Tables t = tables(r);
  const std::string title =
      r.experiments.empty() ? "deepreduce report" : "deepreduce: " + r.experiments.front().name;
  std::string html;
  // The live page: its "Now" section follows /api/status every few seconds
  // (running trials, the time left, failures, quarantined workers) and the
  // page reloads only when a trial finished (the figures change); without
  // JavaScript it reloads itself.
  append(html, "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>",
         (refresh_seconds > 0 ? "<noscript><meta http-equiv='refresh' content='" +
                                    std::to_string(refresh_seconds) + "'></noscript>"
                              : ""),
         "<title>", esc(title), "</title>\n<style>",
         "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}",
         "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px "
         "8px;text-align:right}",
         "td:first-child,th:first-child{text-align:left}th{background:#f4f4f4}",
         "</style></head><body>\n<h1>", esc(title), "</h1>\n");
  if (refresh_seconds > 0) append(html, live_section(r, refresh_seconds));
  append(html, "<ul>");
  for (const auto& h : t.headline) append(html, "<li>", esc(h), "</li>");
  append(html, "</ul>\n<h2>ReLUs against accuracy</h2>\n", plot_svg(r),
         "<p>Hover a point for its trial. Only networks trained to their full schedule are "
         "drawn.</p>\n");
  append(html, "<h2>Pareto front of every method</h2>\n", html_table(t.front_h, t.front));
  for (const auto& m : t.method_fronts)
    append(html, "<h2>Pareto front of ", esc(m.method), " alone</h2>\n",
           html_table(t.method_front_h_of(m), m.rows));
  if (!t.budget_rows.empty())
    append(html, "<h2>At each ReLU budget</h2>\n<p>Each method's best network within the budget",
           (r.validation ? ", chosen on validation top-1 and quoted on test" : ""), ".</p>\n",
           html_table(t.budget_h, t.budget_rows));
  append(html, "<h2>Estimated private-inference latency against accuracy</h2>\n", latency_svg(r),
         "<p>Online seconds per image estimated under <b>", esc(r.protocol.name),
         "</b> from each network's ReLUs, MACs and ReLU layers (a linear model; constants: ",
         esc(r.protocol.source),
         "). Calibrate them with <code>pi_cost:</code> in the sweep config. Under a "
         "garbled-circuit protocol ReLUs "
         "dominate; under an OT-based one MACs weigh as much, and this front can differ from the "
         "ReLU front.</p>\n");
  {
    std::vector<std::vector<std::string>> rows;
    for (const auto& p : r.latency_front)
      rows.push_back({p.id.substr(0, 12), p.plan, with_commas(p.relus), with_commas(p.macs),
                      fmt::format("{:.3g}", p.pi.online_seconds),
                      fmt::format("{:.3g}", p.pi.online_bytes / 1e6),
                      fmt::format("{:.3g}", p.pi.offline_seconds), fmt::format("{:.2f}", p.top1)});
    append(html, html_table({"trial", "plan", "ReLUs", "MACs", "online s", "online MB", "offline s",
                             "top-1"},
                            rows));
  }
  if (!t.crit.empty())
    append(html, "<h2>ReLU criticality</h2>\n", criticality_svg(r),
           "<p>Networks with ReLUs in one stage only; metric ", esc(r.criticality.metric),
           "; rank 1 is the least critical stage, culled first.</p>\n",
           html_table(t.crit_h, t.crit));
  if (!t.prune.empty())
    append(html, "<h2>", esc(t.prune_title), "</h2>\n", macs_svg(r),
           html_table(t.prune_h, t.prune));
  if (!t.refs.empty())
    append(html, "<h2>Published reference points</h2>\n", html_table(t.ref_h, t.refs));
  if (!r.references_left_out.empty()) {
    std::string left;
    for (const auto& l : r.references_left_out) left += (left.empty() ? "" : "; ") + l;
    append(html, "<p>Reference sets of another task, not drawn: ", esc(left), ".</p>\n");
  }
  append(html, "</body></html>\n");

  return html;
}

Status write_report(const Report& r, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::io_error(dir + ": cannot create the report folder: " + ec.message());
  const Tables t = tables(r);
  const std::string title =
      r.experiments.empty() ? "deepreduce report" : "deepreduce: " + r.experiments.front().name;

  std::string md;
  append(md, "# ", title, "\n\n");
  for (const auto& h : t.headline) append(md, "- ", h, "\n");
  append(md, "\n## Pareto front of every method (ReLUs down, top-1 up)\n\n", md_table(t.front_h, t.front));
  for (const auto& m : t.method_fronts)
    append(md, "\n## Pareto front of ", m.method, " alone\n\n", md_table(t.method_front_h_of(m), m.rows));
  if (!t.budget_rows.empty())
    append(md, "\n## At each ReLU budget\n\nEach method's best network within the budget",
           (r.validation ? ", chosen on validation top-1 and quoted on test" : ""), ".\n\n",
           md_table(t.budget_h, t.budget_rows));
  if (!t.crit.empty()) {
    append(md, "\n## ReLU criticality (networks with ReLUs in one stage only; metric ",
           r.criticality.metric, ", rank 1 is culled first)\n\n", md_table(t.crit_h, t.crit));
  }
  if (!t.prune.empty())
    append(md, "\n## ", t.prune_title, "\n\n", md_table(t.prune_h, t.prune));
  if (!t.refs.empty()) append(md, "\n## Published reference points\n\n", md_table(t.ref_h, t.refs));
  if (!r.references_left_out.empty()) {
    append(md, "\nReference sets of another task, not drawn:\n");
    for (const auto& l : r.references_left_out) append(md, "- ", l, "\n");
  }
  std::string note;
  auto figures = write_figures(r, dir, &note);
  if (!figures.ok()) return figures.status();
  append(md, "\nFiles: report.html (plots and tables), pareto.csv, trials.csv, criticality.csv",
         (t.prune.empty() ? "" : ", pruning.csv"));
  for (const auto& f : *figures) append(md, ", ", std::filesystem::path(f).filename().string());
  append(md, ".\n");
  if (!note.empty()) append(md, "(", note, ")\n");

  const std::string html = report_html(r);

  std::string pruning =
      "method,trial,baseline_top1,top1,macs,relus,nearest_trial,nearest_macs,nearest_relus,nearest_"
      "top1\n";
  for (const auto& row : r.pruning) {
    const auto& n = row.nearest;
    fmt::format_to(std::back_inserter(pruning), "{},{},{},{:.4f},{},{},{},{},{},{}\n",
                   csv_field(row.method), row.pruned.id, opt(row.baseline_top1, 4), row.pruned.top1,
                   row.pruned.macs, row.pruned.relus, n ? n->id : "",
                   n ? std::to_string(n->macs) : "", n ? std::to_string(n->relus) : "",
                   n ? fmt::format("{:.4f}", n->top1) : "");
  }

  const std::filesystem::path d(dir);
  DR_RETURN_IF_ERROR(write((d / "report.html").string(), html));
  DR_RETURN_IF_ERROR(write((d / "summary.md").string(), md));
  DR_RETURN_IF_ERROR(write((d / "pareto.csv").string(), pareto_csv(r)));
  DR_RETURN_IF_ERROR(write((d / "trials.csv").string(), storage::rows_to_csv(r.trials)));
  DR_RETURN_IF_ERROR(write((d / "criticality.csv").string(), criticality_csv(r)));
  if (!r.pruning.empty()) DR_RETURN_IF_ERROR(write((d / "pruning.csv").string(), pruning));
  return Status();
}

}  // namespace deepreduce::report
