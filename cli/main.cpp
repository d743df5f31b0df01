// deepreduce: find networks with few ReLUs for private inference.
//
// Two executables: this one (no LibTorch: plans, stores, reports, the
// coordinator, start in milliseconds) and deepreduce-torch beside it, which it
// runs (execv: same process, same pid, same signals) for the commands that
// train or load networks: train, worker, run, export-model.
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "common/nearest.h"
#include "protocol/protocol.h"
#include "storage/store.h"

namespace {

struct Command {
  const char* name;
  int (*main)(int, char**);  // nullptr: a deepreduce-torch command
  const char* summary;
};

const Command kCommands[] = {
    {"plan", deepreduce::cli::plan_main, "validate an experiment config and list its trials, without training"},
    {"run", nullptr, "run an experiment here: coordinator and local workers, resumable"},
    {"coordinator", deepreduce::cli::coordinator_main, "serve an experiment's trials to workers over ZeroMQ"},
    {"worker", nullptr, "train trials for a coordinator (one per GPU)"},
    {"keygen", deepreduce::cli::keygen_main, "a CURVE key pair for coordinator or worker"},
    {"count", deepreduce::cli::count_main,
     "exact ReLU / MAC / parameter counts of a network, per stage"},
    {"train", nullptr, "train one network (a trial), with or without KD; resumable"},
    {"status", deepreduce::cli::status_main, "experiments, trial states, running trials and failures of a store"},
    {"retry", deepreduce::cli::retry_main, "put failed trials of a store back in the queue"},
    {"verify", deepreduce::cli::verify_main, "check every record and artifact of a store; name what is damaged"},
    {"repair", deepreduce::cli::repair_main, "train the damaged trials of a store again (what needs them waits)"},
    {"migrate", deepreduce::cli::migrate_main, "bring a store of an earlier deepreduce (schema 2) to this one"},
    {"export-model", nullptr, "a found network as ONNX (or a state dict) with a JSON sidecar"},
    {"export", deepreduce::cli::export_main, "one CSV/JSON row per trial of a store"},
    {"report", deepreduce::cli::report_main, "Pareto front, criticality table and pruning comparison as HTML + CSV"},
};

void usage(std::ostream& os) {
  os << "deepreduce: finds neural networks with few ReLUs for private inference (DeepReDuce,\n"
        "Jha et al., ICML 2021).\n\nUsage: deepreduce <command> [options]\n\nCommands:\n";
  for (const auto& c : kCommands) os << "  " << c.name << std::string(14 - std::strlen(c.name), ' ') << c.summary << "\n";
  os << "\nRun 'deepreduce help <command>' (or 'deepreduce <command> --help') for a command's options;\n"
        "'deepreduce --version' for the version.\n";
}

// "; did you mean plan?" for a name near a command, else "".
std::string did_you_mean_command(const std::string& given) {
  std::vector<std::string> names;
  for (const auto& c : kCommands) names.push_back(c.name);
  const std::string near = deepreduce::nearest(given, names);
  return near.empty() ? "" : "; did you mean " + near + "?";
}

// deepreduce-torch, beside this executable.
std::string torch_binary() {
  char self[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "deepreduce-torch";
  self[n] = '\0';
  return (std::filesystem::path(self).parent_path() / "deepreduce-torch").string();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(std::cerr);
    return deepreduce::cli::kExitUsage;
  }
  std::string cmd = argv[1];
  // `deepreduce help CMD` is `deepreduce CMD --help`.
  std::vector<char*> help_args;
  static char help_flag[] = "--help";
  if (cmd == "help" && argc >= 3) {
    cmd = argv[2];
    help_args = {argv[0], argv[2], help_flag, nullptr};
    argc = 3;
    argv = help_args.data();
    bool known = false;
    for (const auto& c : kCommands) known |= cmd == c.name;
    if (!known) {
      std::cerr << "deepreduce help: unknown command \"" << cmd << "\"" << did_you_mean_command(cmd)
                << " (deepreduce --help lists the commands)\n";
      return deepreduce::cli::kExitUsage;
    }
  }
  if (cmd == "--version" || cmd == "version") {
    std::cout << "deepreduce " << DEEPREDUCE_VERSION << " (protocol " << deepreduce::protocol::kVersion
              << ", store schema " << deepreduce::storage::kSchemaVersion << ")\n";
    return deepreduce::cli::kExitOk;
  }
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    usage(std::cout);
    return deepreduce::cli::kExitOk;
  }
  for (const auto& c : kCommands) {
    if (cmd != c.name) continue;
    if (!c.main) {
#ifdef DEEPREDUCE_WITHOUT_TORCH
      std::cerr << "deepreduce " << cmd << ": this build has no LibTorch (configured with "
                << "-DDEEPREDUCE_WITH_TORCH=OFF); " << cmd << " trains or loads networks and needs a build with it\n";
      return deepreduce::cli::kExitFailure;
#endif
      const std::string torch = torch_binary();
      std::vector<char*> args(argv, argv + argc);
      args[0] = const_cast<char*>(torch.c_str());
      args.push_back(nullptr);
      execv(torch.c_str(), args.data());
      std::cerr << "deepreduce " << cmd << ": cannot run " << torch << " (" << std::strerror(errno)
                << "): it trains and loads networks and is built beside deepreduce (scripts/build.sh)\n";
      return deepreduce::cli::kExitFailure;
    }
    try {
      return c.main(argc - 1, argv + 1);
    } catch (const std::exception& e) {
      std::cerr << "deepreduce " << cmd << ": " << e.what() << "\n";
      return deepreduce::cli::kExitFailure;
    }
  }
  // A short answer: the command meant, or where the list is (not the whole help).
  std::cerr << "deepreduce: unknown command \"" << cmd << "\"" << did_you_mean_command(cmd)
            << " (deepreduce --help lists the commands)\n";
  return deepreduce::cli::kExitUsage;
}
