// What the commands that run experiments share (run, coordinator, plan): the
// experiment named on the command line, its store prepared, signals, the
// final summary and failures, the attempt limits and the live page.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include "cli/commands.h"
#include "cli/live_page.h"
#include "common/files.h"
#include "common/format.h"
#include "common/table.h"
#include "common/utf8.h"
#include "cli/model_options.h"
#include "cli/parse.h"
#include "cli/trial_list.h"
#include "spec/counts.h"
#include "spec/pi_cost.h"
#include "spec/relu_plan.h"
#include "coordinator/coordinator.h"
#include "protocol/transport.h"
#include "storage/export.h"
#include "storage/store.h"
#include "spec/datasets.h"
#include "cli/experiment_support.h"
#include "report/report.h"
#include "search/registry.h"
#include "search/revise.h"

namespace deepreduce::cli {

std::atomic<int> g_signals{0};
extern "C" void on_signal(int) { g_signals.fetch_add(1); }

void install_signal_handlers() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}


// The experiment named by the CONFIG argument, or nullopt after saying why.
std::optional<Experiment> experiment_arg(const po::variables_map& vm, const std::string& command) {
  if (!vm.count("config")) {
    std::cerr << "deepreduce " << command << ": CONFIG is required (a sweep config or a trial list)\n";
    return std::nullopt;
  }
  auto e = load_experiment(vm["config"].as<std::string>());
  if (!e.ok()) {
    std::cerr << "deepreduce " << command << ": " << e.status().message() << "\n";
    return std::nullopt;
  }
  // What a config cannot do as written is said before anything runs.
  if (e->sweep)
    for (const auto& m : e->sweep->methods)
      if (auto def = search::find_strategy(m.strategy); def.ok() && (*def)->warnings)
        for (const auto& w : (*def)->warnings(m.options))
          std::cerr << "warning: " << vm["config"].as<std::string>() << ": strategy " << m.strategy << ": " << w << "\n";
  return std::move(*e);
}

namespace {

// No trial waits, runs or is ready to: a rerun has nothing to do.
bool nothing_left(storage::Store& store) {
  for (auto state : {storage::TrialState::kPending, storage::TrialState::kBlocked, storage::TrialState::kLeased}) {
    auto ids = store.trial_ids(state, 1);
    if (!ids.ok() || !ids->empty()) return false;
  }
  return true;
}

}  // namespace

Status check_db_path(const std::string& db) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path target = fs::absolute(fs::path(db), ec).lexically_normal();
  // A store already there is opened as it is (it says for itself what is wrong with it).
  if (fs::exists(target / "CURRENT", ec)) return Status();
  for (fs::path up = target.parent_path(); !up.empty() && up != up.root_path(); up = up.parent_path()) {
    if (fs::exists(up / "CURRENT", ec) && fs::is_directory(up / "artifacts", ec))
      return Status::invalid_argument("--db " + db + ": inside the store " + up.string() +
                                      " (a store holds no other); give a folder outside it");
    if (fs::exists(up, ec) && !fs::is_directory(up, ec))
      return Status::invalid_argument("--db " + db + ": " + up.string() + " is a file, not a folder");
  }
  const fs::path parent = target.parent_path();
  fs::create_directories(parent, ec);
  if (ec) return Status::io_error("--db " + db + ": cannot create the folder " + parent.string() + ": " + ec.message());
  // A filesystem that takes no files (/proc, a read-only mount) says so before anything is made.
  const fs::path probe = parent / (".deepreduce-probe-" + std::to_string(::getpid()));
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return Status::io_error("--db " + db + ": " + parent.string() + " is not a writable folder (" +
                            std::strerror(errno) + "); give a --db on a filesystem that takes files");
  ::close(fd);
  fs::remove(probe, ec);
  return Status();
}

