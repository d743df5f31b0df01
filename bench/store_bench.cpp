// Durable trial lifecycles per second of the RocksDB store (Google Benchmark):
// add, lease, progress, complete with a result (4 state-changing writes), each
// call synced, or group commit with sync() every N lifecycles as the
// coordinator does once per loop. items_per_second is lifecycles per second.
//
//   build/bench/store_bench [--benchmark_min_time=2]    (stores in $TMPDIR)
#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>
#include <vector>

#include "storage/store.h"

namespace {

using namespace deepreduce::storage;
namespace spec = deepreduce::spec;

// One lifecycle per iteration; arg 0 = the group size (0: every call synced).
void BM_Lifecycle(benchmark::State& state) {
  const int64_t group = state.range(0);
  const auto dir = std::filesystem::temp_directory_path() / "deepreduce_store_bench";
  std::filesystem::remove_all(dir);
  StoreOptions o;
  o.durability = group == 0 ? Durability::kSync : Durability::kGroupCommit;
  auto opened = open_store(dir.string(), o);
  if (!opened.ok()) {
    state.SkipWithError(opened.status().message().c_str());
    return;
  }
  auto store = std::move(*opened);
  const std::string lease = "0123456789abcdef0123456789abcdef";
  auto must = [&](const deepreduce::Status& s) {
    if (!s.ok()) state.SkipWithError(s.message().c_str());
    return s.ok();
  };
  int64_t i = 0;
  for (auto _ : state) {
    spec::TrialSpec spec;
    spec.job.train.seed = i++;
    const std::string id = spec::trial_id(spec);
    if (!must(store->add_trials("bench", {spec}).status()) ||
        !must(store->lease(id, "w", now_ms() + 10000, lease).status()) ||
        !must(store->record_progress(id, "w", {{"epoch", 1}})) ||
        !must(store->complete(id, "w", 1, lease, {{"top1", 50.0}}, std::nullopt)))
      break;
    if (group > 0 && i % group == 0 && !must(store->sync())) break;
  }
  must(store->sync());
  state.SetItemsProcessed(state.iterations());
  store.reset();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_Lifecycle)->ArgName("group")->Arg(0)->Arg(10)->Arg(100)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
