// deepreduce status / export / report: read an experiment store, even while a
// coordinator is writing it (the store is opened read-only).
#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <map>
#include <set>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>

#include "cli/commands.h"
#include "cli/experiment_support.h"
#include "common/files.h"
#include "common/format.h"
#include "common/table.h"
#include "common/utf8.h"
#include "cli/model_options.h"
#include "cli/parse.h"
#include "cli/trial_list.h"
#include "spec/relu_plan.h"
#include "spec/result.h"
#include "search/references.h"
#include "report/report.h"
#include "report/text.h"
#include "search/revise.h"
#include "search/strategy.h"
#include "storage/export.h"
#include "storage/migrate.h"
#include "storage/recovery.h"
#include "storage/store.h"

namespace deepreduce::cli {
namespace {

Result<std::unique_ptr<storage::Store>> open_read_only(const std::string& db) {
  storage::StoreOptions o;
  o.read_only = true;
  return storage::open_store(db, o);
}

std::string age(int64_t ms) {
  const int64_t s = (storage::now_ms() - ms) / 1000;
  if (s < 120) return std::to_string(s) + "s ago";
  if (s < 7200) return std::to_string(s / 60) + "m ago";
  return std::to_string(s / 3600) + "h ago";
}

// "71.90", or "68.40 (val)" / "55.10 (train)" before the test split is measured; "-" without a number.
std::string top1_shown(const std::optional<spec::ProgressTop1>& t) {
  if (!t) return "-";
  return fixed(t->value, 2) + (std::string(t->split) == "test" ? "" : std::string(" (") + t->split + ")");
}

}  // namespace

int status_main(int argc, char** argv) {
  po::options_description desc(
      "deepreduce status: what an experiment store holds: experiments, trials per state, running\n"
      "trials with their worker and progress, failures with their reasons. Safe beside a running\n"
      "coordinator (read-only).\n\nUsage: deepreduce status --db DIR [--json]\n\nOptions");
  desc.add_options()("db", po::value<std::string>(), "the store folder (required)")(
      "json", po::bool_switch(), "one JSON object: states, running trials, failures, quarantined workers")(
      "help,h", "show this help");
  po::variables_map vm;
  if (auto done = parse_command(argc, argv, desc, vm, "status")) return *done;
  if (!vm.count("db")) {
    std::cerr << "deepreduce status: --db DIR is required\n";
    return kExitUsage;
  }
  auto store = open_read_only(vm["db"].as<std::string>());
  if (!store.ok()) {
    std::cerr << "deepreduce status: " << store.status().message() << "\n";
    return kExitFailure;
  }
  auto& s = **store;
  auto experiments = s.list_experiments();
  auto counts = s.count_by_state();
  // Only what is shown is read: running and failed trials, not the whole store.
  auto leased = s.list_trials(storage::TrialState::kLeased);
  auto failures = s.list_trials(storage::TrialState::kFailed);
  for (const Status& st : {experiments.status(), counts.status(), leased.status(), failures.status()})
    if (!st.ok()) {
      std::cerr << "deepreduce status: " << st.message() << "\n";
      return kExitFailure;
    }
  auto workers = s.list_workers();
  if (!workers.ok()) {
    std::cerr << "deepreduce status: " << workers.status().message() << "\n";
    return kExitFailure;
  }
  if (vm["json"].as<bool>()) {
    auto j = storage::status_json(s, vm["db"].as<std::string>());
    if (!j.ok()) {
      std::cerr << "deepreduce status: " << j.status().message() << "\n";
      return kExitFailure;
    }
    std::cout << j->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return kExitOk;
  }
  std::cout << "store " << vm["db"].as<std::string>() << "\n\n";
  if (experiments->empty()) std::cout << "no experiments\n";
  for (const auto& e : *experiments) {
    // Names and reasons as a terminal should show them (a store of an older
    // build may hold control characters).
    std::cout << "experiment " << printable(e.name) << "  strategy " << e.strategy << "  created " << age(e.created_ms)
              << (e.revision > 1 ? "  revision " + std::to_string(e.revision) : "") << "\n";
    if (e.revision <= 1) continue;
    auto decisions = s.list_decisions(e.name);
    if (!decisions.ok()) continue;
    for (const auto& rev : search::revision_history(*decisions))
      std::cout << "  revision/" << rev.revision << " " << age(rev.time_ms) << ": " << printable(rev.text) << "\n";
  }
  int64_t total = 0;
  const std::string line = state_counts(*counts, total);
  std::cout << "\ntrials " << total << ":" << line << "\n";
  // The time left, as /api/status and the live page give it.
  if (auto j = storage::status_json(s, vm["db"].as<std::string>()); j.ok() && j->value("epochs_left", 0) > 0) {
    const auto& eta = (*j)["eta_seconds"];
    std::cout << "time left for the trials known now: "
              << (eta.is_number()                   ? duration_text(eta.get<double>())
                  : (*j)["running"].empty() ? std::string("not known while no trial runs (it is timed on the running ones)")
                                                 : std::string("not known yet (no epoch measured)"))
              << " (" << with_commas((*j)["epochs_left"].get<int64_t>()) << " epochs; more trials may open)\n";
  }
  if (auto paused = storage::paused_dispatch(s); paused.ok() && *paused)
    std::cout << "\ndispatch is paused since " << age((*paused)->since_ms)
              << ": the store takes no results (" << printable((*paused)->reason)
              << "); it resumes once they fit, and run gives up after --store-give-up-s\n";
  // Only a revised experiment retires trials: no scan of the done ones otherwise.
  const bool revised = std::any_of(experiments->begin(), experiments->end(), [](const auto& e) { return e.revision > 1; });
  if (auto done = revised ? s.list_trials(storage::TrialState::kDone) : Result<std::vector<storage::TrialRecord>>(
                                                                           std::vector<storage::TrialRecord>());
      done.ok()) {
    const auto retired = std::count_if(done->begin(), done->end(), [](const auto& t) { return !t.retired.empty(); });
    if (retired)
      std::cout << "  of the done ones, " << retired << " no revised config plans any more (kept, left out of the front)\n";
  }

  // The front of every method and how each mask phase ended: from a report,
  // which reads every trial, so only for a store of a size a terminal shows.
  constexpr int64_t kReportUpTo = 2000;
  if (total > kReportUpTo) {
    std::cout << "\nthe Pareto front and the mask phases of " << with_commas(total)
              << " trials: deepreduce report --db " << vm["db"].as<std::string>() << "\n";
  } else if (auto report = report::build_report(s); report.ok()) {
    if (!report->front.empty())
      std::cout << "\nPareto front of every method (" << counted(static_cast<int64_t>(report->front.size()), "network")
                << ", ReLUs down, top-1 up):\n"
                << report::front_text(*report);
    TextTable masks({"mask phase", "method", "seed", "how it ended"});
    int n_masks = 0;
    for (const auto& row : report->trials)
      if (row.role == spec::role_name(spec::Role::kMask) && !row.mask_phase.empty()) {
        ++n_masks;
        masks.add({row.id.substr(0, 12), row.method, std::to_string(row.seed), row.mask_phase});
      }
    if (n_masks) std::cout << "\n" << masks.render();
  }

  // A search's role, else the name a trial list gave it.
  auto role_of = [](const storage::TrialRecord& t) {
    if (t.spec.role != spec::Role::kNone) return std::string(spec::role_name(t.spec.role));
    return t.spec.name.empty() ? std::string("-") : printable(t.spec.name);
  };
  TextTable running({"running", "method", "role or name", "plan", "worker", "attempt", "epoch", "top-1", "last progress"});
  TextTable failed({"failed", "method", "role or name", "arch", "leases", "failed/lost", "reason"});
  int n_running = 0, n_failed = 0;
  std::vector<storage::TrialRecord> shown = *leased;
  shown.insert(shown.end(), failures->begin(), failures->end());
  for (const auto& t : shown) {
    if (t.state == storage::TrialState::kLeased) {
      ++n_running;
      const auto& p = t.progress;
      running.add({t.id.substr(0, 12), report::method_of(t.spec), role_of(t), spec::plan_summary(t.spec.job.model),
                   printable(t.worker),
                   std::to_string(t.attempt),
                   p.is_object() && p.contains("epoch") ? p["epoch"].dump() + "/" + std::to_string(t.spec.job.train.epochs) : "-",
                   top1_shown(spec::progress_top1(p)),
                   age(t.updated_ms)});
    } else if (t.state == storage::TrialState::kFailed) {
      ++n_failed;
      failed.add({t.id.substr(0, 12), report::method_of(t.spec), role_of(t), t.spec.job.model.arch,
                  std::to_string(t.attempt),
                  std::to_string(t.charged) + "/" + std::to_string(t.lost),
                  t.reasons.empty() ? "-" : printable(t.reasons.back())});
    }
  }
  if (n_running) std::cout << "\n" << running.render();
  if (n_failed) {
    std::cout << "\n" << failed.render();
    std::cout << "\nretry them (with the coordinator stopped): deepreduce retry --db " << vm["db"].as<std::string>()
              << " --failed\n";
  }
  TextTable quarantined({"quarantined worker", "host", "since", "why"});
  int n_quarantined = 0;
  for (const auto& w : *workers)
    if (w.state == storage::WorkerState::kQuarantined) {
      ++n_quarantined;
      quarantined.add({printable(w.name), printable(w.host), age(w.updated_ms), printable(w.reason)});
    }
  if (n_quarantined)
    std::cout << "\n" << quarantined.render() << "\na quarantined worker gets no work until it is restarted\n";
  return kExitOk;
}

int retry_main(int argc, char** argv) {
  po::options_description desc(
      "deepreduce retry: put failed (or cancelled) trials back in the queue, with their attempts\n"
      "counted anew; trials that failed only because a dependency failed come back with it and\n"
      "wait for it. Stop the coordinator (or run) first; start it again afterwards.\n\n"
      "Usage: deepreduce retry --db DIR (--failed | TRIAL...)   TRIAL: an id or a unique prefix\n\nOptions");
  // clang-format off
  desc.add_options()
    ("db", po::value<std::string>(), "the store folder (required)")
    ("failed", po::bool_switch(), "every failed trial")
    ("trial", po::value<std::vector<std::string>>(), "trial ids (or unique prefixes), also as positional arguments")
    ("help,h", "show this help");
  // clang-format on
  po::variables_map vm;
  if (auto done = parse_command(argc, argv, desc, vm, "retry", "trial", true, -1)) return *done;
  const bool all_failed = vm["failed"].as<bool>();
  const auto named = vm.count("trial") ? vm["trial"].as<std::vector<std::string>>() : std::vector<std::string>();
  if (!vm.count("db") || (all_failed == !named.empty())) {
    std::cerr << "deepreduce retry: give --db DIR and either --failed or trial ids\n";
    return kExitUsage;
  }
  auto store = storage::open_store(vm["db"].as<std::string>(), [] {
    storage::StoreOptions o;
    o.create_if_missing = false;
    return o;
  }());
  if (!store.ok()) {
    std::cerr << "deepreduce retry: " << store.status().message() << "\n";
    return kExitFailure;
  }
  auto& s = **store;
  auto trials = s.list_trials();
  if (!trials.ok()) {
    std::cerr << "deepreduce retry: " << trials.status().message() << "\n";
    return kExitFailure;
  }
  std::vector<std::string> chosen;
  if (all_failed) {
    for (const auto& t : *trials)
      if (t.state == storage::TrialState::kFailed) chosen.push_back(t.id);
  } else {
    for (const auto& prefix : named) {
      auto id = storage::trial_by_prefix(*trials, prefix, vm["db"].as<std::string>());
      if (!id.ok()) {
        std::cerr << "deepreduce retry: " << id.status().message() << "\n";
        return kExitUsage;
      }
      chosen.push_back(*id);
    }
  }
  // Dependents that failed because these did come back too, dependencies first.
  std::map<std::string, std::vector<std::string>> dependents;
  std::map<std::string, storage::TrialState> state;
  for (const auto& t : *trials) {
    state[t.id] = t.state;
    for (const auto& d : t.spec.dependencies()) dependents[d].push_back(t.id);
  }
  std::vector<std::string> order;
  std::set<std::string> queued;
  std::vector<std::string> frontier = chosen;
  while (!frontier.empty()) {
    std::vector<std::string> next;
    for (const auto& id : frontier) {
      if (!queued.insert(id).second) continue;
      order.push_back(id);
      for (const auto& d : dependents[id])
        if (state[d] == storage::TrialState::kFailed) next.push_back(d);
    }
    frontier = std::move(next);
  }
  int retried = 0;
  for (const auto& id : order) {
    if (Status st = s.retry(id, "retried by the user"); !st.ok()) {
      std::cerr << "deepreduce retry: " << st.message() << "\n";
      continue;
    }
    ++retried;
  }
  if (Status st = s.sync(); !st.ok()) {
    std::cerr << "deepreduce retry: " << st.message() << "\n";
    return kExitFailure;
  }
  std::cout << retried << " trial(s) back in the queue; start the coordinator (or run) on "
            << vm["db"].as<std::string>() << " again\n";
  return retried == static_cast<int>(order.size()) ? kExitOk : kExitFailure;
}

int migrate_main(int argc, char** argv) {
  po::options_description desc(
      "deepreduce migrate: bring a store written by an earlier deepreduce (schema 2 or 3) to this one\n"
      "(schema " + std::to_string(storage::kSchemaVersion) + "). Every trial keeps its state, result, final weights and checkpoint,\n"
      "and gets the role its experiment gave it; each experiment's config is parsed once and kept\n"
      "as JSON with the decisions its strategy made, so reports never parse YAML again. From\n"
      "schema 2 every id changes (schema 3 stopped hashing where a trial's data lives): STORE.v2-ids.tsv\n"
      "maps old ids to new. The old store stays beside it as STORE.vN until you remove it.\n"
      "Crash-safe: run it again after a kill. Stop the coordinator first (migrate refuses a store in use).\n\n"
      "Usage: deepreduce migrate --db STORE\n\nOptions");
  // clang-format off
  desc.add_options()
    ("db", po::value<std::string>(), "the store folder (required)")
    ("help,h", "show this help");
  // clang-format on
  add_log_options(desc);
  po::variables_map vm;
  if (auto done = parse_command(argc, argv, desc, vm, "migrate", "db")) return *done;
  if (!apply_log_options(vm, "migrate")) return kExitUsage;
  if (!vm.count("db")) {
    std::cerr << "deepreduce migrate: --db STORE is required\n";
    return kExitUsage;
  }
  const std::string db = vm["db"].as<std::string>();
  storage::MigrationOptions o;
  o.log = logger("migrate");
  o.assign_roles = [](storage::Store& s) { return search::assign_roles(s); };
  o.definition = experiment_definition;
  o.config = [](const storage::Experiment& e) -> Result<nlohmann::json> {
    if (!search::looks_like_sweep(e.config_yaml)) return nlohmann::json(nullptr);  // a trial list
    auto config = search::parse_sweep(e.config_yaml, e.name + " (stored config)", /*require_data=*/false);
    if (!config.ok()) return config.status();
    return search::to_json(*config);
  };
  auto sum = storage::migrate_store(db, o);
  if (!sum.ok()) {
    std::cerr << "deepreduce migrate: " << sum.status().message() << "\n";
    return kExitFailure;
  }
  if (sum->from_version == 2 && !sum->ids.empty()) {
    std::string tsv = "old_id\tnew_id\n";
    for (const auto& [from, to] : sum->ids) tsv += from + "\t" + to + "\n";
    if (Status s = write_file_atomic(sum->backup + "-ids.tsv", tsv); !s.ok())
      std::cerr << "deepreduce migrate: " << s.message() << " (the migration itself is complete)\n";
  }
  std::cout << db << ": migrated from schema " << sum->from_version << " to " << storage::kSchemaVersion << ": "
            << sum->trials << " trial(s)";
  if (sum->merged) std::cout << " (" << sum->merged << " merged: they differed only in their data path)";
  std::cout << ", " << sum->results << " result(s), " << sum->artifacts << " artifact(s)\n";
  std::cout << "the old store is " << sum->backup << " (remove it when satisfied)"
            << (sum->from_version == 2 && !sum->ids.empty() ? "; ids: " + sum->backup + "-ids.tsv" : "") << "\n";
  return kExitOk;
}

int export_main(int argc, char** argv) {
  po::options_description desc(
      "deepreduce export: one row per trial (id, experiment, arch, plan, alpha, rho, blocks, KD, state,\n"
      "ReLUs, MACs, params, top-1, top-5, epochs, seconds, validation top-1, seed, the name a trial\n"
      "list gave it, its role in a search, and why it is retired when no revised config plans it\n"
      "any more). Safe beside a running coordinator.\n\n"
      "Usage: deepreduce export --db DIR [--format csv|json] [--out FILE]\n\nOptions");
  // clang-format off
  desc.add_options()
    ("db", po::value<std::string>(), "the store folder (required)")
    ("format", po::value<std::string>()->default_value("csv"), "csv or json")
    ("out", po::value<std::string>(), "write to FILE instead of standard output")
    ("help,h", "show this help");
  // clang-format on
  po::variables_map vm;
  if (auto done = parse_command(argc, argv, desc, vm, "export")) return *done;
  const std::string format = vm["format"].as<std::string>();
  if (!vm.count("db") || (format != "csv" && format != "json")) {
    std::cerr << "deepreduce export: " << (!vm.count("db") ? "--db DIR is required" : "--format: expected csv or json, got \"" + format + "\"") << "\n";
    return kExitUsage;
  }
  auto store = open_read_only(vm["db"].as<std::string>());
  if (!store.ok()) {
    std::cerr << "deepreduce export: " << store.status().message() << "\n";
    return kExitFailure;
  }
  auto rows = storage::trial_rows(**store, report::method_of);
  if (!rows.ok()) {
    std::cerr << "deepreduce export: " << rows.status().message() << "\n";
    return kExitFailure;
  }
  const std::string text = format == "csv" ? storage::rows_to_csv(*rows) : storage::rows_to_json(*rows).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  if (vm.count("out")) {
    std::ofstream out(vm["out"].as<std::string>());
    out << text;
    if (!out) {
      std::cerr << "deepreduce export: cannot write " << vm["out"].as<std::string>() << "\n";
      return kExitFailure;
    }
  } else {
    std::cout << text;
  }
  return kExitOk;
}

int report_main(int argc, char** argv) {
  po::options_description desc(
      "deepreduce report: the Pareto front of ReLUs against top-1, the criticality table and, with\n"
      "channel pruning, the paper's comparison; as report.html (one self-contained file with an\n"
      "inline SVG plot), summary.md, pareto.csv, trials.csv and criticality.csv. Safe beside a\n"
      "running coordinator. Published points (a sweep's report.references) are drawn beside an\n"
      "experiment on their task; --list-references lists the built-in sets.\n\n"
      "Usage: deepreduce report --db DIR [--out DIR] [--budget RELUS ...]\n"
      "       deepreduce report --list-references\n\nOptions");
  // clang-format off
  desc.add_options()
    ("db", po::value<std::string>(), "the store folder (required)")
    ("out", po::value<std::string>(), "the report folder (default: DB-report beside the store)")
    ("budget", po::value<std::vector<std::string>>()->multitoken(),
     "ReLU budgets (12000 or 12000,6000, or several): the best network within each, chosen on validation, with its "
     "test top-1 and seeds; they join the report's per-budget table")
    ("list-references", po::bool_switch(), "list the built-in reference sets: name, task, points, source")
    ("help,h", "show this help");
  // clang-format on
  po::variables_map vm;
  if (auto done = parse_command(argc, argv, desc, vm, "report")) return *done;
  if (vm["list-references"].as<bool>()) {
    if (vm.count("db") || vm.count("out")) {
      std::cerr << "deepreduce report: --list-references takes no --db or --out\n";
      return kExitUsage;
    }
    std::cout << reference_sets_text();
    return kExitOk;
  }
  if (!vm.count("db")) {
    std::cerr << "deepreduce report: --db DIR is required\n";
    return kExitUsage;
  }
  const std::string db = vm["db"].as<std::string>();
  auto store = open_read_only(db);
  if (!store.ok()) {
    std::cerr << "deepreduce report: " << store.status().message() << "\n";
    return kExitFailure;
  }
  std::vector<int64_t> budgets;
  if (vm.count("budget"))
    for (const auto& text : vm["budget"].as<std::vector<std::string>>())
      for (const auto& part : split_commas(text)) {
        int64_t b = 0;
        if (!parse_count(part, b) || b < 0) {
          std::cerr << "deepreduce report: --budget " << printable(part) << ": expected a ReLU count (an integer >= 0)\n";
          return kExitUsage;
        }
        budgets.push_back(b);
      }
  const std::string out = vm.count("out") ? vm["out"].as<std::string>() : report_dir_for(db);
  auto path = write_store_report(**store, out, std::cout, budgets);
  if (!path.ok()) {
    std::cerr << "deepreduce report: " << path.status().message() << "\n";
    return kExitFailure;
  }
  return kExitOk;
}

std::string reference_sets_text() {
  TextTable t({"set", "dataset", "architecture", "points", "ReLUs", "top-1"});
  std::vector<std::string> sources;
  for (const auto& set : search::reference_sets()) {
    int64_t lo = INT64_MAX, hi = 0;
    double acc_lo = 100, acc_hi = 0;
    for (const auto& p : set.points) {
      lo = std::min(lo, p.relus), hi = std::max(hi, p.relus);
      acc_lo = std::min(acc_lo, p.top1), acc_hi = std::max(acc_hi, p.top1);
    }
    t.add({set.name, set.dataset, set.arch.empty() ? "any" : set.arch, std::to_string(set.points.size()),
           with_commas(lo) + " - " + with_commas(hi), fixed(acc_lo, 2) + " - " + fixed(acc_hi, 2)});
    std::set<std::string> seen;
    for (const auto& p : set.points)
      if (seen.insert(p.source).second) sources.push_back(set.name + ": " + p.source);
  }
  std::string out = t.render() + "\nSources:\n";
  for (const auto& s : sources) out += "  " + s + "\n";
  out += "\nA sweep names them under report.references (without it, every set is offered); the report draws\n"
         "those measured on the experiment's dataset and architecture (\"any\": every architecture).\n";
  return out;
}

std::string report_dir_for(const std::string& db) {
  std::string d = db;
  while (d.size() > 1 && d.back() == '/') d.pop_back();
  if (d.size() > 3 && d.compare(d.size() - 3, 3, ".db") == 0) d.resize(d.size() - 3);
  return d + "-report";
}

Result<std::string> write_store_report(storage::Store& store, const std::string& dir, std::ostream& os,
                                       const std::vector<int64_t>& budgets) {
  auto report = report::build_report(store);
  if (!report.ok()) return report.status();
  for (int64_t b : budgets)
    if (std::find(report->budgets.begin(), report->budgets.end(), b) == report->budgets.end()) report->budgets.push_back(b);
  std::sort(report->budgets.begin(), report->budgets.end());
  // Empty figures are no report: say where the experiment stands instead.
  if (report->points.empty())
    return Status::failed_precondition("nothing to report yet: " + counted(static_cast<int64_t>(report->trials.size()), "trial") +
                                       ", none trained to its full schedule (deepreduce status shows where it stands); "
                                       "no report written");
  DR_RETURN_IF_ERROR(report::write_report(*report, dir));
  os << "Pareto front of every method (" << counted(static_cast<int64_t>(report->front.size()), "network")
     << ", ReLUs down, top-1 up):\n"
     << report::front_text(*report);
  for (int64_t b : budgets) {
    auto best = report::best_under(*report, b);
    if (!best) {
      os << "Within " << with_commas(b) << " ReLUs: no network is that small\n";
      continue;
    }
    os << "Within " << with_commas(b) << " ReLUs, the best on " << (report->validation ? "validation" : "test top-1")
       << ": " << best->id.substr(0, 12) << " (" << best->method << ": " << best->plan << "), "
       << with_commas(best->relus) << " ReLUs, test top-1 " << report::text::top1_text(*best)
       << [&] {
            if (best->seeds <= 1) return std::string();
            std::vector<std::string> ids;
            for (const auto& id : best->seed_ids) ids.push_back(id.substr(0, 12));
            return fmt::format(", one trial per seed: {}", fmt::join(ids, ", "));
          }()
       << "; deepreduce export-model --db ... --best-under " << b << " exports it\n";
  }
  const std::string html = (std::filesystem::path(dir) / "report.html").string();
  os << "report: " << html << " (summary.md, pareto.csv, trials.csv, criticality.csv beside it)\n";
  return html;
}

}  // namespace deepreduce::cli

