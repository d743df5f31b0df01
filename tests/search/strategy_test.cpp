// Strategies: the DeepReDuce pipeline's phases, successive halving, pruning
// trials, and replay on a real store after a restart.
#include "search/strategy.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <set>

#include "spec/counts.h"
#include "spec/relu_plan.h"
#include "storage/store.h"
#include "tests/storage/noop_trials.h"
#include "tests/test_dirs.h"

namespace deepreduce::search {
namespace {

using storage::TrialState;

SweepConfig config(const std::string& text) {
  auto c = parse_sweep(text, "test.yaml");
  EXPECT_TRUE(c.ok()) << c.status().message();
  return *c;
}

constexpr const char* kDeepReduce =
    "name: dr\ndataset: {name: synthetic}\nmodel: {arch: resnet18}\ntrain: {epochs: 4}\n"
    "search:\n  strategy: deepreduce\n  rho: [0.5]\n";

// The seed's criticality study of ResNet18 on CIFAR-100 (DESIGN.md), as results.
Seen seed_results(const SweepConfig& c) {
  const std::map<std::string, double> without = {{"stem", 46.22}, {"s1", 61.93}, {"s2", 67.63},
                                                 {"s3", 67.41},   {"s4", 58.90}, {"none", 18.49}};
  const std::map<std::string, double> with = {{"stem", 45.07}, {"s1", 59.85}, {"s2", 68.79},
                                               {"s3", 69.92},   {"s4", 63.16}, {"none", 18.34}};
  Seen seen;
  seen[spec::trial_id(baseline_trial(c))] = {TrialState::kDone, 75.0};
  for (const auto& t : criticality_trials(baseline_trial(c), {false, true}))
    seen[spec::trial_id(t.spec)] = {TrialState::kDone, (t.kd ? with : without).at(t.stage)};
  return seen;
}

std::vector<std::string> plans(const std::vector<PlannedTrial>& trials, const std::string& role, bool kd) {
  // role: its name
  std::vector<std::string> out;
  for (const auto& t : trials)
    if (spec::role_name(t.role) == role && t.spec.teacher.empty() != kd) out.push_back(spec::plan_summary(t.spec.job.model));
  return out;
}

TEST(StrategyTest, DeepReduceStartsWithTheBaselineAndTheCriticalityStudy) {
  const SweepConfig c = config(kDeepReduce);
  auto s = make_strategy(c);
  ASSERT_TRUE(s.ok());
  auto first = (*s)->propose({});
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 1u + 6 * 2);  // baseline; stem, s1..s4, none; without and with KD
  EXPECT_EQ((*first)[0].role, spec::Role::kBaseline);
  const std::vector<std::string> only = {"cull s1,s2,s3,s4", "cull stem,s2,s3,s4", "cull stem,s1,s3,s4",
                                         "cull stem,s1,s2,s4", "cull stem,s1,s2,s3", "none"};
  EXPECT_EQ(plans(*first, "criticality", false), only);
  EXPECT_EQ(plans(*first, "criticality", true), only);
  const std::string teacher = spec::trial_id((*first)[0].spec);
  for (const auto& t : *first)
    if (!t.spec.teacher.empty()) {
      EXPECT_EQ(t.spec.teacher, teacher);
    }
  // Nothing is culled before every stage is ranked.
  Seen partial = seed_results(c);
  partial.erase(spec::trial_id(criticality_trials(baseline_trial(c), {false})[2].spec));
  EXPECT_EQ((*s)->propose(partial)->size(), first->size());
}

TEST(StrategyTest, AFailedRankingTrialBlocksTheLaterPhasesAndSaysWhy) {
  const SweepConfig c = config(kDeepReduce);
  auto s = make_strategy(c);
  ASSERT_TRUE(s.ok());
  const size_t first = (*s)->propose({})->size();
  Seen seen = seed_results(c);
  EXPECT_EQ((*s)->blocked(seen), "");
  EXPECT_GT((*s)->propose(seen)->size(), first);
  // s2's network failed: no ranking on missing evidence, and the reason is given.
  seen[spec::trial_id(criticality_trials(baseline_trial(c), {false})[2].spec)] = {TrialState::kFailed, std::nullopt};
  EXPECT_EQ((*s)->propose(seen)->size(), first);
  EXPECT_NE((*s)->blocked(seen).find("criticality trial(s) of s2 failed"), std::string::npos) << (*s)->blocked(seen);
  seen[spec::trial_id(baseline_trial(c))] = {TrialState::kFailed, std::nullopt};
  EXPECT_NE((*s)->blocked(seen).find("the baseline failed"), std::string::npos);
}

TEST(StrategyTest, CullsThinsAndReshapesInTheSeedsCriticalityOrder) {
  const SweepConfig c = config(kDeepReduce);
  const Seen seen = seed_results(c);
  const CriticalityTable table = criticality_table(c, seen);
  ASSERT_TRUE(table.complete);
  std::map<std::string, int> rank;
  for (const auto& r : table.rows) rank[r.stage] = r.rank;
  EXPECT_EQ(rank, (std::map<std::string, int>{{"stem", 1}, {"s1", 2}, {"s4", 3}, {"s2", 4}, {"s3", 5}}));
  EXPECT_EQ(table.rows[0].relus, 65536);

  auto trials = (*make_strategy(c))->propose(seen);
  ASSERT_TRUE(trials.ok()) << trials.status().message();
  // Least critical first: stem, then S1, then S4 (paper Sec. 3.2). Culling S2
  // too leaves ReLUs in S3 only: that network is the criticality study's, trained once.
  const std::vector<std::string> culled = {"cull stem", "cull stem,s1", "cull stem,s1,s4"};
  EXPECT_EQ(plans(*trials, "culling", false), culled);
  EXPECT_EQ(plans(*trials, "culling", true), culled);
  EXPECT_EQ(plans(*trials, "thinning", false),
            (std::vector<std::string>{"cull stem thin s1,s2,s3,s4", "cull stem,s1 thin s2,s3,s4",
                                      "cull stem,s1,s4 thin s2,s3", "cull stem,s1,s2,s4 thin s3"}));
  std::vector<const PlannedTrial*> reshaped;
  for (const auto& t : *trials)
    if (t.role == spec::Role::kReshaping) reshaped.push_back(&t);
  ASSERT_EQ(reshaped.size(), 18u);  // all ReLUs and 8 reductions at rho 0.5, without and with KD
  for (const auto* t : reshaped) EXPECT_EQ(t->spec.job.model.rho, 0.5);
  // A thinned network has half the ReLUs of the stages it thins.
  const auto counts = *spec::count(baseline_trial(c).job.model);
  const int64_t expect = counts.stages[1].relus / 2 + counts.stages[2].relus / 2 + counts.stages[3].relus / 2 +
                         counts.stages[4].relus / 2;  // stem culled, s1..s4 thinned
  for (const auto& t : *trials) {
    if (t.role == spec::Role::kThinning && spec::plan_summary(t.spec.job.model) == "cull stem thin s1,s2,s3,s4") {
      EXPECT_EQ(spec::count(t.spec.job.model)->relus, expect);
    }
  }
  EXPECT_EQ(*(*make_strategy(c))->space_size(), static_cast<int64_t>(trials->size()));
}

// train.seeds: every network once per seed, each copy distilled from its own
// seed's teacher; decisions (the criticality ranking here) on the mean.
TEST(StrategyTest, SeedsTrainEveryNetworkPerSeedAndDecideOnTheMean) {
  const SweepConfig one = config(kDeepReduce);
  const SweepConfig two = config(
      "name: dr\ndataset: {name: synthetic}\nmodel: {arch: resnet18}\ntrain: {epochs: 4, seeds: [0, 7]}\n"
      "search:\n  strategy: deepreduce\n  rho: [0.5]\n");
  auto s1 = make_strategy(one), s2 = make_strategy(two);
  ASSERT_TRUE(s1.ok() && s2.ok());
  auto first = (*s1)->propose({}), both = (*s2)->propose({});
  ASSERT_TRUE(first.ok() && both.ok()) << both.status().message();
  ASSERT_EQ(both->size(), 2 * first->size());
  // The first seed's trials are the one-seed experiment's, unchanged ids.
  std::set<std::string> ids;
  for (const auto& t : *both) ids.insert(spec::trial_id(t.spec));
  for (const auto& t : *first) EXPECT_TRUE(ids.count(spec::trial_id(t.spec))) << spec::role_name(t.role);
  // Each copy's teacher is the baseline of its own seed.
  std::map<uint64_t, std::string> baseline;
  for (const auto& t : *both)
    if (t.role == spec::Role::kBaseline) baseline[t.spec.job.train.seed] = spec::trial_id(t.spec);
  ASSERT_EQ(baseline.size(), 2u);
  for (const auto& t : *both)
    if (!t.spec.teacher.empty()) {
      EXPECT_EQ(t.spec.teacher, baseline[t.spec.job.train.seed]);
    }

  // Seed 0 alone says the paper's order (stem, s1, s4, ...); seed 7 says s4 is
  // far more critical than s2 and s3: the mean ranks s4 last, so the culling
  // phase after stem and s1 culls s2, not s4.
  Seen seen = seed_results(one);
  for (const auto& t : *both) {
    if (t.spec.job.train.seed != 7) continue;
    const std::string id = spec::trial_id(t.spec);
    if (t.role == spec::Role::kBaseline) seen[id] = {TrialState::kDone, 75.0};
    if (t.role != spec::Role::kCriticality) continue;
    const std::string plan = spec::plan_summary(t.spec.job.model);
    double top1 = 20;
    if (plan == "cull s1,s2,s3,s4") top1 = 46;           // stem only
    if (plan == "cull stem,s2,s3,s4") top1 = 60;         // s1 only
    if (plan == "cull stem,s1,s3,s4") top1 = 60;         // s2 only
    if (plan == "cull stem,s1,s2,s4") top1 = 60;         // s3 only
    if (plan == "cull stem,s1,s2,s3") top1 = 95;         // s4 only
    seen[id] = {TrialState::kDone, top1};
  }
  auto table = criticality_table(two, (*s2)->decision_view(seen));
  ASSERT_TRUE(table.complete);
  std::map<std::string, int> rank;
  for (const auto& r : table.rows) rank[r.stage] = r.rank;
  EXPECT_EQ(rank["s4"], 5) << "the mean of 58.90 and 95 makes s4 the most critical stage";
  auto trials = (*s2)->propose(seen);
  ASSERT_TRUE(trials.ok()) << trials.status().message();
  std::set<std::string> culled;
  for (const auto& p : plans(*trials, "culling", false)) culled.insert(p);
  EXPECT_TRUE(culled.count("cull stem,s1")) << "culling opened on the mean ranking";
  EXPECT_FALSE(culled.count("cull stem,s1,s4"));
  // Only the seed-0 results: seed 7's criticality networks are not done, so nothing is culled.
  auto waiting = (*s2)->propose(seed_results(one));
  ASSERT_TRUE(waiting.ok());
  EXPECT_EQ(waiting->size(), both->size());
  EXPECT_EQ(*(*s2)->space_size(), 2 * *(*s1)->space_size());
}

TEST(StrategyTest, SeedErrorsNameTheLineAndTheKey) {
  // (the model and train sections of a sweep, the error); line 3 is the first of them.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"model: {arch: resnet18}\ntrain:\n  seeds: [1, 1]\n", "s.yaml:5: train.seeds: seed 1 is listed twice"},
      {"model: {arch: resnet18}\ntrain:\n  seed: 3\n  seeds: [1, 2]\n",
       "s.yaml:5: train.seed: give train.seed or train.seeds, not both"},
      {"model: {arch: resnet18}\ntrain:\n  seeds: [-1]\n", "s.yaml:5: train.seeds: expected seeds >= 0, got -1"},
      // The model's input side has the trial's key name, input_size, on every surface.
      {"model:\n  arch: resnet18\n  input: 64\n",
       "s.yaml:5: model.input: it is called input_size (the input's side in pixels)"},
  };
  auto sweep = [](const std::string& sections) {
    return parse_sweep("name: x\ndataset: {name: synthetic}\n" + sections + "search: {strategy: grid}\n", "s.yaml");
  };
  for (const auto& [sections, error] : cases) {
    auto parsed = sweep(sections);
    ASSERT_FALSE(parsed.ok()) << sections;
    EXPECT_EQ(parsed.status().message(), error);
  }
  auto sized = sweep("model:\n  arch: resnet18\n  input_size: 64\n");
  ASSERT_TRUE(sized.ok()) << sized.status().message();
  EXPECT_EQ(sized->base.model.input_size, 64);
}

