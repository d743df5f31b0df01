// deepreduce keygen / coordinator / worker / run: the distributed search.
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
#include "common/text.h"
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
  return std::move(*e);
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
    auto created = search::expand(**store, list.name, *list.search, observer);
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
    std::cerr << "experiment " << list.name << " (" << list.strategy << "): " << *created << " new trial(s); " << db
              << " holds " << total << ", " << done << " done; more open as results arrive\n";
    return std::move(*store);
  }
  // In slices, dependencies first (the list's order): one batch never holds
  // the whole list, and a slice already stored is skipped on a rerun.
  constexpr size_t kSlice = 2000;
  int created = 0;
  for (size_t at = 0; at < list.trials.size(); at += kSlice) {
    const std::vector<storage::TrialSpec> slice(list.trials.begin() + at,
                                                list.trials.begin() + std::min(list.trials.size(), at + kSlice));
    auto added = (*store)->add_trials(list.name, slice);
    if (!added.ok()) return added.status();
    for (const auto& a : *added) created += a.created;
  }
  std::vector<std::string> ids;
  for (const auto& t : list.trials) ids.push_back(storage::trial_id(t));
  DR_RETURN_IF_ERROR(revised(created, ids));
  DR_RETURN_IF_ERROR((*store)->sync());
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
  auto rows = storage::trial_rows(store);
  if (!rows.ok()) return;
  // A trial list's names, when it gave any.
  const bool named = std::any_of(rows->begin(), rows->end(), [](const auto& r) { return !r.name.empty(); });
  std::vector<std::string> header = {"trial", "arch", "plan", "alpha", "rho", "KD", "seed", "ReLUs", "epochs", "state", "top-1"};
  if (named) header.insert(header.begin() + 1, "name");
  TextTable t(header);
  int64_t retired = 0;
  for (const auto& r : *rows) {
    const std::string top1 = r.top1 ? fmt::format("{:.2f}", *r.top1) : "-";
    const std::string alpha = fmt::format("{:g}", r.alpha), rho = fmt::format("{:g}", r.rho);
    retired += !r.retired.empty();
    std::vector<std::string> cells = {r.id.substr(0, 12), r.arch, r.plan, alpha, rho, r.kd ? "yes" : "no",
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

namespace {

Status load_curve_server(const po::variables_map& vm, coordinator::CoordinatorOptions& o) {
  if (!vm.count("curve-secret") && !vm.count("allow")) return Status();
  if (!vm.count("curve-secret") || !vm.count("allow"))
    return Status::invalid_argument("--curve-secret and --allow go together");
  auto secret = protocol::read_key_file(vm["curve-secret"].as<std::string>());
  if (!secret.ok()) return secret.status();
  coordinator::CurveServer c{*secret, {}};
  std::ifstream in(vm["allow"].as<std::string>());
  if (!in) return Status::not_found(vm["allow"].as<std::string>() + ": cannot open");
  std::string word;
  while (in >> word) {
    if (word[0] == '#') {
      std::getline(in, word);
      continue;
    }
    if (word.size() != 40) return Status::invalid_argument(vm["allow"].as<std::string>() + ": \"" + word + "\" is not a Z85 public key");
    c.allowed_keys.push_back(word);
  }
  o.curve = c;
  return Status();
}

}  // namespace

int keygen_main(int argc, char** argv) {
  po::options_description desc(
      "deepreduce keygen: a CURVE key pair for the coordinator or a worker: PREFIX.public (share it)\n"
      "and PREFIX.secret (keep it; mode 0600).\n\nUsage: deepreduce keygen --out keys/worker1\n\nOptions");
  desc.add_options()("out", po::value<std::string>()->required(), "file prefix")("help,h", "show this help");
  po::variables_map vm;
  if (auto done = parse_command(argc, argv, desc, vm, "keygen")) return *done;
  auto keys = protocol::generate_keypair();
  if (!keys.ok()) {
    std::cerr << "deepreduce keygen: " << keys.status().message() << "\n";
    return kExitFailure;
  }
  const std::string prefix = vm["out"].as<std::string>();
  std::filesystem::path parent = std::filesystem::path(prefix).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  {
    // Mode 0600 from the first byte: the secret is never readable by others,
    // not even between creating the file and a chmod. An existing key is not overwritten.
    const std::string path = prefix + ".secret";
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      std::cerr << "deepreduce keygen: " << path << ": " << std::strerror(errno)
                << (errno == EEXIST ? " (remove it first to replace the key)" : "") << "\n";
      return kExitFailure;
    }
    const std::string text = "# deepreduce CURVE secret key: keep private\n" + keys->secret_key + "\n";
    const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!written) {
      std::cerr << "deepreduce keygen: " << path << ": cannot write: " << std::strerror(errno) << "\n";
      return kExitFailure;
    }
  }
  std::ofstream(prefix + ".public") << "# deepreduce CURVE public key\n" << keys->public_key << "\n";
  std::cout << "wrote " << prefix << ".public and " << prefix << ".secret\n";
  return kExitOk;
}

