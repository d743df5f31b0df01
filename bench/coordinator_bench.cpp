// The coordinator alone: durable trial lifecycles per second (lease, ASSIGN,
// RESULT, complete, each synced by the coordinator's group commit) with no-op
// trials, 1, 8 and 64 workers on loopback TCP, each worker its own DEALER.
// Prints a Markdown table; bench/coordinator_vs_optuna.py adds Optuna's row.
//
// Usage: build/bench/coordinator_bench [--trials N] [--workers 1,8,64]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <thread>

#include "coordinator/coordinator.h"
#include "storage/store.h"
#include "worker/worker.h"

using namespace deepreduce;
using Clock = std::chrono::steady_clock;

double run(int trials, int workers, int port) {
  const auto dir = std::filesystem::temp_directory_path() / ("deepreduce_coord_bench_" + std::to_string(port));
  std::filesystem::remove_all(dir);
  storage::StoreOptions so;
  so.durability = storage::Durability::kGroupCommit;
  auto store = std::move(*storage::open_store(dir.string(), so));
  std::vector<spec::TrialSpec> specs(trials);
  for (int i = 0; i < trials; ++i) {
    specs[i].kind = deepreduce::spec::TrialKind::kNoop;
    specs[i].job.train.seed = i;
  }
  if (!store->add_trials("bench", specs).ok() || !store->sync().ok()) {
    std::fprintf(stderr, "coordinator_bench: cannot add the trials\n");
    std::exit(1);
  }
  zmq::context_t ctx;
  coordinator::CoordinatorOptions co;
  co.bind = "tcp://127.0.0.1:" + std::to_string(port);
  coordinator::Coordinator c(ctx, *store, co);
  std::vector<std::unique_ptr<worker::Worker>> ws;
  for (int i = 0; i < workers; ++i) {
    worker::WorkerOptions wo;
    wo.connect = co.bind;
    wo.name = "bench-" + std::to_string(i);
    ws.push_back(std::make_unique<worker::Worker>(ctx, wo));
  }
  Status result;
  auto t0 = Clock::now();
  std::thread ct([&] { result = c.run(); });
  std::vector<std::thread> wt;
  for (auto& w : ws) wt.emplace_back([&w] { (void)w->run(); });
  ct.join();
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  for (auto& w : ws) w->request_stop();
  for (auto& t : wt) t.join();
  const auto done = store->trial_ids(storage::TrialState::kDone, trials + 1)->size();
  store.reset();
  std::filesystem::remove_all(dir);
  if (!result.ok() || static_cast<int>(done) != trials) {
    std::fprintf(stderr, "bench run failed: %s, %zu of %d done\n", result.message().c_str(), done, trials);
    return 0;
  }
  return trials / secs;
}

int main(int argc, char** argv) {
  int trials = 5000;
  std::vector<int> workers = {1, 8, 64};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--trials") trials = std::stoi(argv[i + 1]);
    if (k == "--workers") {
      workers.clear();
      std::stringstream ss(argv[i + 1]);
      std::string w;
      while (std::getline(ss, w, ',')) workers.push_back(std::stoi(w));
    }
  }
  std::printf("%d no-op trials per run; store synced once per coordinator loop iteration (group commit)\n\n", trials);
  std::printf("| system | workers | lifecycles/s |\n|---|---|---|\n");
  int port = 27000 + static_cast<int>(::getpid() % 1000);
  for (int w : workers) std::printf("| deepreduce coordinator | %d | %.0f |\n", w, run(trials, w, port++));
  return 0;
}
