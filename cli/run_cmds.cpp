// deepreduce worker / run: the commands that train (a worker, and run: a
// coordinator with local workers). Built into deepreduce-torch, which
// `deepreduce` runs for them.
#include <filesystem>
#include <set>
#include <iostream>
#include <mutex>
#include <thread>

#include "cli/commands.h"
#include "cli/experiment_support.h"
#include "cli/live_page.h"
#include "cli/parse.h"
#include "common/format.h"
#include "protocol/transport.h"
#include "storage/store.h"
#include "spec/datasets.h"
#include "worker/worker.h"

namespace deepreduce::cli {
namespace po = boost::program_options;

int worker_main(int argc, char** argv) {
  po::options_description desc(
      "deepreduce worker: train trials for a coordinator. Reconnects with backoff if the\n"
      "coordinator goes away. One worker can drive several GPUs (--device cuda:0,cuda:1) and\n"
      "train several small trials on each (--slots-per-device).\n\n"
      "Usage: deepreduce worker --connect tcp://HOST:5555 [--device cuda:0] [--slots-per-device 2]\n\nOptions");
  // clang-format off
  desc.add_options()
    ("connect", po::value<std::string>()->default_value("tcp://127.0.0.1:5555"), "the coordinator's address")
    ("connect-file", po::value<std::string>(), "read the address from this file (coordinator --address-file), again "
                                               "before every reconnect")
    ("outlive-coordinator", po::bool_switch(), "when the coordinator stops (not finishes), hand trials back and "
                                               "wait for it instead of exiting (cluster jobs)")
    ("give-up-after", po::value<int>()->default_value(600),
     "seconds without the coordinator (never reached, or gone) before exiting with an error; 0: never")
    ("device", po::value<std::string>()->default_value("cpu"),
     "cpu, cuda, cuda:N, or a list cuda:0,cuda:1 (each trial goes to the device with the fewest)")
    ("threads", po::value<int>()->default_value(0), "CPU threads per trial (0: cores / slots)")
    ("slots", po::value<int>()->default_value(1), "trials trained at once, over all devices")
    ("slots-per-device", po::value<int>(),
     "trials trained at once on each device (slots = devices x this); 2-4 raise a GPU's throughput on small "
     "networks")
    ("data-root", po::value<std::string>(), "read datasets from here (DIR/<dataset> or DIR) instead of the trials' paths")
    ("scratch", po::value<std::string>(), "folder for trials in progress (default: a temp folder)")
    ("name", po::value<std::string>(), "this worker's name (default host:pid:random)")
    ("checkpoint-every", po::value<int>()->default_value(1), "send a checkpoint every K epochs")
    ("curve-public", po::value<std::string>(), "this worker's CURVE public key file")
    ("curve-secret", po::value<std::string>(), "this worker's CURVE secret key file")
    ("server-key", po::value<std::string>(), "the coordinator's CURVE public key file")
    ("help,h", "show this help");
  // clang-format on
  add_log_options(desc);
  po::variables_map vm;
  if (auto done = parse_command(argc, argv, desc, vm, "worker")) return *done;
  if (!apply_log_options(vm, "worker")) return kExitUsage;
  worker::WorkerOptions o;
  o.connect = vm["connect"].as<std::string>();
  if (vm.count("connect-file")) o.connect_file = vm["connect-file"].as<std::string>();
  o.give_up_after_ms = int64_t{vm["give-up-after"].as<int>()} * 1000;
  o.outlive_coordinator = vm["outlive-coordinator"].as<bool>();
  if (Status s = protocol::check_endpoint(o.connect, false); !s.ok() && o.connect_file.empty()) {
    std::cerr << "deepreduce worker: --connect " << s.message() << "\n";
    return kExitUsage;
  }
  o.device = vm["device"].as<std::string>();
  o.threads = vm["threads"].as<int>();
  o.slots = vm["slots"].as<int>();
  if (vm.count("slots-per-device")) {
    if (!vm["slots"].defaulted()) {
      std::cerr << "deepreduce worker: --slots and --slots-per-device: give one of them\n";
      return kExitUsage;
    }
    o.slots_per_device = vm["slots-per-device"].as<int>();
  }
  const int devices = static_cast<int>(worker::device_list(o.device).size());
  const int slots = o.slots_per_device > 0 ? o.slots_per_device * std::max(1, devices) : o.slots;
  if (devices < 1 || devices > 16 || slots < 1 || slots > protocol::kMaxSlots ||
      (vm.count("slots-per-device") && o.slots_per_device < 1)) {
    std::cerr << "deepreduce worker: --device names 1 to 16 devices and the slots come to 1 to "
              << protocol::kMaxSlots << " (got " << devices << " device(s), " << slots << " slot(s))\n";
    return kExitUsage;
  }
  o.checkpoint_every = vm["checkpoint-every"].as<int>();
  if (vm.count("data-root")) o.data_root = vm["data-root"].as<std::string>();
  if (vm.count("scratch")) o.scratch = vm["scratch"].as<std::string>();
  if (vm.count("name")) o.name = vm["name"].as<std::string>();
  const int curve_args = vm.count("curve-public") + vm.count("curve-secret") + vm.count("server-key");
  if (curve_args) {
    if (curve_args != 3) {
      std::cerr << "deepreduce worker: --curve-public, --curve-secret and --server-key go together\n";
      return kExitUsage;
    }
    auto pub = protocol::read_key_file(vm["curve-public"].as<std::string>());
    auto sec = protocol::read_key_file(vm["curve-secret"].as<std::string>());
    auto srv = protocol::read_key_file(vm["server-key"].as<std::string>());
    for (const auto* k : {&pub, &sec, &srv})
      if (!k->ok()) {
        std::cerr << "deepreduce worker: " << k->status().message() << "\n";
        return kExitUsage;
      }
    o.curve = worker::CurveClient{*pub, *sec, *srv};
  }
  o.log = logger("worker");
  install_signal_handlers();
  zmq::context_t context;
  worker::Worker w(context, o);
  SignalWatch watch([&] { w.request_stop(); });
  Status s = w.run();
  if (!s.ok()) {
    std::cerr << "deepreduce worker: " << s.message() << "\n";
    return kExitFailure;
  }
  return kExitOk;
}

namespace {

// The data every trial of `list` reads, as the local workers will find it
// (under --data-root when given, as the worker does): checked, not read.
Status local_data_readable(const Experiment& list, const std::string& data_root) {
  std::set<std::pair<std::string, std::string>> wanted;
  auto add = [&](const spec::DataOptions& d) {
    wanted.insert({d.dataset, spec::data_dir_under_root(data_root, d.dataset, d.data_dir)});
  };
  if (list.sweep) add(list.sweep->base.data);
  for (const auto& t : list.trials) add(t.job.data);
  for (const auto& [dataset, dir] : wanted)
    if (Status s = spec::check_data_files(dataset, dir); !s.ok()) return s;
  return Status();
}

}  // namespace

int run_main(int argc, char** argv) {
  po::options_description desc(
      "deepreduce run: runs an experiment on this machine: a coordinator and local workers in one process, on a\n"
      "store in a local folder. Run it again on the same store and it resumes: finished trials are\n"
      "not trained again.\n\n"
      "Usage: deepreduce run CONFIG [--db DIR] [--workers N]\n\nOptions");
  // clang-format off
  desc.add_options()
    ("config", po::value<std::string>(), "the experiment: a sweep config (with search:) or a YAML trial list")
    ("db", po::value<std::string>(), "the store folder (default: runs/<experiment name>.db)")
    ("workers", po::value<int>()->default_value(1), "local workers (trials trained at once)")
    ("threads", po::value<int>()->default_value(0), "CPU threads per worker (0: cores / workers)")
    ("device", po::value<std::string>()->default_value("cpu"), "cpu, cuda or cuda:N")
    ("data-root", po::value<std::string>(), "read datasets from here instead of the trials' paths")
    ("help,h", "show this help");
  // clang-format on
  add_experiment_options(desc);
  add_log_options(desc);
  po::variables_map vm;
  if (auto done = parse_command(argc, argv, desc, vm, "run", "config")) return *done;
  if (!apply_log_options(vm, "run")) return kExitUsage;
  coordinator::CoordinatorOptions co;
  if (!read_limits(vm, co, "run")) return kExitUsage;
  auto list = experiment_arg(vm, "run");
  if (!list) return kExitUsage;
  // A signal from here on stops it cleanly (nothing half-written).
  install_signal_handlers();
  // What can be checked is checked before anything is created: the data the
  // local workers will read, and the live page's port.
  if (Status s = local_data_readable(*list, vm.count("data-root") ? vm["data-root"].as<std::string>() : "");
      !s.ok()) {
    std::cerr << "deepreduce run: the experiment's data is not readable here: " << s.message()
              << "\n(nothing was created; give the dataset's path in the config, or --data-root)\n";
    return kExitFailure;
  }
  const std::string db = vm.count("db") ? vm["db"].as<std::string>() : "runs/" + list->name + ".db";
  std::unique_ptr<storage::Store> store;  // outlives the page, which reads it
  auto page = live_page(vm, db, logger("run"));
  if (!page.ok()) {
    std::cerr << "deepreduce run: " << page.status().message() << " (nothing was created)\n";
    return kExitUsage;
  }
  if (Status where = check_db_path(db); !where.ok()) {
    std::cerr << "deepreduce run: " << where.message() << " (nothing was created)\n";
    return where.code() == Status::Code::kInvalidArgument ? kExitUsage : kExitFailure;
  }
  if (auto opened = prepare_store(db, *list); opened.ok()) {
    store = std::move(*opened);
  } else {
    std::cerr << "deepreduce run: " << opened.status().message() << "\n";
    return kExitFailure;
  }
  if (*page) (*page)->attach(*store);
  std::vector<spec::TrialSpec>().swap(list->trials);  // stored now: the store is the truth
  zmq::context_t context;
  co.bind = "inproc://deepreduce-run";
  co.log = logger("run");
  // The workers of an earlier run died with it: its leases go back at once, uncharged.
  co.restart_grace_ms = 0;
  storage::Store* raw = store.get();
  // The strategy reads the store incrementally: one observer across its turns.
  auto observer = std::make_shared<search::Observer>();
  if (list->search)
    co.expand = [raw, &list, observer, log = co.log]() -> Result<int64_t> {
      // Which strategy added which trials, with which roles, as phases open.
      std::vector<spec::TrialSpec> added;
      auto n = search::expand(*raw, list->name, *list->search, *observer, &added);
      if (n.ok() && *n > 0) log("added " + search::added_text(added));
      return n;
    };
  const int n = std::max(1, vm["workers"].as<int>());
  co.local_workers = n;
  coordinator::Coordinator c(context, *store, co);
  std::vector<std::unique_ptr<worker::Worker>> workers;
  for (int i = 0; i < n; ++i) {
    worker::WorkerOptions wo;
    wo.connect = co.bind;
    wo.name = "local-" + std::to_string(i + 1);
    wo.device = vm["device"].as<std::string>();
    wo.threads = vm["threads"].as<int>() > 0 ? vm["threads"].as<int>()
                                               : std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / n);
    if (vm.count("data-root")) wo.data_root = vm["data-root"].as<std::string>();
    workers.push_back(std::make_unique<worker::Worker>(context, wo));
  }
  Status result;
  std::mutex worker_mu;
  std::string worker_error;  // why the last local worker ended before the experiment did
  int workers_ended = 0;
  {
    SignalWatch watch([&] { c.request_stop(); });
    std::thread coordinator_thread([&] { result = c.run(); });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // bound before workers connect
    std::vector<std::thread> threads;
    for (auto& w : workers)
      threads.emplace_back([&, raw = w.get()] {
        Status s = raw->run();
        std::lock_guard<std::mutex> lock(worker_mu);
        if (!s.ok()) worker_error = s.message();
        // No local worker left (a missing device, every one quarantined): the
        // coordinator would wait for workers that cannot come.
        if (++workers_ended == n && !worker_error.empty()) c.request_stop();
      });
    coordinator_thread.join();
    for (auto& w : workers) w->request_stop();
    for (auto& t : threads) t.join();
  }
  if (!result.ok() || (!worker_error.empty() && workers_ended == n && !g_signals.load())) {
    std::cerr << "deepreduce run: " << (!result.ok() ? result.message() : "no local worker left: " + worker_error)
              << "\n(no trial was charged for this: fix the cause and run the same command again)\n";
    return kExitFailure;
  }
  if (g_signals.load() > 0) {
    // Interrupted: what is left is said, and the last whole report stays as it was.
    int64_t left = 0;
    if (auto counts = store->count_by_state(); counts.ok())
      for (const auto& [state, k] : *counts)
        if (state == storage::TrialState::kPending || state == storage::TrialState::kBlocked ||
            state == storage::TrialState::kLeased)
          left += k;
    std::cerr << "deepreduce run: interrupted: " << counted(left, "trial") << " left; the finished ones are kept in "
              << db << ". Run the same command again to resume (the report is written when the experiment ends)\n";
    return kExitInterrupted;
  }
  print_summary(*store, db);
  std::cout << "store: " << db << " (deepreduce status --db " << db << ")\n";
  if (list->search) {
    std::cout << "\n";
    auto report = write_store_report(*store, report_dir_for(db), std::cout);
    if (!report.ok()) std::cerr << "deepreduce run: report: " << report.status().message() << "\n";
  }
  return report_failures(*store, *list, db, "run");
}

}  // namespace deepreduce::cli
