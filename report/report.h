// Reports: what an experiment store says, for a paper or a deployment
// decision. Built from a store alone (opened read-only beside a running
// coordinator); the experiments' stored configs supply the references, the
// criticality study and the pruning comparison.
//
// Only trials that completed their schedule count as results: the shortened
// rungs of successive halving are search evidence, not networks to deploy.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "report/pareto.h"
#include "search/strategy.h"
#include "storage/export.h"
#include "storage/store.h"

namespace deepreduce::report {

struct ReportPoint {
  // series: what its method's presentation calls it (search/registry.h):
  // "DeepReDuce without KD", "DeepReDuce with KD", else the method's name.
  std::string id, plan, series;
  std::string method;  // the front it belongs to: "DeepReDuce", "learned linearization", "channel pruning", ...
  int64_t relus = 0, macs = 0, params = 0;
  double top1 = 0;                 // test top-1: what the report quotes
  std::optional<double> val_top1;  // validation top-1 (data.val_split): what the front is chosen on
  double alpha = 1, rho = 1;
  bool kd = false;
  int64_t relu_layers = 0;
  spec::PiCost pi;  // estimated under Report::protocol
  // With train.seeds: the network was trained `seeds` times; top1 and val_top1
  // are means, top1_std the sample standard deviation of test top-1, and id
  // the trial of its first (smallest) seed.
  int seeds = 1;
  double top1_std = 0;
  std::vector<std::string> seed_ids;
  // A network fine-tuned under a learned mask: how its mask phase ended
  // (spec::mask_outcome_text; with seeds, each seed's that differs is named).
  std::string mask_note;
};

// One row of the comparison with a baseline method (channel pruning): its
// network against the network of the report's front nearest to it in MACs.
struct PruningRow {
  std::string method;  // the strategy's row label: "L1 to 50% MACs", "FPGM rate 0.3", + " + KD"
  std::optional<double> baseline_top1;
  ReportPoint pruned;
  std::optional<ReportPoint> nearest;  // on the report's front, nearest in MACs
};

struct Report {
  // What the figures' titles say: "resnet18 on cifar100, 200 epochs, 2 seeds".
  std::string task;
  // Trials held a validation split out: decisions (the criticality study, the
  // front) are on validation top-1, the figures quote test top-1.
  bool validation = false;
  std::vector<storage::Experiment> experiments;
  std::vector<storage::TrialRow> trials;
  std::vector<ReportPoint> points;  // full-fidelity done trials
  // The experiment's Pareto front: the networks of every method together,
  // ReLUs ascending, each naming its method (chosen on validation top-1 where
  // held out).
  std::vector<ReportPoint> front;
  // The front of every method but the baselines (search/registry.h's
  // Presentation: channel pruning): what a baseline's networks are measured against.
  std::vector<ReportPoint> compared_front;
  // Each method's own front: primary methods' first, baselines' last.
  struct MethodFront {
    std::string method;
    std::vector<ReportPoint> points;
  };
  std::vector<MethodFront> fronts;
  // The latency view: the protocol the estimates use (the config's pi_cost,
  // else delphi) and the front in estimated online seconds against top-1.
  spec::PiProtocol protocol = *spec::pi_preset("delphi");
  std::vector<ReportPoint> latency_front;  // online seconds ascending
  std::optional<ReportPoint> baseline;  // the all-ReLU network without KD
  search::CriticalityTable criticality;
  std::vector<PruningRow> pruning;
  std::vector<search::ReferencePoint> references;  // those measured on this experiment's task (or with none given)
  // Built-in sets of another task, left off the plot: "NAME (ARCH on DATASET)".
  std::vector<std::string> references_left_out;
  double hypervolume = 0;  // of the front, in (log10 ReLUs, top-1), against (baseline ReLUs x 10, 0)
  int64_t trained_epochs = 0;  // epochs trained over all done trials (a continued rung counts its new epochs)
  // The same per method (the strategy that planned each trial: a baseline
  // several methods share counts once, under the method that planned it first).
  std::map<std::string, int64_t> epochs_by_method;
  // The ReLU budgets the experiments' methods aimed at (learned
  // linearization's search.budgets, through their presentation), ascending:
  // the report compares every method's best network within each (chosen on
  // validation, quoted on test).
  std::vector<int64_t> budgets;
  // Done trials no config in the store plans any more (left out of every front).
  int64_t retired = 0;
  // Each revision of each experiment, oldest first: "experiment x revision 2:
  // the config changed: train.lr 1e+30 -> 0.1 (0 kept, 1 new, 1 no longer planned)".
  std::vector<std::string> revisions;
};

Result<Report> build_report(storage::Store& store);

// The Pareto front of the points `keep` accepts, in (x, top-1), x ascending.
// The front is chosen on validation top-1 where the trials held a split out
// (selection never sees the test set); the points quote test top-1.
std::vector<ReportPoint> front_of(const std::vector<ReportPoint>& points,
                                  const std::function<bool(const ReportPoint&)>& keep,
                                  const std::function<int64_t(const ReportPoint&)>& x);

// Writes report.html (self-contained, inline SVG), summary.md, pareto.csv,
// trials.csv, criticality.csv and, with pruning, pruning.csv into `dir`.
Status write_report(const Report& report, const std::string& dir);
// report.html's text; with refresh_seconds > 0 the page reloads itself (the live page).
std::string report_html(const Report& report, int refresh_seconds = 0);
// The front (and the latency front) as JSON, for the live page's /api/front.
nlohmann::json front_json(const Report& report);

// The best network within `budget` ReLUs (of `method` only, when given):
// chosen on validation top-1 where the trials held a split out, else on test
// top-1; ties go to fewer ReLUs. None when no network is that small.
std::optional<ReportPoint> best_under(const Report& report, int64_t budget, const std::string& method = "");
// A network's own baseline: the all-ReLU network of its width and resolution
// (without KD where there is one); none in a report without it.
std::optional<ReportPoint> own_baseline(const Report& report, const ReportPoint& p);

// The method a trial's network belongs to: its strategy's (search/registry.h).
// A trial that names none (an earlier store's, a trial list's) is channel
// pruning's when pruned, else DeepReDuce's.
std::string method_of(const spec::TrialSpec& spec);

// The methods of the report's networks, in the order of its fronts.
std::vector<std::string> methods_of(const Report& report);

// The front as a text table (for `run` and `report` on a terminal), each
// network with its method; and any list of points the same way.
std::string front_text(const Report& report);
std::string front_text(const std::vector<ReportPoint>& front, bool validation);

// Pieces, exposed for tests.
std::string plot_svg(const Report& report);
// Estimated online seconds (log axis) against top-1, with its own front.
std::string latency_svg(const Report& report);
std::string pareto_csv(const Report& report);
std::string criticality_csv(const Report& report);

}  // namespace deepreduce::report
