// Refactoring guard: a small sweep, driven to the end through its strategy
// with results computed from each trial (no training), must plan the same
// trial ids and write byte-identical pareto.csv, criticality.csv, summary.md
// and trials.csv as the files checked in under tests/report/golden/.
//
// A change that means to alter planning or reports regenerates them:
//   DEEPREDUCE_UPDATE_GOLDEN=1 build/tests/report_tests --gtest_filter='GoldenReport*'
// and the diff of tests/report/golden/ shows what changed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "spec/counts.h"
#include "spec/relu_mask.h"
#include "report/report.h"
#include "storage/migrate.h"
#include "search/strategy.h"
#include "search/sweep.h"
#include "tests/storage/raw_db.h"
#include "tests/test_dirs.h"

namespace deepreduce::report {
namespace {

using namespace deepreduce::search;  // the sweeps and strategies the reports are made of

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A number in [0, 1) from a trial id: the same id, the same number.
double jitter(const std::string& id, size_t at) {
  return static_cast<double>(std::stoul(id.substr(at, 4), nullptr, 16)) / 65536.0;
}

// What a mask phase "learns": every third unit of each site, up to its budget
// (the same trial, the same mask).
spec::MaskValues learned_mask(const spec::TrialSpec& spec) {
  spec::MaskValues m;
  m.granularity = spec.job.model.masks->granularity;
  int64_t left = spec.job.train.linearize.budget;
  for (const auto& s : *spec::relu_sites(spec.job.model)) {
    if (!s.active) continue;
    spec::SiteMask site{s.name, s.channels, s.height, s.width, {}};
    const int64_t units = spec::mask_units(m.granularity, s.channels, s.height, s.width);
    const int64_t per_unit = spec::relus_per_unit(m.granularity, s.height, s.width);
    for (int64_t i = 0; i < units; ++i) {
      const bool keep = left >= per_unit && (i % 3 == 0);
      site.keep.push_back(keep);
      if (keep) left -= per_unit;
    }
    m.sites.push_back(site);
  }
  return m;
}

// What a trial "scores": more ReLUs and KD help, seeds move it a little.
nlohmann::json result_of(const storage::TrialRecord& t) {
  const auto counts = spec::count(t.spec.job.model);
  double relus = counts.ok() ? static_cast<double>(counts->relus) : 0;
  nlohmann::json mask = nullptr;
  if (t.spec.job.train.linearize.budget > 0) {
    const spec::ReluMasks fixed = spec::fixed_masks(learned_mask(t.spec));
    spec::ModelSpec masked = t.spec.job.model;
    masked.masks = fixed;
    relus = static_cast<double>(spec::count(masked)->relus);
    mask = {{"granularity", spec::granularity_name(fixed.granularity)}, {"kept", fixed.kept}, {"digest", fixed.digest}};
  }
  const double counted = relus;
  // Learned linearization keeps the ReLUs that matter: better at the same count.
  if (t.spec.job.model.masks && !t.spec.job.model.masks->learnable) relus *= 3;
  double top1 = 30 + 8 * std::log10(relus + 10) + (t.spec.teacher.empty() ? 0 : 1.5) -
                0.4 * static_cast<double>(t.spec.job.train.seed) + jitter(t.id, 0);
  if (t.spec.job.train.epochs < t.spec.job.train.horizon) top1 -= 3;  // a shortened rung
  const double val = top1 - 0.5 + jitter(t.id, 4);
  nlohmann::json r = {{"top1", top1}, {"top5", std::min(100.0, top1 + 20)}, {"val_top1", val}};
  if (!mask.is_null()) {
    r["mask"] = mask;
    r["relus"] = static_cast<int64_t>(counted);
  }
  return r;
}

struct Golden {
  std::string name, yaml;
};

// Drives the config's strategy until it wants nothing more, completing each trial as it becomes ready.
void run_to_the_end(storage::Store& store, const SweepConfig& config) {
  auto strategy = make_strategy(config);
  ASSERT_TRUE(strategy.ok()) << strategy.status().message();
  for (int round = 0; round < 100; ++round) {
    auto created = expand(store, config.name, **strategy);
    ASSERT_TRUE(created.ok()) << created.status().message();
    ASSERT_TRUE(store.unblock_ready().ok());
    auto pending = store.list_trials(storage::TrialState::kPending);
    ASSERT_TRUE(pending.ok());
    if (*created == 0 && pending->empty()) return;
    for (const auto& t : *pending) {
      const std::string token = "0123456789abcdef0123456789abcdef";
      auto leased = store.lease(t.id, "w", storage::now_ms() + 60000, token);
      ASSERT_TRUE(leased.ok()) << leased.status().message();
      std::map<spec::ArtifactKind, std::string> more;
      if (t.spec.job.train.linearize.budget > 0) more[spec::ArtifactKind::kMask] = spec::encode_mask(learned_mask(t.spec));
      ASSERT_TRUE(store.complete(t.id, "w", leased->attempt, token, result_of(*leased), std::nullopt, more).ok());
    }
  }
  FAIL() << "the strategy kept proposing trials";
}

class GoldenReportTest : public ::testing::TestWithParam<Golden> {};

TEST_P(GoldenReportTest, PlansTheSameTrialsAndWritesTheSameReport) {
  const Golden& g = GetParam();
  const fs::path dir = testing::fresh_test_dir("golden_" + g.name);
  auto config = parse_sweep(g.yaml, g.name + ".yaml", /*require_data=*/true);
  ASSERT_TRUE(config.ok()) << config.status().message();
  {
    auto store = storage::open_store((dir / "db").string());
    ASSERT_TRUE(store.ok()) << store.status().message();
    ASSERT_TRUE((*store)->put_experiment({config->name, config->yaml_text, config->strategy, 0,
                                          storage::kSchemaVersion, "", to_json(*config)})
                    .ok());
    run_to_the_end(**store, *config);
    auto report = build_report(**store);
    ASSERT_TRUE(report.ok()) << report.status().message();
    ASSERT_TRUE(write_report(*report, (dir / "report").string()).ok());
    // The ids, roles and phases of every planned trial.
    auto trials = (*store)->list_trials();
    ASSERT_TRUE(trials.ok());
    std::ofstream ids(dir / "report" / "trials.txt");
    for (const auto& t : *trials) ids << t.id << " " << spec::role_name(t.spec.role) << " " << spec::role_name(t.spec.phase) << "\n";
  }
  // A store of the previous schema (3: configs as YAML only, no decisions),
  // migrated, plans the same trials and reports the same.
  fs::copy(dir / "db", dir / "v3", fs::copy_options::recursive);
  storage::testing::with_raw_db(dir / "v3", [](rocksdb::DB* db, const auto& h) {
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), h[0], "schema_version", "3").ok());
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), h[1]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto e = nlohmann::json::parse(it->value().ToString());
      e.erase("config");
      e["schema_version"] = 3;
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), h[1], it->key(), e.dump()).ok());
    }
    ASSERT_EQ(h.size(), 9u);
    std::unique_ptr<rocksdb::Iterator> d(db->NewIterator(rocksdb::ReadOptions(), h[8]));
    for (d->SeekToFirst(); d->Valid(); d->Next()) ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), h[8], d->key()).ok());
  });
  EXPECT_NE(storage::open_store((dir / "v3").string()).status().message().find("deepreduce migrate"), std::string::npos);
  storage::MigrationOptions mo;
  mo.assign_roles = [](storage::Store& st) { return assign_roles(st); };
  mo.config = [](const storage::Experiment& e) -> Result<nlohmann::json> {
    auto c = parse_sweep(e.config_yaml, e.name, /*require_data=*/false);
    if (!c.ok()) return c.status();
    return to_json(*c);
  };
  auto migrated = storage::migrate_store((dir / "v3").string(), mo);
  ASSERT_TRUE(migrated.ok()) << migrated.status().message();
  EXPECT_EQ(migrated->from_version, 3);
  EXPECT_TRUE(fs::exists(dir / "v3.v3")) << "the old store is kept as the backup";
  {
    auto store = storage::open_store((dir / "v3").string());
    ASSERT_TRUE(store.ok()) << store.status().message();
    auto trials = (*store)->list_trials();
    ASSERT_TRUE(trials.ok());
    std::ostringstream ids;
    for (const auto& t : *trials)
      ids << t.id << " " << spec::role_name(t.spec.role) << " " << spec::role_name(t.spec.phase) << "\n";
    EXPECT_EQ(ids.str(), slurp(dir / "report" / "trials.txt")) << "ids, roles and phases survive the migration";
    auto report = build_report(**store);
    ASSERT_TRUE(report.ok()) << report.status().message();
    ASSERT_TRUE(write_report(*report, (dir / "migrated").string()).ok());
  }
  for (const char* f : {"pareto.csv", "criticality.csv", "summary.md", "trials.csv"})
    EXPECT_EQ(slurp(dir / "report" / f), slurp(dir / "migrated" / f)) << f << " changed by the migration";

  // The report reads the stored config and decisions, never the YAML: with
  // every experiment's YAML deleted behind the store's back it is the same.
  storage::testing::with_raw_db(dir / "db", [](rocksdb::DB* db, const auto& h) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), h[1]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto e = nlohmann::json::parse(it->value().ToString());
      e["config_yaml"] = "";
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), h[1], it->key(), e.dump()).ok());
    }
  });
  {
    storage::StoreOptions ro;
    ro.read_only = true;
    auto store = storage::open_store((dir / "db").string(), ro);
    ASSERT_TRUE(store.ok()) << store.status().message();
    auto report = build_report(**store);
    ASSERT_TRUE(report.ok()) << report.status().message();
    ASSERT_TRUE(write_report(*report, (dir / "without-yaml").string()).ok());
  }
  for (const char* f : {"pareto.csv", "criticality.csv", "summary.md", "trials.csv", "report.html"})
    EXPECT_EQ(slurp(dir / "report" / f), slurp(dir / "without-yaml" / f)) << f << " changed without the stored YAML";

  const fs::path golden = fs::path(DEEPREDUCE_SOURCE_DIR) / "tests" / "report" / "golden" / g.name;
  const bool update = std::getenv("DEEPREDUCE_UPDATE_GOLDEN") != nullptr;
  for (const char* f : {"trials.txt", "pareto.csv", "criticality.csv", "summary.md", "trials.csv"}) {
    const std::string got = slurp(dir / "report" / f);
    if (update) {
      fs::create_directories(golden);
      std::ofstream(golden / f, std::ios::binary) << got;
      continue;
    }
    ASSERT_TRUE(fs::exists(golden / f)) << (golden / f) << " is missing (DEEPREDUCE_UPDATE_GOLDEN=1 writes it)";
    EXPECT_EQ(got, slurp(golden / f)) << g.name << "/" << f << " differs from " << (golden / f);
  }
  fs::remove_all(dir);
}

