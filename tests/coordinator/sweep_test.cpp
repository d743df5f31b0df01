// Sweeps end to end, as a user runs them: `deepreduce run` on a deepreduce
// sweep with successive halving and channel pruning, killed and run again.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "spec/counts.h"
#include "storage/store.h"
#include "tests/needs_torch.h"
#include "tests/coordinator/processes.h"
#include "tests/test_dirs.h"

namespace deepreduce {
namespace {
namespace fs = std::filesystem;
using storage::TrialState;
using testing::Process;

class SweepRunTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = deepreduce::testing::fresh_test_dir("sweep"); }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string config() {
    std::ofstream(dir_ / "sweep.yaml")
        << "name: tiny\n"
           "dataset: {name: synthetic, train_subset: 256, test_subset: 100}\n"
           "model: {arch: resnet18, alpha: 0.125, blocks: [1, 1, 1, 1]}\n"
           "train: {epochs: 3, batch: 64, lr: 0.05}\n"
           "search:\n"
           "  strategy: deepreduce\n"
           "  phases: [criticality, culling, thinning]\n"
           "  successive_halving: {min_epochs: 1, eta: 3, bands: 2}\n"
           "channel_pruning: {criteria: [l1, fpgm], macs: [0.5], epochs: 1, kd: [false, true]}\n";
    return path("sweep.yaml");
  }
  std::unique_ptr<storage::Store> read(const std::string& db) {
    storage::StoreOptions o;
    o.read_only = true;
    auto s = storage::open_store(path(db), o);
    return s.ok() ? std::move(*s) : nullptr;
  }
  fs::path dir_;
};

TEST_F(SweepRunTest, ADeepReduceSweepRunsToAReportWithHalvingAndPruning) {
  DEEPREDUCE_NEEDS_TORCH();
  Process run({"run", config(), "--db", path("db"), "--workers", "2", "--threads", "1"}, path("run.log"));
  ASSERT_TRUE(run.wait(400)) << run.log();
  ASSERT_EQ(run.exit_code(), 0) << run.log();
  const std::string log = run.log();
  EXPECT_NE(log.find("Pareto front of every method ("), std::string::npos) << log;
  EXPECT_NE(log.find("report: " + path("db") + "-report/report.html"), std::string::npos) << log;
  EXPECT_TRUE(fs::exists(path("db") + "-report/report.html"));

  auto s = read("db");
  ASSERT_TRUE(s);
  std::map<std::string, int> done;
  for (const auto& e : *s->events(0, 1000000))
    if (e.type == "done") ++done[e.trial];
  auto trials = *s->list_trials();
  int rungs = 0, continued = 0, pruned = 0, criticality = 0;
  std::map<std::string, storage::TrialRecord> by_id;
  for (const auto& t : trials) by_id[t.id] = t;
  for (const auto& t : trials) {
    EXPECT_EQ(t.state, TrialState::kDone) << t.id << " " << (t.reasons.empty() ? "" : t.reasons.back());
    EXPECT_EQ(done[t.id], 1) << t.id;
    const auto result = **s->get_result(t.id);
    EXPECT_EQ(result["relus"], spec::count(t.spec.job.model)->relus);
    if (t.spec.job.train.horizon > t.spec.job.train.epochs) ++rungs;
    if (t.spec.prune) {
      ++pruned;
      EXPECT_LT(result["macs"].get<int64_t>(), 0.5 * (**s->get_result(t.spec.base))["macs"].get<double>() + 1);
    } else if (!t.spec.base.empty()) {
      // A promoted rung continued its base: the same first epochs, then more.
      ++continued;
      const auto base = **s->get_result(t.spec.base);
      ASSERT_EQ(result["epochs"].size(), static_cast<size_t>(t.spec.job.train.epochs));
      for (size_t e = 0; e < base["epochs"].size(); ++e)
        EXPECT_EQ(result["epochs"][e]["top1"], base["epochs"][e]["top1"]) << t.id << " epoch " << e + 1;
    }
    if (t.spec.job.model.relu_off.size() > 0 && t.spec.job.train.horizon == 0 && t.spec.base.empty()) ++criticality;
  }
  EXPECT_GT(rungs, 0);
  EXPECT_GT(continued, 0);
  EXPECT_EQ(pruned, 4);  // L1 and FPGM, fine-tuned without and with KD from the baseline
  EXPECT_GE(criticality, 10);  // 5 stages + none, without and with KD
  const std::string csv = [&] {
    std::ifstream in(path("db") + "-report/criticality.csv");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }();
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 7) << csv;  // header, 5 stages, none
}