TEST(StrategyTest, ReluBudgetAndPhasesRestrictTheCandidates) {
  SweepConfig c = config(std::string(kDeepReduce) + "  phases: [criticality, culling]\n  relu_budget: [100000, 400000]\n");
  auto trials = (*make_strategy(c))->propose(seed_results(c));
  ASSERT_TRUE(trials.ok());
  for (const auto& t : *trials) {
    EXPECT_NE(t.role, spec::Role::kThinning);
    EXPECT_NE(t.role, spec::Role::kReshaping);
    if (t.role == spec::Role::kCulling) {
      const int64_t relus = spec::count(t.spec.job.model)->relus;
      EXPECT_GE(relus, 100000);
      EXPECT_LE(relus, 400000);
    }
  }
  // Without the criticality phase, the order is the config's.
  c = config(std::string(kDeepReduce) + "  phases: [culling]\n  order: [s4, s3, s2, s1, stem]\n  kd: [false]\n");
  trials = (*make_strategy(c))->propose({});
  EXPECT_EQ(plans(*trials, "culling", false),
            (std::vector<std::string>{"cull s4", "cull s3,s4", "cull s2,s3,s4", "cull s1,s2,s3,s4"}));
}

constexpr const char* kHalving =
    "name: sh\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\ntrain: {epochs: 4}\n"
    "search:\n  strategy: grid\n  cull: [[], [stem], [stem, s1], [stem, s1, s2]]\n"
    "  successive_halving: {min_epochs: 1, eta: 2, bands: 1}\n";