int coordinator_main(int argc, char** argv) {
  po::options_description desc(
      "deepreduce coordinator: serve an experiment's trials to workers over ZeroMQ, from a store\n"
      "that survives restarts (run it again on the same --db to resume).\n\n"
      "Usage: deepreduce coordinator CONFIG --db DIR [--bind tcp://*:5555] [--curve-secret F --allow F]\n\nOptions");
  // clang-format off
  desc.add_options()
    ("config", po::value<std::string>(), "the experiment: a sweep config (with search:) or a YAML trial list")
    ("db", po::value<std::string>()->required(), "the store folder (created if missing)")
    ("bind", po::value<std::string>()->default_value("tcp://*:5555"), "where workers connect (tcp://*:* picks a free port)")
    ("address-file", po::value<std::string>(), "once bound, write the address workers should connect to (this "
                                               "host's name and the bound port) to this file")
    ("curve-secret", po::value<std::string>(), "this coordinator's CURVE secret key (from keygen)")
    ("allow", po::value<std::string>(), "file of allowed worker public keys, one per line")
    ("heartbeat-ms", po::value<int>()->default_value(protocol::kHeartbeatIntervalMs), "heartbeat interval")
    ("restart-grace-s", po::value<int>()->default_value(protocol::kReconnectMaxMs / 1000 + 4),
     "after a restart: how long leased trials wait for their workers to come back")
    ("keep-serving", po::bool_switch(), "keep serving once every trial is finished")
    ("help,h", "show this help");
  // clang-format on
  add_experiment_options(desc);
  add_log_options(desc);
  po::variables_map vm;
  if (auto done = parse_command(argc, argv, desc, vm, "coordinator", "config")) return *done;
  if (!apply_log_options(vm, "coordinator")) return kExitUsage;
  auto list = experiment_arg(vm, "coordinator");
  if (!list) return kExitUsage;
  coordinator::CoordinatorOptions o;
  o.bind = vm["bind"].as<std::string>();
  if (Status s = protocol::check_endpoint(o.bind, true); !s.ok()) {
    std::cerr << "deepreduce coordinator: --bind " << s.message() << "\n";
    return kExitUsage;
  }
  if (vm.count("address-file")) {
    const std::string file = vm["address-file"].as<std::string>();
    o.on_bound = [file, log = logger("coordinator")](const std::string& bound) {
      // tcp://0.0.0.0:PORT -> tcp://HOSTNAME:PORT, written atomically.
      std::string address = bound;
      char host[256] = "localhost";
      gethostname(host, sizeof host - 1);
      for (const char* any : {"tcp://0.0.0.0:", "tcp://[::]:"})
        if (address.rfind(any, 0) == 0) address = "tcp://" + std::string(host) + ":" + address.substr(std::strlen(any));
      const Status written = write_file_atomic(file, address + "\n");
      log(written.ok() ? "address " + address + " written to " + file : "cannot write " + written.message());
    };
  }
  o.heartbeat_ms = vm["heartbeat-ms"].as<int>();
  o.restart_grace_ms = vm["restart-grace-s"].as<int>() * 1000;
  o.exit_when_done = !vm["keep-serving"].as<bool>();
  if (!read_limits(vm, o, "coordinator")) return kExitUsage;
  if (o.restart_grace_ms < 0 || o.heartbeat_ms < 10) {
    std::cerr << "deepreduce coordinator: --heartbeat-ms must be at least 10, --restart-grace-s not negative\n";
    return kExitUsage;
  }
  if (!vm.count("curve-secret") && o.bind.rfind("tcp://", 0) == 0 && o.bind.find("127.0.0.1") == std::string::npos &&
      o.bind.find("localhost") == std::string::npos)
    std::cerr << "deepreduce coordinator: warning: " << o.bind << " without CURVE: anyone who reaches the port can "
              << "join as a worker and read lease tokens; give --curve-secret and --allow (deepreduce keygen)\n";
  o.log = logger("coordinator");
  if (Status s = load_curve_server(vm, o); !s.ok()) {
    std::cerr << "deepreduce coordinator: " << s.message() << "\n";
    return kExitUsage;
  }
  // A signal from here on stops it cleanly; the live page's port is taken
  // before the store is created, so a busy one leaves nothing behind.
  install_signal_handlers();
  std::unique_ptr<storage::Store> store;  // outlives the page, which reads it
  auto page = live_page(vm, vm["db"].as<std::string>(), o.log);
  if (!page.ok()) {
    std::cerr << "deepreduce coordinator: " << page.status().message() << " (nothing was created)\n";
    return kExitUsage;
  }
  if (auto opened = prepare_store(vm["db"].as<std::string>(), *list); opened.ok()) {
    store = std::move(*opened);
  } else {
    std::cerr << "deepreduce coordinator: " << opened.status().message() << "\n";
    return kExitFailure;
  }
  if (*page) (*page)->attach(*store);
  std::vector<storage::TrialSpec>().swap(list->trials);  // stored now: the store is the truth
  storage::Store* raw = store.get();
  // The strategy reads the store incrementally: one observer across its turns.
  auto observer = std::make_shared<search::Observer>();
  if (list->search)
    o.expand = [raw, list, observer] { return search::expand(*raw, list->name, *list->search, *observer); };
  zmq::context_t context;
  coordinator::Coordinator c(context, *store, o);
  Status s;
  {
    SignalWatch watch([&] { c.request_stop(); });
    s = c.run();
  }
  if (!s.ok()) {
    std::cerr << "deepreduce coordinator: " << s.message() << "\n";
    return kExitFailure;
  }
  print_summary(*store, vm["db"].as<std::string>());
  if (list->search && !g_signals.load()) {
    auto report = write_store_report(*store, report_dir_for(vm["db"].as<std::string>()), std::cout);
    if (!report.ok()) std::cerr << "deepreduce coordinator: report: " << report.status().message() << "\n";
  }
  if (g_signals.load()) return kExitOk;  // a clean stop: start it again on the same --db to resume
  return report_failures(*store, *list, vm["db"].as<std::string>(), "coordinator");
}