TEST_F(SweepRunTest, KillingRunMidSweepAndRunningAgainTrainsNothingTwice) {
  DEEPREDUCE_NEEDS_TORCH();
  const std::string cfg = config();
  uint64_t seq_at_kill = 0;
  std::map<std::string, bool> done_at_kill;
  {
    Process run({"run", cfg, "--db", path("db"), "--threads", "1"}, path("run1.log"));
    for (int i = 0; i < 1200 && done_at_kill.size() < 4; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (auto s = read("db")) {
        done_at_kill.clear();
        for (const auto& t : *s->list_trials(TrialState::kDone)) done_at_kill[t.id] = true;
      }
    }
    run.signal(SIGKILL);
    run.wait(10);
  }
  auto s = read("db");
  ASSERT_TRUE(s);
  seq_at_kill = s->last_seq();
  done_at_kill.clear();
  for (const auto& t : *s->list_trials(TrialState::kDone)) done_at_kill[t.id] = true;
  s.reset();
  ASSERT_GE(done_at_kill.size(), 4u);
  Process again({"run", cfg, "--db", path("db"), "--threads", "1", "--workers", "2"}, path("run2.log"));
  ASSERT_TRUE(again.wait(400)) << again.log();
  ASSERT_EQ(again.exit_code(), 0) << again.log();
  s = read("db");
  for (const auto& e : *s->events(seq_at_kill, 1000000))
    if (e.type == "leased") {
      EXPECT_FALSE(done_at_kill.count(e.trial)) << "done trial " << e.trial << " trained again";
    }
  for (const auto& t : *s->list_trials()) EXPECT_EQ(t.state, TrialState::kDone) << t.id;
  EXPECT_GT(s->list_trials()->size(), done_at_kill.size());
}

// Where the data lives is no part of a trial: the same sweep with its dataset
// moved elsewhere is the same trials (nothing trains again), and a host
// without the data at all still gets the whole report.
TEST_F(SweepRunTest, ADatasetMovedElsewhereTrainsNothingAgainAndTheReportNeedsNoData) {
  DEEPREDUCE_NEEDS_TORCH();
  const fs::path debian = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(debian / "train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "Debian's dataset-fashion-mnist is not installed (scripts/install-deps.sh installs it)";
  fs::create_directories(dir_ / "here");
  for (const auto& f : fs::directory_iterator(debian)) fs::copy_file(f.path(), dir_ / "here" / f.path().filename());
  auto sweep = [&](const std::string& data) {
    const std::string file = path("sweep-" + fs::path(data).filename().string() + ".yaml");
    std::ofstream(file) << "name: moved\n"
                           "dataset: {name: fashion-mnist, path: " << data << ", train_subset: 200, test_subset: 100}\n"
                           "model: {arch: resnet18, alpha: 0.125, blocks: [1, 1, 1, 1]}\n"
                           "train: {epochs: 1, batch: 50, lr: 0.05}\n"
                           "search: {strategy: deepreduce, phases: [criticality]}\n";
    return file;
  };
  const std::string first = sweep(path("here")), second = sweep(path("there"));
  // Planned with either path: the same ids.
  Process plan1({"plan", first, "--json"}, path("plan1.json")), plan2({"plan", second, "--json"}, path("plan2.json"));
  ASSERT_TRUE(plan1.wait(60) && plan2.wait(60));
  auto ids = [&](const std::string& f) {
    std::ifstream in(path(f));
    const auto plan = nlohmann::json::parse(in, nullptr, false);
    std::vector<std::string> out;
    if (plan.is_object())
      for (const auto& t : plan["trials"]) out.push_back(t["id"].get<std::string>());
    return out;
  };
  EXPECT_EQ(ids("plan1.json"), ids("plan2.json"));
  EXPECT_FALSE(ids("plan1.json").empty());

  Process run({"run", first, "--db", path("db"), "--threads", "1"}, path("run1.log"));
  ASSERT_TRUE(run.wait(400)) << run.log();
  ASSERT_EQ(run.exit_code(), 0) << run.log();
  uint64_t seq = read("db")->last_seq();
  const size_t trials = read("db")->list_trials()->size();

  fs::rename(dir_ / "here", dir_ / "there");
  Process again({"run", second, "--db", path("db"), "--threads", "1"}, path("run2.log"));
  ASSERT_TRUE(again.wait(400)) << again.log();
  ASSERT_EQ(again.exit_code(), 0) << again.log();
  EXPECT_NE(again.log().find("nothing to do"), std::string::npos) << again.log();
  auto s = read("db");
  EXPECT_EQ(s->list_trials()->size(), trials);
  for (const auto& e : *s->events(seq, 1000000)) EXPECT_NE(e.type, "leased") << "trial " << e.trial << " trained again";
  for (const auto& t : *s->list_trials()) {
    EXPECT_EQ(t.state, TrialState::kDone) << t.id;
    EXPECT_NE(t.spec.role, spec::Role::kNone) << t.id << ": its role was not stored";
  }
  s.reset();

  // No data anywhere: the report is whole, the criticality table included.
  fs::remove_all(dir_ / "there");
  fs::remove_all(path("db") + "-report");
  Process report({"report", "--db", path("db")}, path("report.log"));
  ASSERT_TRUE(report.wait(60)) << report.log();
  ASSERT_EQ(report.exit_code(), 0) << report.log();
  std::ifstream csv(path("db") + "-report/criticality.csv");
  std::string line;
  int stages = 0;
  std::getline(csv, line);  // the header
  // stage,relus,top1,top1_kd,score,rank: each stage with its accuracy, score and rank
  while (std::getline(csv, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
    f.resize(6);  // "none" has no score and no rank: its line ends in ",,"
    if (f[0] == "none") continue;
    stages += !f[2].empty() && !f[4].empty() && f[5] != "0";
  }
  EXPECT_EQ(stages, 5) << "stem and s1..s4 ranked";
  std::ifstream summary(path("db") + "-report/summary.md");
  const std::string text((std::istreambuf_iterator<char>(summary)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("aseline"), std::string::npos) << text;
}

}  // namespace
}  // namespace deepreduce
