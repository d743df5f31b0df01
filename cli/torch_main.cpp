// deepreduce-torch: the commands that train or load networks (LibTorch).
// `deepreduce train|worker|run|export-model ...` runs this executable with the
// same arguments; it can be run directly too.
#include <cstring>
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "common/process.h"
#include "protocol/protocol.h"
#include "storage/store.h"

namespace {

struct Command {
  const char* name;
  int (*main)(int, char**);
};

const Command kCommands[] = {
    {"train", deepreduce::cli::train_main},
    {"worker", deepreduce::cli::worker_main},
    {"run", deepreduce::cli::run_main},
    {"export-model", deepreduce::cli::export_model_main},
};

}  // namespace

int main(int argc, char** argv) {
  deepreduce::tune_allocator_for_training();
  const std::string cmd = argc >= 2 ? argv[1] : "";
  if (cmd == "--version" || cmd == "version") {
    std::cout << "deepreduce-torch " << DEEPREDUCE_VERSION << " (protocol " << deepreduce::protocol::kVersion
              << ", store schema " << deepreduce::storage::kSchemaVersion << ")\n";
    return deepreduce::cli::kExitOk;
  }
  for (const auto& c : kCommands) {
    if (cmd != c.name) continue;
    try {
      return c.main(argc - 1, argv + 1);
    } catch (const std::exception& e) {
      std::cerr << "deepreduce " << cmd << ": " << e.what() << "\n";
      return deepreduce::cli::kExitFailure;
    }
  }
  std::cerr << "deepreduce-torch: the commands that train: train, worker, run, export-model (deepreduce --help lists "
               "all)\n";
  return deepreduce::cli::kExitUsage;
}