int plan_main(int argc, char** argv) {
  po::options_description desc(
      "deepreduce plan: the trials an experiment CONFIG would start first (id, arch, ReLU plan,\n"
      "alpha, rho, blocks, KD, ReLUs, MACs, epochs) and the size of its whole space, without\n"
      "training. With --all: every trial of the whole space at full budget, later phases planned\n"
      "under an assumed culling order, with the total epochs and, given a throughput, GPU-hours.\n"
      "Validates the config: errors name file:line and the key.\n\n"
      "Usage: deepreduce plan CONFIG [--json]\n"
      "       deepreduce plan CONFIG --all [--assume-order stem,s1,s4,s2,s3] [--images-per-second N] [--json]\n\n"
      "Options");
  // clang-format off
  desc.add_options()
    ("config", po::value<std::string>(), "a sweep config or a YAML trial list")
    ("all", po::bool_switch(), "the whole space at full budget (no successive-halving rungs), not what starts first")
    ("assume-order", po::value<std::string>(),
     "with --all: the stages least critical first (what the criticality study will say is unknown "
     "before it runs; default: the config's order, else network order)")
    ("images-per-second", po::value<double>(),
     "with --all: training throughput of one GPU, to estimate GPU-hours (measure it: bench/gpu_throughput.sh)")
    ("json", po::bool_switch(), "one JSON object: {name, strategy, space, trials: [...]} (and totals with --all)")
    ("help,h", "show this help");
  // clang-format on
  po::variables_map vm;
  if (auto done = parse_command(argc, argv, desc, vm, "plan", "config")) return *done;
  auto e = experiment_arg(vm, "plan");
  if (!e) return kExitUsage;
  const bool all = vm["all"].as<bool>();
  if (!all && (vm.count("assume-order") || vm.count("images-per-second"))) {
    std::cerr << "deepreduce plan: --assume-order and --images-per-second go with --all\n";
    return kExitUsage;
  }
  const double ips = vm.count("images-per-second") ? vm["images-per-second"].as<double>() : 0;
  if (vm.count("images-per-second") && !(ips > 0)) {
    std::cerr << "deepreduce plan: --images-per-second: expected a number > 0\n";
    return kExitUsage;
  }
  // The data is read where trials train (`run` refuses to start without it; a
  // coordinator's workers need it where they are): a note, not an error.
  if (!vm["json"].as<bool>()) {  // --json prints one object and nothing else
    std::set<std::pair<std::string, std::string>> data;
    if (e->sweep) data.insert({e->sweep->base.data.dataset, e->sweep->base.data.data_dir});
    for (const auto& t : e->trials) data.insert({t.job.data.dataset, t.job.data.data_dir});
    for (const auto& [dataset, dir] : data)
      if (Status s = train::check_data_files(dataset, dir); !s.ok())
        std::cerr << "note: " << s.message() << ": the data is not readable here (run needs it here; a "
                  << "coordinator's workers need it where they run, or --data-root)\n";
  }
  // What is listed: what starts first, or the whole space.
  std::vector<storage::TrialSpec> listed = e->trials;
  std::vector<std::string> roles = e->roles;
  if (all && e->search) {
    std::vector<std::string> order;
    if (vm.count("assume-order")) {
      auto o = split_list(vm["assume-order"].as<std::string>());
      order.assign(o.begin(), o.end());
    }
    auto space = e->search->whole_space(order);
    if (!space.ok()) {
      std::cerr << "deepreduce plan: " << space.status().message() << "\n";
      return kExitUsage;
    }
    listed.clear();
    roles.clear();
    for (const auto& p : *space) {
      listed.push_back(p.spec);
      roles.push_back(storage::role_name(p.role));
    }
  }
  nlohmann::json rows = nlohmann::json::array();
  // The private-inference estimate: the config's pi_cost, else delphi (nn/pi_cost.h).
  const nn::PiProtocol protocol = e->sweep ? e->sweep->pi : *nn::pi_preset("delphi");
  TextTable t({"trial", "role", "arch", "plan", "alpha", "rho", "blocks", "KD", "seed", "ReLUs", "MACs", "epochs",
               "online s (" + protocol.name + ")"});
  int64_t total_epochs = 0;
  double total_images = 0;
  for (size_t i = 0; i < listed.size(); ++i) {
    const auto& spec = listed[i];
    const auto& m = spec.job.model;
    auto c = nn::count(m);
    auto resolved = nn::resolve(m);
    std::vector<int64_t> stage_blocks;
    if (resolved.ok())
      for (const auto& st : resolved->stages) stage_blocks.push_back(st.blocks);
    const std::string blocks = fmt::format("{}", fmt::join(stage_blocks, ","));
    const std::string id = storage::trial_id(spec);
    std::string role = roles[i];
    if (spec.prune) role += std::string(" ") + nn::criterion_name(spec.prune->criterion);
    if (spec.job.train.horizon > spec.job.train.epochs)
      role += " " + std::to_string(spec.job.train.epochs) + "/" + std::to_string(spec.job.train.horizon) + " ep";
    const std::string alpha = fmt::format("{:g}", m.alpha), rho = fmt::format("{:g}", m.rho);
    const nn::PiCost pi = c.ok() ? nn::pi_cost(protocol, c->relus, c->macs, nn::relu_layers(*c)) : nn::PiCost{};
    const std::string online = fmt::format("{:.3g}", pi.online_seconds);
    // What training it costs: its epochs over its training images (a subset, or the whole split).
    const int64_t epochs = spec.kind == "noop" ? 0 : spec.job.train.epochs;
    auto dataset = train::find_dataset(spec.job.data.dataset);
    const int64_t images = (spec.job.data.train_subset > 0 ? spec.job.data.train_subset
                            : dataset.ok()                 ? (*dataset)->train_images
                                                           : 0) -
                           spec.job.data.val_split;  // held out: evaluated, not trained on
    total_epochs += epochs;
    total_images += static_cast<double>(epochs) * static_cast<double>(images);
    // A mask phase keeps at most its budget's ReLUs, and stops once it gets there: its epochs are a cap.
    const int64_t budget = spec.job.train.linearize.budget;
    t.add({id.substr(0, 12), role, m.arch, nn::plan_summary(m), alpha, rho, blocks,
           spec.teacher.empty() ? "no" : "yes", std::to_string(spec.job.train.seed),
           budget > 0 ? "<= " + with_commas(budget) : with_commas(c.ok() ? c->relus : 0),
           with_commas(c.ok() ? c->macs : 0), (budget > 0 ? "<= " : "") + std::to_string(epochs), online});
    rows.push_back({{"id", id}, {"role", role}, {"arch", m.arch}, {"plan", nn::plan_summary(m)},
                    {"alpha", m.alpha}, {"rho", m.rho}, {"blocks", blocks}, {"kd", !spec.teacher.empty()},
                    {"seed", spec.job.train.seed},
                    {"teacher", spec.teacher}, {"relus", c.ok() ? c->relus : 0}, {"macs", c.ok() ? c->macs : 0},
                    {"epochs", epochs}, {"pi", {{"protocol", protocol.name}, {"estimate", nn::to_json(pi)}}}});
  }
  int64_t space = static_cast<int64_t>(e->trials.size());
  if (e->search) {
    auto size = e->search->space_size();
    if (!size.ok()) {
      std::cerr << "deepreduce plan: " << size.status().message() << "\n";
      return kExitUsage;
    }
    space = *size;
  }
  // GPU-hours at the given throughput; KD students also run their teacher's
  // forward pass (about a third of a step), which this leaves out.
  const double gpu_hours = ips > 0 ? total_images / ips / 3600.0 : 0;
  if (vm["json"].as<bool>()) {
    nlohmann::json out{{"name", e->name}, {"strategy", e->strategy}, {"space", space}, {"trials", rows}};
    if (all) {
      out["total_epochs"] = total_epochs;
      out["total_images"] = total_images;
      if (ips > 0) out["gpu_hours"] = gpu_hours;
    }
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";  // never a throw on bad UTF-8
    return kExitOk;
  }
  if (all) {
    std::cout << "experiment " << e->name << ": strategy " << e->strategy << ", the whole space at full budget: "
              << listed.size() << " trial(s)"
              << (e->search && e->sweep && e->sweep->strategy == "deepreduce"
                      ? std::string(" (culling order assumed: ") +
                            (vm.count("assume-order") ? vm["assume-order"].as<std::string>() : "the config's, else network order") + ")"
                      : std::string())
              << "\n\n"
              << t.render() << "\ntotal: " << with_commas(total_epochs) << " epochs, "
              << with_commas(static_cast<int64_t>(total_images)) << " training images";
    if (ips > 0)
      std::cout << ", about " << fixed(gpu_hours, 1) << " GPU-hours at " << fixed(ips, 0)
                << " images/s (KD students' teacher passes not counted)";
    else
      std::cout << " (give --images-per-second for GPU-hours)";
    std::cout << "\n";
    if (std::any_of(listed.begin(), listed.end(),
                    [](const storage::TrialSpec& s) { return s.job.train.linearize.budget > 0; }))
      std::cout << "(mask phases are priced at their epoch cap, mask_epochs: they stop once they meet their budget; "
                   "fine-tunings are listed with the counts their masks will keep, their ids known once the masks are)\n";
    return kExitOk;
  }
  if (e->search) {
    std::cout << "experiment " << e->name << ": strategy " << e->strategy << ", " << space
              << " trial(s) in the whole space at full budget (plan --all lists them); these " << e->trials.size()
              << " start first (later phases open as results arrive; KD students wait for their teacher)\n\n"
              << t.render();
  } else {
    std::cout << "experiment " << e->name << ": a list of " << e->trials.size()
              << " trial(s), all startable now (KD students wait for their teacher)\n\n"
              << t.render();
  }
  return kExitOk;
}

}  // namespace deepreduce::cli