TEST(StrategyTest, SuccessiveHalvingPromotesTheBestContinuingFromTheirCheckpoints) {
  const SweepConfig c = config(kHalving);
  auto s = *make_strategy(c);
  auto rung0 = *s->propose({});
  ASSERT_EQ(rung0.size(), 4u);  // the all-ReLU baseline at full budget, three candidates at 1 epoch
  Seen seen;
  std::map<std::string, std::string> plan_of;
  const std::map<std::string, double> acc = {{"cull stem", 50}, {"cull stem,s1", 60},
                                             {"cull stem,s1,s2", 40}};
  for (const auto& t : rung0) {
    const std::string id = spec::trial_id(t.spec);
    if (t.role == spec::Role::kBaseline) {
      EXPECT_EQ(t.spec.job.train.epochs, 4);
      continue;
    }
    EXPECT_EQ(t.role, spec::Role::kRung);
    EXPECT_EQ(t.spec.job.train.epochs, 1);
    EXPECT_EQ(t.spec.job.train.horizon, 4);
    EXPECT_TRUE(t.spec.base.empty());
    seen[id] = {TrialState::kDone, acc.at(spec::plan_summary(t.spec.job.model))};
    plan_of[id] = spec::plan_summary(t.spec.job.model);
  }
  // ceil(3 / 2) = 2 go on to 2 epochs, from their 1-epoch checkpoints.
  auto rung1 = *s->propose(seen);
  std::vector<const PlannedTrial*> promoted;
  for (const auto& t : rung1)
    if (t.spec.job.train.epochs == 2) promoted.push_back(&t);
  ASSERT_EQ(promoted.size(), 2u);
  std::set<std::string> names;
  for (const auto* t : promoted) {
    names.insert(plan_of.at(t->spec.base));
    EXPECT_EQ(t->spec.dependencies(), std::vector<std::string>{t->spec.base});
    seen[spec::trial_id(t->spec)] = {TrialState::kDone, t->spec.job.model.relu_off.size() == 1 ? 55.0 : 65.0};
  }
  EXPECT_EQ(names, (std::set<std::string>{"cull stem", "cull stem,s1"}));
  // Then one finishes the schedule, as a candidate with its full budget.
  auto rung2 = *s->propose(seen);
  int full = 0;
  for (const auto& t : rung2)
    if (t.role == spec::Role::kCandidate) {
      ++full;
      EXPECT_EQ(t.spec.job.train.epochs, 4);
      EXPECT_TRUE(full_fidelity(t.spec));
      EXPECT_EQ(spec::plan_summary(t.spec.job.model), "cull stem,s1");
    }
  EXPECT_EQ(full, 1);
  // The same results, proposed again, give the same trials (replay).
  auto again = *s->propose(seen);
  ASSERT_EQ(again.size(), rung2.size());
  for (size_t i = 0; i < again.size(); ++i) EXPECT_EQ(spec::trial_id(again[i].spec), spec::trial_id(rung2[i].spec));
}