// Opens the store, records the experiment and adds its trials (idempotent:
// a second run on the same store adds nothing new and resumes).
Result<std::unique_ptr<storage::Store>> prepare_store(const std::string& db, const Experiment& list) {
  storage::StoreOptions o;
  o.durability = storage::Durability::kGroupCommit;  // the coordinator syncs once per loop iteration
  auto store = storage::open_store(db, o);
  if (!store.ok()) return store.status();
  auto before = (*store)->get_experiment(list.name);
  if (!before.ok()) return before.status();
  DR_RETURN_IF_ERROR((*store)->put_experiment({list.name, list.yaml_text, list.strategy, 0, storage::kSchemaVersion,
                                               list.definition,
                                               list.sweep ? search::to_json(*list.sweep) : nlohmann::json(nullptr)}));
  auto after = (*store)->get_experiment(list.name);
  if (!after.ok()) return after.status();
  // Run with a config that defines other trials: a revision keeps every done
  // trial it still plans and sets aside the others (search/revise.h).
  search::Observer observer;  // what the store holds, read once for the plan and the revision
  auto revised = [&](int64_t created, const std::vector<std::string>& list_ids) -> Status {
    if (!*before || (**before).revision == (**after).revision) return Status();
    auto summary = search::revise(**store, **before, **after, list.search.get(), list_ids, created, observer);
    if (!summary.ok()) return summary.status();
    std::cerr << "experiment " << list.name << ": " << search::describe(*summary) << "\n";
    return Status();
  };
  if (list.search) {
    // A sweep: the strategy proposes from what the store already holds (on a
    // resumed store, the phases its results opened).
    std::vector<spec::TrialSpec> added;
    auto created = search::expand(**store, list.name, *list.search, observer, &added);
    if (!created.ok()) return created.status();
    DR_RETURN_IF_ERROR(revised(*created, {}));
    DR_RETURN_IF_ERROR((*store)->sync());
    auto counts = (*store)->count_by_state();
    if (!counts.ok()) return counts.status();
    int64_t total = 0, done = 0;
    for (const auto& [state, n] : *counts) {
      total += n;
      if (state == storage::TrialState::kDone) done += n;
    }
    if (*created == 0 && nothing_left(**store))
      std::cerr << "experiment " << list.name << " (" << list.strategy << "): nothing to do: " << db << " holds "
                << counted(total, "trial") << ", " << done << " done, and the config plans nothing new\n";
    else
      std::cerr << "experiment " << list.name << " (" << list.strategy << "): " << *created << " new trial(s)"
                << (added.empty() ? "" : " (" + search::added_text(added) + ")") << "; " << db << " holds " << total
                << ", " << done << " done; more open as results arrive\n";
    return std::move(*store);
  }
  // In slices, dependencies first (the list's order): one batch never holds
  // the whole list, and a slice already stored is skipped on a rerun.
  constexpr size_t kSlice = 2000;
  int created = 0;
  for (size_t at = 0; at < list.trials.size(); at += kSlice) {
    const std::vector<spec::TrialSpec> slice(list.trials.begin() + at,
                                                list.trials.begin() + std::min(list.trials.size(), at + kSlice));
    auto added = (*store)->add_trials(list.name, slice);
    if (!added.ok()) return added.status();
    for (const auto& a : *added) created += a.created;
  }
  std::vector<std::string> ids;
  for (const auto& t : list.trials) ids.push_back(spec::trial_id(t));
  DR_RETURN_IF_ERROR(revised(created, ids));
  DR_RETURN_IF_ERROR((*store)->sync());
  if (created == 0 && nothing_left(**store))
    std::cerr << "experiment " << list.name << ": nothing to do: its " << counted(static_cast<int64_t>(list.trials.size()), "trial")
              << " are finished in " << db << "\n";
  else
    std::cerr << "experiment " << list.name << ": " << list.trials.size() << " trial(s), " << created << " new, "
              << (list.trials.size() - created) << " already in " << db << "\n";
  return std::move(*store);
}

std::string state_counts(const std::vector<std::pair<storage::TrialState, int64_t>>& counts, int64_t& total) {
  total = 0;
  std::string line;
  for (const auto& [state, n] : counts) {
    total += n;
    line += std::string("  ") + storage::state_name(state) + " " + std::to_string(n);
  }
  return line;
}

void print_summary(storage::Store& store, const std::string& db) {
  // A table a person reads: past 100 trials, the counts and where the rows are.
  constexpr size_t kMaxRows = 100;
  auto counts = store.count_by_state();
  if (!counts.ok()) return;
  int64_t total = 0;
  const std::string line = state_counts(*counts, total);
  if (static_cast<size_t>(total) > kMaxRows) {
    std::cout << total << " trials:" << line << "\none row per trial: deepreduce export --db " << db
              << " --format csv --out trials.csv\n";
    return;
  }
  auto rows = storage::trial_rows(store, report::method_of);
  if (!rows.ok()) return;
  // A trial list's names, when it gave any.
  const bool named = std::any_of(rows->begin(), rows->end(), [](const auto& r) { return !r.name.empty(); });
  std::vector<std::string> header = {"trial", "method", "arch", "plan", "alpha", "rho", "KD", "seed", "ReLUs", "epochs",
                                     "state", "top-1"};
  if (named) header.insert(header.begin() + 1, "name");
  TextTable t(header);
  int64_t retired = 0;
  for (const auto& r : *rows) {
    const std::string top1 = r.top1 ? fmt::format("{:.2f}", *r.top1) : "-";
    const std::string alpha = fmt::format("{:g}", r.alpha), rho = fmt::format("{:g}", r.rho);
    retired += !r.retired.empty();
    std::vector<std::string> cells = {r.id.substr(0, 12), r.method, r.arch, r.plan, alpha, rho, r.kd ? "yes" : "no",
                                      std::to_string(r.seed), with_commas(r.relus), std::to_string(r.epochs),
                                      r.retired.empty() ? r.state : r.state + "*", top1};
    if (named) cells.insert(cells.begin() + 1, r.name.empty() ? "-" : printable(r.name));
    t.add(cells);
  }
  std::cout << t.render();
  if (retired) std::cout << "* no longer planned by a revised config: kept, left out of the front\n";
}

