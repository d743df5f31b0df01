// What the commands that run an experiment share (coordinator, run, worker):
// signals, the log line format, loading a CONFIG into a store, the summary and
// the failure report at the end. Torch-free: the `deepreduce` binary links it,
// and so does `deepreduce-torch`, whose run and worker commands train.
#pragma once

#include <boost/program_options.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "cli/live_page.h"
#include "common/log.h"
#include "cli/trial_list.h"
#include "coordinator/coordinator.h"
#include "storage/store.h"

namespace deepreduce::cli {

// SIGINT/SIGTERM received so far (the handlers only count).
extern std::atomic<int> g_signals;
void install_signal_handlers();

// Calls `stop` once a SIGINT/SIGTERM arrives; ends with the returned guard.
class SignalWatch {
 public:
  explicit SignalWatch(std::function<void()> stop) : thread_([this, stop] {
    while (!done_.load()) {
      if (g_signals.load() > 0) {
        stop();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }) {}
  ~SignalWatch() {
    done_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// The experiment named by the CONFIG argument, or nullopt after saying why.
std::optional<Experiment> experiment_arg(const boost::program_options::variables_map& vm, const std::string& command);
// Opens the store, records the experiment and adds its trials (idempotent:
// a second run on the same store adds nothing new and resumes).
Result<std::unique_ptr<storage::Store>> prepare_store(const std::string& db, const Experiment& list);
// Where a store may be made: its folder's parents are folders (made when
// missing) on a writable filesystem, and not inside another store. The message
// names --db and what is wrong with it.
Status check_db_path(const std::string& db);
// "  blocked 0  pending 3  leased 1 ...", and the total in `total`.
std::string state_counts(const std::vector<std::pair<storage::TrialState, int64_t>>& counts, int64_t& total);
// The trials as a table (up to 100; past that, the counts per state).
void print_summary(storage::Store& store, const std::string& db);
// After a run: 0 when no trial failed; else what failed, why the search is
// blocked (if it is) and how to retry, and 1.
int report_failures(storage::Store& store, const Experiment& e, const std::string& db, const std::string& command);
// --max-attempts, --max-lost, --http (the live page) for run and coordinator.
void add_experiment_options(boost::program_options::options_description& desc);
bool read_limits(const boost::program_options::variables_map& vm, coordinator::CoordinatorOptions& o,
                 const std::string& command);
// The live page when --http is given (nullptr otherwise).
// Bound before the store is opened; attach() it once it is.
Result<std::unique_ptr<LivePage>> live_page(const boost::program_options::variables_map& vm,
                                            const std::string& db, Log log);

}  // namespace deepreduce::cli