TEST(StrategyTest, BandsPromoteWithinEachReluRange) {
  std::string text = kHalving;
  text.replace(text.find("bands: 1"), 8, "bands: 3");
  const SweepConfig c = config(text);
  auto s = *make_strategy(c);
  Seen seen;
  for (const auto& t : *s->propose({}))
    if (t.role == spec::Role::kRung) seen[spec::trial_id(t.spec)] = {TrialState::kDone, 10.0};
  int promoted = 0;
  for (const auto& t : *s->propose(seen)) promoted += t.spec.job.train.epochs == 2;
  EXPECT_EQ(promoted, 3);  // three candidates in three bands: each band keeps its best
}

TEST(StrategyTest, PruningTrialsPruneTheTrainedBaselineToTheirTargets) {
  const SweepConfig c = config(std::string(kDeepReduce) +
                               "channel_pruning: {criteria: [l1, fpgm], macs: [0.5, 0.3], epochs: 2, kd: [false, true]}\n");
  auto trials = *(*make_strategy(c))->propose({});
  const std::string base = spec::trial_id(baseline_trial(c));
  const int64_t full = spec::count(baseline_trial(c).job.model)->macs;
  int pruning = 0;
  for (const auto& t : trials) {
    if (t.role != spec::Role::kPruning) continue;
    ++pruning;
    EXPECT_EQ(t.spec.base, base);
    EXPECT_EQ(t.spec.job.train.epochs, 2);
    const double target = *t.spec.prune->macs_target;
    EXPECT_LE(spec::count(t.spec.job.model)->macs, static_cast<int64_t>(target * static_cast<double>(full)));
    EXPECT_GT(spec::count(t.spec.job.model)->macs, static_cast<int64_t>((target - 0.05) * static_cast<double>(full)));
    EXPECT_EQ(spec::count(t.spec.job.model)->relus < spec::count(baseline_trial(c).job.model)->relus, true);
  }
  EXPECT_EQ(pruning, 2 * 2 * 2);
}

