// The subcommands of the `deepreduce` binary. Each takes its own argv (argv[0]
// is the subcommand name) and returns the process exit code:
// 0 success, 1 failure at run time, 2 bad usage or bad input.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "common/status.h"
#include "storage/store.h"

namespace deepreduce::cli {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
// Stopped by SIGINT or SIGTERM before it was done (128 + SIGINT, as shells report it).
constexpr int kExitInterrupted = 130;

int count_main(int argc, char** argv);
int train_main(int argc, char** argv);
int status_main(int argc, char** argv);
int export_main(int argc, char** argv);
int keygen_main(int argc, char** argv);
int coordinator_main(int argc, char** argv);
int worker_main(int argc, char** argv);
int run_main(int argc, char** argv);
int plan_main(int argc, char** argv);
int report_main(int argc, char** argv);
int retry_main(int argc, char** argv);
int migrate_main(int argc, char** argv);
int verify_main(int argc, char** argv);
int repair_main(int argc, char** argv);
int export_model_main(int argc, char** argv);

// Where `run` and `report` put a store's report by default: runs/x.db -> runs/x-report.
std::string report_dir_for(const std::string& db);
// The built-in reference sets as a table with their sources (report --list-references).
std::string reference_sets_text();
// Builds and writes the report of `store` into `dir`, prints the front and the
// report's path to `os`; returns the path of report.html.
// Writes the report of `store` into `dir` and prints its front; `budgets`
// (ReLU counts a user asks about) join the report's per-budget table, and for
// each the best network within it is printed.
Result<std::string> write_store_report(storage::Store& store, const std::string& dir, std::ostream& os,
                                       const std::vector<int64_t>& budgets = {});

}  // namespace deepreduce::cli
