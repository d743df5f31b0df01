// Durable trial lifecycles per second of the RocksDB store: add, lease,
// progress, complete (with a result), with every call synced vs group commit
// (sync() every N lifecycles). Prints a Markdown table.
//
// Usage: build/bench/store_bench [--trials N] [--dir DIR]
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include <cstdlib>

#include "storage/store.h"

// A benchmark whose store refuses a call measures nothing: stop with why.
static void must(const deepreduce::Status& s) {
  if (s.ok()) return;
  std::fprintf(stderr, "store_bench: %s\n", s.message().c_str());
  std::exit(1);
}

using namespace deepreduce::storage;
using Clock = std::chrono::steady_clock;

double run(const std::string& dir, Durability d, int trials, int group) {
  std::filesystem::remove_all(dir);
  StoreOptions o;
  o.durability = d;
  auto store = (*open_store(dir, o));
  std::vector<TrialSpec> specs(trials);
  for (int i = 0; i < trials; ++i) specs[i].job.train.seed = i;
  auto t0 = Clock::now();
  for (int i = 0; i < trials; ++i) {
    const std::string id = trial_id(specs[i]);
    must(store->add_trials("bench", {specs[i]}).status());
    must(store->lease(id, "w", now_ms() + 10000, "0123456789abcdef0123456789abcdef").status());
    must(store->record_progress(id, "w", {{"epoch", 1}}));
    must(store->complete(id, "w", 1, "0123456789abcdef0123456789abcdef", {{"top1", 50.0}}, std::nullopt));
    if (d == Durability::kGroupCommit && (i + 1) % group == 0) must(store->sync());
  }
  must(store->sync());
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  store.reset();
  std::filesystem::remove_all(dir);
  return trials / secs;
}

int main(int argc, char** argv) {
  int trials = 2000;
  std::string dir = (std::filesystem::temp_directory_path() / "deepreduce_store_bench").string();
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--trials") trials = std::stoi(argv[i + 1]);
    if (std::string(argv[i]) == "--dir") dir = argv[i + 1];
  }
  std::printf("%d trial lifecycles (add, lease, progress, complete = 4 state-changing writes each), store in %s\n\n",
              trials, dir.c_str());
  std::printf("| durability | lifecycles/s | writes/s |\n|---|---|---|\n");
  const double sync = run(dir, Durability::kSync, trials, 1);
  std::printf("| sync every write | %.0f | %.0f |\n", sync, 4 * sync);
  for (int group : {10, 100}) {
    const double g = run(dir, Durability::kGroupCommit, trials, group);
    std::printf("| group commit, sync every %d lifecycles | %.0f | %.0f |\n", group, g, 4 * g);
  }
  return 0;
}