TEST(StrategyTest, ARestartedStrategyReplaysTheStoreToTheSameTrials) {
  const auto dir = testing::fresh_test_dir("strategy");
  const SweepConfig c = config(kDeepReduce);
  std::set<std::string> ids;
  {
    auto store = *storage::open_store((dir / "db").string());
    ASSERT_TRUE(store->put_experiment({c.name, c.yaml_text, c.strategy, 0, storage::kSchemaVersion, "", to_json(c)}).ok());
    auto s = *make_strategy(c);
    EXPECT_EQ(*expand(*store, c.name, *s), 13);
    EXPECT_EQ(*expand(*store, c.name, *s), 0);  // idempotent
    // Finish the criticality study with the seed's accuracies.
    const Seen results = seed_results(c);
    for (int round = 0; round < 2; ++round) {  // the KD students wait for the baseline
      for (const auto& t : *store->list_trials(TrialState::kPending)) {
        auto leased = store->lease(t.id, "w", storage::now_ms() + 60000, "0123456789abcdef0123456789abcdef");
        ASSERT_TRUE(leased.ok()) << leased.status().message();
        ASSERT_TRUE(store->complete(t.id, "w", leased->attempt, "0123456789abcdef0123456789abcdef", {{"top1", *results.at(t.id).top1}}, std::nullopt).ok());
      }
      ASSERT_TRUE(store->unblock_ready().ok());
    }
    EXPECT_EQ(*expand(*store, c.name, *s), 32);  // 3 culled + 4 thinned + 9 reshaped, x2 KD
    for (const auto& t : *store->list_trials()) ids.insert(t.id);
  }
  // A new process: the same config and store give the same ids and add nothing.
  auto store = *storage::open_store((dir / "db").string());
  auto s = *make_strategy(config(kDeepReduce));
  EXPECT_EQ(*expand(*store, c.name, *s), 0);
  std::set<std::string> proposed;
  for (const auto& t : *s->propose(*observe(*store))) proposed.insert(spec::trial_id(t.spec));
  EXPECT_EQ(proposed, ids);
  std::filesystem::remove_all(dir);
}

