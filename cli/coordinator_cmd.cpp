// deepreduce keygen / coordinator: the two commands of a distributed run
// that train nothing (the workers are `deepreduce worker`, cli/run_cmds.cpp).
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
  std::error_code ec;
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) {
    std::cerr << "deepreduce keygen: --out " << prefix << ": cannot create the folder " << parent.string() << ": "
              << ec.message() << "\n";
    return kExitFailure;
  }
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
  if (Status where = check_db_path(vm["db"].as<std::string>()); !where.ok()) {
    std::cerr << "deepreduce coordinator: " << where.message() << " (nothing was created)\n";
    return where.code() == Status::Code::kInvalidArgument ? kExitUsage : kExitFailure;
  }
  if (auto opened = prepare_store(vm["db"].as<std::string>(), *list); opened.ok()) {
    store = std::move(*opened);
  } else {
    std::cerr << "deepreduce coordinator: " << opened.status().message() << "\n";
    return kExitFailure;
  }
  if (*page) (*page)->attach(*store);
  std::vector<spec::TrialSpec>().swap(list->trials);  // stored now: the store is the truth
  storage::Store* raw = store.get();
  // The strategy reads the store incrementally: one observer across its turns.
  auto observer = std::make_shared<search::Observer>();
  if (list->search)
    o.expand = [raw, list, observer, log = o.log]() -> Result<int64_t> {
      // Which strategy added which trials, with which roles, as phases open.
      std::vector<spec::TrialSpec> added;
      auto n = search::expand(*raw, list->name, *list->search, *observer, &added);
      if (n.ok() && *n > 0) log("added " + search::added_text(added));
      return n;
    };
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

}  // namespace deepreduce::cli