INSTANTIATE_TEST_SUITE_P(
    Sweeps, GoldenReportTest,
    ::testing::Values(
        // The quickstart's shape: the whole pipeline, two seeds, a validation split, pruning.
        Golden{"deepreduce",
               "name: golden\n"
               "dataset: {name: synthetic, val_split: 200}\n"
               "model: {arch: resnet18, alpha: 0.25, blocks: [1, 1, 1, 1]}\n"
               "train: {epochs: 3, seeds: [0, 1]}\n"
               "search: {strategy: deepreduce, rho: [0.5], kd: [false, true]}\n"
               "channel_pruning: {criteria: [l1, fpgm], macs: [0.5, 0.3], epochs: 2, kd: [false]}\n"},
        // DeepReDuce's culling beside learned linearization (a chain of three
        // budgets per seed, each fine-tuned under its mask), SENet-style
        // per-layer budgets and channel pruning.
        Golden{"linearize",
               "name: lin\n"
               "dataset: {name: synthetic, val_split: 200}\n"
               "model: {arch: resnet18, alpha: 0.25, blocks: [1, 1, 1, 1]}\n"
               "train: {epochs: 3, seeds: [0, 1]}\n"
               "search:\n"
               "  - {strategy: deepreduce, phases: [criticality, culling], kd: [false]}\n"
               "  - {strategy: linearize, start: previous_budget, budgets: [20000, 8000, 3000], mask_epochs: 4,\n"
               "     finetune_epochs: 2}\n"
               "  - {strategy: senet_uniform, budgets: [8000], mask_epochs: 2, finetune_epochs: 2}\n"
               "channel_pruning: {macs: [0.5], epochs: 2}\n"},
        // A grid under successive halving, on MobileNetV1.
        Golden{"halving",
               "name: halving\n"
               "dataset: {name: synthetic}\n"
               "model: {arch: mobilenetv1, alpha: 0.25}\n"
               "train: {epochs: 9}\n"
               "search: {strategy: grid, cull: [[], [stem], [stem, s1], [s5]], thin: [[], [s2]], kd: [false, true],\n"
               "         successive_halving: {min_epochs: 1, eta: 3, bands: 2}}\n"}),
    [](const ::testing::TestParamInfo<Golden>& info) { return info.param.name; });

}  // namespace
}  // namespace deepreduce::report