TEST(StrategyTest, SweepErrorsNameTheLineAndTheKey) {
  auto bad = [](const std::string& text) { return parse_sweep(text, "x.yaml").status().message(); };
  EXPECT_EQ(bad(std::string(kDeepReduce) + "  cull: [[stem]]\n"),
            "x.yaml:8: search.cull: not an option of strategy deepreduce");
  EXPECT_EQ(bad(std::string(kDeepReduce) + "  successive_halving: {min_epochs: 4}\n"),
            "x.yaml:8: search.successive_halving.min_epochs: expected 1 .. train.epochs - 1 (3), got 4");
  EXPECT_EQ(bad(std::string(kDeepReduce) + "  order: [stem, s1]\n"),
            "x.yaml:8: search.order: expected every stage once (stem, s1, s2, s3, s4), least critical first");
  EXPECT_NE(bad(std::string(kDeepReduce) + "channel_pruning: {scope: inner, macs: [0.5, 0.001]}\n")
                .find("x.yaml:8: channel_pruning.macs: MACs target 0.001000 is out of reach"),
            std::string::npos);
  EXPECT_EQ(bad(std::string(kDeepReduce) + "channel_pruning: {scope: outer, macs: [0.5]}\n"),
            "x.yaml:8: channel_pruning.scope: expected coupled or inner, got \"outer\"");
  EXPECT_EQ(bad(std::string(kDeepReduce) + "channel_pruning: {criteria: [l1, random], macs: [0.5]}\n"),
            "x.yaml:8: channel_pruning.criteria: expected l1 or fpgm, got \"random\"");
  EXPECT_NE(bad(std::string(kDeepReduce) + "report: {references: [nope]}\n")
                .find("x.yaml:8: report.references: no reference set \"nope\" (known: deepreduce-resnet56-cifar10"),
            std::string::npos);
  EXPECT_EQ(bad(std::string(kDeepReduce) + "  metric: entropy\n").substr(0, 22), "x.yaml:8: search.metri");
  EXPECT_EQ(bad(std::string(kDeepReduce) + "  kd: [true]\n"),
            "x.yaml:8: search.kd: stages are ranked by the accuracies without KD (rank_with_kd), so kd must include false");
}

// The incremental view equals a full rescan after any sequence of changes,
// including ones it has not seen yet when they happen between its updates.
TEST(ObserverTest, ReadingTheEventLogEqualsRescanningTheStore) {
  const auto dir = deepreduce::testing::fresh_test_dir("observer");
  auto store = *storage::open_store((dir / "db").string());
  std::vector<spec::TrialSpec> trials = deepreduce::testing::noop_trials(30);
  ASSERT_TRUE(store->add_trials("x", std::vector<spec::TrialSpec>(trials.begin(), trials.begin() + 10)).ok());
  Observer observer;
  auto same_as_rescan = [&] {
    ASSERT_TRUE(observer.update(*store).ok());
    auto full = observe(*store);
    ASSERT_TRUE(full.ok());
    ASSERT_EQ(observer.seen().size(), full->size());
    for (const auto& [id, o] : *full) {
      ASSERT_TRUE(observer.seen().count(id)) << id;
      EXPECT_EQ(observer.seen().at(id).state, o.state) << id;
      EXPECT_EQ(observer.seen().at(id).top1, o.top1) << id;
    }
  };
  same_as_rescan();
  std::mt19937 rng(3);
  size_t added = 10;
  for (int round = 0; round < 20; ++round) {
    for (int k = 0; k < 3; ++k) {
      if (added < trials.size() && rng() % 3 == 0) {
        ASSERT_TRUE(store->add_trials("x", {trials[added++]}).ok());
      }
      auto pending = store->trial_ids(TrialState::kPending, 100);
      if (pending->empty()) continue;
      const std::string id = (*pending)[rng() % pending->size()];
      const std::string token = "0123456789abcdef0123456789abcdef";
      auto leased = store->lease(id, "w", storage::now_ms() + 10000, token);
      ASSERT_TRUE(leased.ok());
      switch (rng() % 3) {
        case 0:
          ASSERT_TRUE(store->complete(id, "w", leased->attempt, token, {{"top1", double(rng() % 100)}}, std::nullopt).ok());
          break;
        case 1:
          ASSERT_TRUE(store->fail(id, "broken").ok());
          break;
        default:
          break;  // stays leased
      }
    }
    same_as_rescan();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace deepreduce::search
