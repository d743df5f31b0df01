// Micro-benchmarks (Google Benchmark) of the torch-free pieces on the paths a
// large experiment repeats: resolving and counting a network (every planned
// trial), a trial's id (every added trial), a protocol message checked and
// decoded (every message from a worker), an artifact's digest (every model
// stored or fetched), a Pareto front (every report and strategy turn), a sweep
// parsed and expanded (every plan/run).
//
//   build/bench/micro_bench                      # all
//   build/bench/micro_bench --benchmark_filter=Count
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "common/digest.h"
#include "protocol/protocol.h"
#include "report/pareto.h"
#include "search/sweep.h"
#include "spec/counts.h"
#include "spec/model_spec.h"
#include "spec/trial.h"

namespace dr = deepreduce;

namespace {

dr::spec::ModelSpec spec_of(const std::string& arch, int64_t classes) {
  dr::spec::ModelSpec s;
  s.arch = arch;
  s.classes = classes;
  return s;
}

// Resolving a spec into layers and counting its ReLUs, MACs and parameters.
void BM_Count(benchmark::State& state, const std::string& arch, int64_t classes) {
  const dr::spec::ModelSpec spec = spec_of(arch, classes);
  for (auto _ : state) {
    auto c = dr::spec::count(spec);
    if (!c.ok()) state.SkipWithError(c.status().message().c_str());
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK_CAPTURE(BM_Count, resnet18, std::string("resnet18"), 100);
BENCHMARK_CAPTURE(BM_Count, resnet56, std::string("resnet56"), 10);
BENCHMARK_CAPTURE(BM_Count, wrn22_8, std::string("wrn22-8"), 100);

// A trial's id: canonical JSON of its spec, hashed.
void BM_TrialId(benchmark::State& state) {
  dr::spec::TrialSpec t;
  t.job.model = spec_of("resnet18", 100);
  t.job.model.relu_off = {"s1.b0.relu1", "s1.b1.relu1", "s2.b0.relu1"};
  int64_t seed = 0;
  for (auto _ : state) {
    t.job.train.seed = seed++;
    benchmark::DoNotOptimize(dr::spec::trial_id(t));
  }
}
BENCHMARK(BM_TrialId);

// A RESULT from a worker: frames bounded, parsed and every field checked.
void BM_DecodeResult(benchmark::State& state) {
  namespace p = dr::protocol;
  const auto frames = p::encode(p::make(
      p::Type::kResult, {{"trial", std::string(32, 'a')},
                         {"attempt", 1},
                         {"lease", std::string(32, 'b')},
                         {"result", {{"top1", 71.9}, {"top5", 91.2}, {"epochs", 30}, {"seconds", 812.5}}},
                         {"model", {{"size", 4461024}, {"blake2b", std::string(64, 'c')}}}}));
  for (auto _ : state) {
    auto m = p::decode(frames);
    if (!m.ok()) state.SkipWithError(m.status().message().c_str());
    benchmark::DoNotOptimize(m);
  }
}
BENCHMARK(BM_DecodeResult);

// BLAKE2b-256 of an artifact's bytes.
void BM_Digest(benchmark::State& state) {
  const std::string bytes(static_cast<size_t>(state.range(0)), 'x');
  for (auto _ : state) benchmark::DoNotOptimize(dr::blake2b_hex(bytes));
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Digest)->Arg(1 << 20)->Arg(16 << 20);

// The front of N random (ReLUs, top-1) points.
void BM_ParetoFront(benchmark::State& state) {
  std::mt19937 rng(1);
  std::vector<dr::report::Point> points(static_cast<size_t>(state.range(0)));
  for (auto& p : points) {
    p.relus = std::uniform_int_distribution<int64_t>(1000, 600000)(rng);
    p.accuracy = std::uniform_real_distribution<double>(10, 80)(rng);
  }
  for (auto _ : state) benchmark::DoNotOptimize(dr::report::pareto_front(points));
  state.SetComplexityN(state.range(0));
}
BENCHMARK(BM_ParetoFront)->RangeMultiplier(10)->Range(100, 100000)->Complexity();

// A DeepReDuce sweep parsed (YAML, every key checked) into its config.
void BM_ParseSweep(benchmark::State& state) {
  const std::string yaml =
      "name: bench\n"
      "dataset: {name: cifar10, path: /data/cifar-10-batches-bin}\n"
      "model: {arch: resnet18}\n"
      "train: {epochs: 200, batch: 128, lr: 0.1, seeds: [0, 1]}\n"
      "search: {strategy: deepreduce, phases: [criticality, culling, thinning, reshaping], rho: [0.5],\n"
      "         kd: [false, true]}\n"
      "channel_pruning: {criteria: [l1, fpgm], macs: [0.5, 0.3], epochs: 20, lr: 0.02}\n";
  for (auto _ : state) {
    auto c = dr::search::parse_sweep(yaml, "bench.yaml", /*require_data=*/false);
    if (!c.ok()) state.SkipWithError(c.status().message().c_str());
    benchmark::DoNotOptimize(c);
  }
}
BENCHMARK(BM_ParseSweep);

}  // namespace

BENCHMARK_MAIN();