namespace deepreduce::cli {
namespace {

// One artifact of a done trial that failed verification (or is missing).
struct Damage {
  std::string trial, kind, why;  // kind: what is damaged: an artifact's kind, or "result"
};

// What verify and repair found, and over how much.
struct Verified {
  std::vector<Damage> damage;
  std::set<std::string> only;  // the trials named; empty: all
  int64_t artifacts = 0, bytes = 0, trials = 0;
};

// Resolves the trials named (ids or unique prefixes; none: every trial) and
// verifies their records and artifacts against size and BLAKE2b, from one
// read of the trial list. A prefix that names no trial or several is
// InvalidArgument; a store that cannot be read is an error naming `db`.
Result<Verified> verify_trials(storage::Store& s, const std::vector<std::string>& prefixes, const std::string& db) {
  Verified v;
  auto trials = s.list_trials();  // every record parses, or this fails naming it
  if (!trials.ok()) return trials.status().with_context(db);
  for (const auto& p : prefixes) {
    auto id = storage::trial_by_prefix(*trials, p, db);
    if (!id.ok()) return id.status();
    v.only.insert(*id);
  }
  for (const auto& t : *trials) {
    if (!v.only.empty() && !v.only.count(t.id)) continue;
    ++v.trials;
    auto digests = s.artifact_digests(t.id);
    if (!digests.ok()) return digests.status().with_context(db);
    if (t.state == storage::TrialState::kDone) {
      auto result = s.get_result(t.id);
      if (!result.ok()) {
        v.damage.push_back({t.id, "result", result.status().message()});
      } else if (!*result) {
        v.damage.push_back({t.id, "result", "a done trial without its result"});
      }
      if (t.spec.kind == spec::TrialKind::kTrain && !digests->count(spec::ArtifactKind::kModel))
        v.damage.push_back({t.id, "model", "a done trial without its model"});
    }
    for (const auto& [kind, digest] : *digests) {
      auto a = s.get_artifact(t.id, kind);  // verified against size and BLAKE2b on every read
      ++v.artifacts;
      if (!a.ok()) {
        v.damage.push_back({t.id, spec::artifact_kind_name(kind), a.status().message()});
      } else if (*a) {
        v.bytes += static_cast<int64_t>((*a)->size());
      }
    }
  }
  return v;
}

// The exit code of verify or repair failing with `s`, after saying why.
int failed(const std::string& command, const Status& s) {
  std::cerr << "deepreduce " << command << ": " << s.message() << "\n";
  return s.code() == Status::Code::kInvalidArgument ? kExitUsage : kExitFailure;
}

// `deepreduce COMMAND --db DIR [TRIAL...]` (verify, repair): the store's
// path and the trials named; an exit code when parsing ends the command.
std::optional<int> store_and_trials(int argc, char** argv, const std::string& command, const std::string& about,
                                    std::string& db, std::vector<std::string>& trials,
                                    const std::function<void(po::options_description&)>& more = {},
                                    po::variables_map* parsed = nullptr) {
  po::options_description desc("deepreduce " + command + ": " + about + "\n\nUsage: deepreduce " + command +
                               " --db DIR [TRIAL...]\n\nOptions");
  desc.add_options()("db", po::value<std::string>(), "the store folder (required)")(
      "trial", po::value<std::vector<std::string>>(), "only these trials (ids or unique prefixes)")(
      "help,h", "show this help");
  if (more) more(desc);
  po::variables_map local;
  po::variables_map& vm = parsed ? *parsed : local;
  if (auto done = parse_command(argc, argv, desc, vm, command, "trial", true, -1)) return done;
  if (!vm.count("db")) {
    std::cerr << "deepreduce " << command << ": --db DIR is required\n";
    return kExitUsage;
  }
  db = vm["db"].as<std::string>();
  if (vm.count("trial")) trials = vm["trial"].as<std::vector<std::string>>();
  return std::nullopt;
}

}  // namespace

int verify_main(int argc, char** argv) {
  std::string db;
  std::vector<std::string> named;
  if (auto done = store_and_trials(
          argc, argv, "verify",
          "read every record of a store and check every artifact (models, masks,\n"
          "checkpoints) against the size and BLAKE2b its record names, and the store's own files\n"
          "(every block of its tables against its checksum; a log or manifest damaged, results on\n"
          "disk its records lost). Read-only, safe beside a running coordinator. Exits 1 when anything\n"
          "is damaged, naming the trial, the artifact or the file and what is wrong; deepreduce repair\n"
          "brings the store back and trains damaged trials again.",
          db, named))
    return *done;
  auto store = open_read_only(db);
  if (!store.ok()) {
    std::cerr << "deepreduce verify: " << store.status().message() << "\n";
    return kExitFailure;
  }
  if (Status records = (*store)->verify_records(); !records.ok()) {
    std::cerr << "deepreduce verify: " << records.message() << "\n";
    return kExitFailure;
  }
  auto found = verify_trials(**store, named, db);
  if (!found.ok()) return failed("verify", found.status());
  const auto& damage = found->damage;
  auto damaged_state = (*store)->list_trials(storage::TrialState::kDamaged);
  std::cout << db << ": " << counted(found->trials, "trial") << ", " << counted(found->artifacts, "artifact") << " ("
            << with_commas(found->bytes) << " bytes) verified; " << counted(static_cast<int64_t>(damage.size()), "problem")
            << (damaged_state.ok() && !damaged_state->empty()
                    ? "; " + counted(static_cast<int64_t>(damaged_state->size()), "trial") + " marked damaged"
                    : "")
            << "\n";
  for (const auto& d : damage)
    std::cout << "  " << d.trial.substr(0, 12) << "  " << d.kind << ": " << printable(d.why) << "\n";
  if (damaged_state.ok())
    for (const auto& t : *damaged_state)
      std::cout << "  " << t.id.substr(0, 12) << "  damaged: " << (t.reasons.empty() ? "-" : printable(t.reasons.back()))
                << "\n";
  const bool bad = !damage.empty() || (damaged_state.ok() && !damaged_state->empty());
  if (bad) std::cout << "deepreduce repair --db " << db << " trains the damaged trials again\n";
  return bad ? kExitFailure : kExitOk;
}

int repair_main(int argc, char** argv) {
  std::string db;
  std::vector<std::string> named;
  po::variables_map vm;
  if (auto done = store_and_trials(
          argc, argv, "repair",
          "bring a store back. When its own files are damaged (its write-ahead log,\n"
          "a table, the manifest, CURRENT: every command that opens it says so), the damaged files are\n"
          "copied to DIR/damaged-TIME/, RocksDB's repair rebuilds the records from what it can read (or\n"
          "a checkpoint replaces them: --from-checkpoint), and every finished trial whose result and\n"
          "artifacts are whole on disk is done again: nothing finished is trained again. Then every\n"
          "artifact is verified (all, or the trials named) and every done trial whose model, mask or\n"
          "result is damaged goes back in the queue (what depends on it waits for it; dependents that\n"
          "failed because of it come back); trials marked damaged come back too. Stop the coordinator\n"
          "(or run) first; run it again afterwards.",
          db, named,
          [](po::options_description& d) {
            d.add_options()("from-checkpoint", po::value<std::string>(),
                            "replace the records with this checkpoint (a name --list-checkpoints shows, or "
                            "latest) instead of RocksDB's repair; finished trials are then re-adopted from disk")(
                "list-checkpoints", po::bool_switch(), "list the store's checkpoints and stop");
          },
          &vm))
    return *done;
  if (vm["list-checkpoints"].as<bool>()) {
    const auto checkpoints = storage::list_checkpoints(db);
    if (checkpoints.empty())
      std::cout << db << ": no checkpoints (a coordinator takes them every --checkpoint-every-s seconds)\n";
    for (const auto& c : checkpoints) std::cout << c << "\n";
    return kExitOk;
  }
  storage::RepairOptions ro;
  if (vm.count("from-checkpoint")) ro.from_checkpoint = vm["from-checkpoint"].as<std::string>();
  auto rep = storage::repair_store(db, ro);
  if (!rep.ok()) {
    std::cerr << "deepreduce repair: " << rep.status().message() << "\n";
    return kExitFailure;
  }
  if (rep->records_repaired)
    std::cout << printable(rep->damage) << "\n"
              << db << ": records rebuilt by " << rep->how << "; the damaged files are kept in " << rep->kept_in
              << "; the records now end at event " << rep->last_event << "\n";
  if (!rep->readopted.trials.empty() || rep->records_repaired) {
    std::cout << db << ": " << counted(static_cast<int64_t>(rep->readopted.trials.size()), "finished trial")
              << " brought back from their results on disk (not trained again)";
    if (rep->readopted.newest_result_seq > rep->last_event)
      std::cout << "; the newest result on disk is of event " << rep->readopted.newest_result_seq;
    std::cout << "\n";
    for (const auto& id : rep->readopted.trials) std::cout << "  " << id.substr(0, 12) << ": done again\n";
  }
  for (const auto& [file, why] : rep->readopted.unusable)
    std::cout << "  " << printable(file) << ": not brought back (" << printable(why) << "); its trial trains again\n";
  if (rep->records_repaired)
    std::cout << db << ": what else the damage took (trials that were running, waiting or planned, the log of "
                 "events) comes back when the experiment runs again: run it\n";
  auto& s = *rep->store;
  auto found = verify_trials(s, named, db);
  if (!found.ok()) return failed("repair", found.status());
  const auto& only = found->only;
  std::set<std::string> repaired;
  for (const auto& d : found->damage) {
    if (repaired.count(d.trial)) continue;
    auto t = s.get_trial(d.trial);
    if (!t.ok() || t->state != storage::TrialState::kDone) continue;  // a running trial's checkpoint: it goes on
    auto blocked = s.damage(d.trial, "its " + d.kind + " failed verification (" + d.why + ")", /*retrain=*/true);
    if (!blocked.ok()) {
      std::cerr << "deepreduce repair: " << blocked.status().message() << "\n";
      return kExitFailure;
    }
    repaired.insert(d.trial);
    std::cout << d.trial.substr(0, 12) << ": " << d.kind << " damaged (" << printable(d.why) << "); trained again, "
              << counted(static_cast<int64_t>(blocked->size()), "trial") << " that need it wait\n";
  }
  if (auto marked = s.list_trials(storage::TrialState::kDamaged); marked.ok())
    for (const auto& t : *marked) {
      if (!only.empty() && !only.count(t.id)) continue;
      if (Status st = s.retrain(t.id, "trained again by deepreduce repair"); !st.ok()) {
        std::cerr << "deepreduce repair: " << st.message() << "\n";
        return kExitFailure;
      }
      repaired.insert(t.id);
      std::cout << t.id.substr(0, 12) << ": marked damaged; trained again\n";
    }
  // Dependents that failed because a dependency was damaged come back and wait.
  if (auto failed = s.list_trials(storage::TrialState::kFailed); failed.ok())
    for (const auto& t : *failed) {
      if (t.reasons.empty() || t.reasons.back().find(" is damaged (deepreduce repair") == std::string::npos) continue;
      if (Status st = s.retry(t.id, "retried by deepreduce repair: its dependency is trained again"); st.ok())
        std::cout << t.id.substr(0, 12) << ": failed for a damaged dependency; waits for it again\n";
    }
  if (Status st = s.sync(); !st.ok()) {
    std::cerr << "deepreduce repair: " << st.message() << "\n";
    return kExitFailure;
  }
  std::cout << db << ": " << counted(found->trials, "trial") << ", " << counted(found->artifacts, "artifact") << " verified; "
            << counted(static_cast<int64_t>(repaired.size()), "trial") << " to train again"
            << (repaired.empty() ? "" : " (run the experiment again: only they train)") << "\n";
  return kExitOk;
}

}  // namespace deepreduce::cli