// After a run: 0 when no trial failed; else what failed, why the search is
// blocked (if it is) and how to retry, and 1.
int report_failures(storage::Store& store, const Experiment& e, const std::string& db, const std::string& command) {
  auto failed = store.list_trials(storage::TrialState::kFailed);
  if (!failed.ok()) {
    std::cerr << "deepreduce " << command << ": " << failed.status().message() << "\n";
    return kExitFailure;
  }
  if (failed->empty()) return kExitOk;
  std::cerr << "\ndeepreduce " << command << ": " << failed->size() << " trial(s) failed:\n";
  size_t shown = 0;
  for (const auto& t : *failed) {
    if (++shown > 10) {
      std::cerr << "  ... (deepreduce status --db " << db << " lists them all)\n";
      break;
    }
    std::cerr << "  " << t.id.substr(0, 12) << (t.spec.name.empty() ? "" : " (" + printable(t.spec.name) + ")") << "  "
              << (t.reasons.empty() ? "-" : printable(t.reasons.back())) << "\n";
  }
  if (e.search) {
    auto seen = search::observe(store);
    if (seen.ok())
      if (std::string why = e.search->blocked(*seen); !why.empty())
        std::cerr << "the search is blocked: " << why << "\n";
  }
  std::cerr << "a mistake in the config: fix it and run the same command again (a revision: done trials it still "
               "plans are kept);\na passing fault (a full disk, a lost device): deepreduce retry --db "
            << db << " --failed && deepreduce " << command
            << " ... (the same command again: finished trials are not trained again)\n";
  return kExitFailure;
}

// The options `run` and `coordinator` share: attempt limits and the live page.
void add_experiment_options(po::options_description& desc) {
  // clang-format off
  desc.add_options()
    ("max-attempts", po::value<int>()->default_value(3), "failures of a trial itself before it fails")
    ("max-lost", po::value<int>()->default_value(10), "workers lost while training one trial before it fails")
    ("store-give-up-s", po::value<int>()->default_value(600),
     "a store that takes no result (a full disk) pauses dispatch; after this many seconds the command ends saying why")
    ("checkpoint-every-s", po::value<int>()->default_value(600),
     "a checkpoint of the store's records every this many seconds (hard links: cheap), what `deepreduce repair "
     "--from-checkpoint` restores when a disk damages them (0: none)")
    ("checkpoints-kept", po::value<int>()->default_value(3), "how many checkpoints are kept (the newest)")
    ("http", po::value<std::string>(), "serve the live report and JSON (/api/status, /api/trials, /api/front) at "
                                       "HOST:PORT ([::1]:PORT for IPv6; :PORT is loopback; off loopback a token is required)")
    ("http-token-file", po::value<std::string>(), "the live page's token (else one is made and printed)")
  ;
  // clang-format on
}

// Reads --max-attempts and --max-lost into `o`; false after saying what is wrong.
bool read_limits(const po::variables_map& vm, coordinator::CoordinatorOptions& o, const std::string& command) {
  o.max_attempts = vm["max-attempts"].as<int>();
  o.max_lost = vm["max-lost"].as<int>();
  o.store_give_up_ms = int64_t{vm["store-give-up-s"].as<int>()} * 1000;
  o.checkpoint_every_ms = int64_t{vm["checkpoint-every-s"].as<int>()} * 1000;
  o.checkpoints_kept = vm["checkpoints-kept"].as<int>();
  if (o.checkpoint_every_ms < 0 || o.checkpoints_kept < 1) {
    std::cerr << "deepreduce " << command << ": --checkpoint-every-s must be 0 (none) or more, --checkpoints-kept at least 1\n";
    return false;
  }
  if (o.max_attempts >= 1 && o.max_lost >= 1 && o.store_give_up_ms >= 1000) return true;
  std::cerr << "deepreduce " << command << ": --max-attempts, --max-lost and --store-give-up-s must be at least 1\n";
  return false;
}

Result<std::unique_ptr<LivePage>> live_page(const po::variables_map& vm, const std::string& db,
                                            Log log) {
  if (!vm.count("http")) return std::unique_ptr<LivePage>();
  LivePageOptions o;
  o.address = vm["http"].as<std::string>();
  if (vm.count("http-token-file")) o.token_file = vm["http-token-file"].as<std::string>();
  o.db = db;
  return LivePage::start(o, std::move(log));
}

}  // namespace deepreduce::cli
