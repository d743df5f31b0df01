// What a researcher comparing methods meets, run as a user runs it: one small
// experiment of DeepReDuce, SNL's learned linearization and channel pruning
// (configs/smoke.yaml), then every command that shows a front, a budget, a
// method or a mask phase's outcome. The experiment is run once for the suite.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "tests/cli/run_binary.h"
#include "tests/test_dirs.h"

namespace deepreduce::cli {
namespace {

namespace fs = std::filesystem;
using deepreduce::testing::run_deepreduce;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class MethodComparisonTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // No test is current here, so the folder is named by the process alone.
    dir_ = new fs::path(fs::temp_directory_path() / ("deepreduce_method_comparison_" + std::to_string(::getpid())));
    fs::remove_all(*dir_);
    fs::create_directories(*dir_);
    run_ = new deepreduce::testing::CmdRun(run_deepreduce(std::string("run ") + DEEPREDUCE_SOURCE_DIR +
                                                          "/configs/smoke.yaml --workers 2 --db " + db()));
  }
  static void TearDownTestSuite() {
    const auto* suite = ::testing::UnitTest::GetInstance()->current_test_suite();
    if (suite != nullptr && suite->Passed()) fs::remove_all(*dir_);  // kept to look at when a test failed
    delete run_;
    delete dir_;
  }
  void SetUp() override { ASSERT_EQ(run_->code, 0) << run_->out; }
  static std::string db() { return (*dir_ / "smoke.db").string(); }
  static std::string path(const std::string& name) { return (*dir_ / name).string(); }
  // The id of the trial whose `column` in trials.csv is `value` (the first such).
  static std::string trial_where(const std::string& key, const std::string& value) {
    auto r = run_deepreduce("export --db " + db() + " --format json");
    for (const auto& t : nlohmann::json::parse(r.out))
      if (t[key].is_string() && t[key] == value) return t["id"];
    return "";
  }
  static fs::path* dir_;
  static deepreduce::testing::CmdRun* run_;
};
fs::path* MethodComparisonTest::dir_ = nullptr;
deepreduce::testing::CmdRun* MethodComparisonTest::run_ = nullptr;

// Item 1: one front over every method wherever "Pareto front" appears; the
// per-method fronts beside it, named as such.
TEST_F(MethodComparisonTest, TheFrontIsEveryMethodsAndEachPointNamesItsMethod) {
  EXPECT_NE(run_->out.find("Pareto front of every method ("), std::string::npos) << run_->out;
  auto report = run_deepreduce("report --db " + db() + " --out " + path("report"));
  ASSERT_EQ(report.code, 0) << report.out;
  EXPECT_NE(report.out.find("Pareto front of every method"), std::string::npos) << report.out;
  EXPECT_NE(report.out.find("  method  "), std::string::npos) << "a method column\n" << report.out;
  const std::string md = slurp(path("report") + "/summary.md");
  EXPECT_NE(md.find("## Pareto front of every method"), std::string::npos) << md;
  EXPECT_NE(md.find("## Pareto front of DeepReDuce alone"), std::string::npos) << md;
  EXPECT_NE(md.find("## Pareto front of learned linearization alone"), std::string::npos) << md;
  EXPECT_NE(md.find("## Pareto front of channel pruning alone"), std::string::npos) << md;
  EXPECT_EQ(md.find("infx"), std::string::npos);
  EXPECT_EQ(md.find("point(s)"), std::string::npos) << "in words";
  const std::string csv = slurp(path("report") + "/pareto.csv");
  EXPECT_NE(csv.find(",method,on_front\n"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",true\n"), std::string::npos) << "a point on the front of every method\n" << csv;
  auto status = run_deepreduce("status --db " + db());
  ASSERT_EQ(status.code, 0) << status.out;
  EXPECT_NE(status.out.find("Pareto front of every method"), std::string::npos) << status.out;
  // The ReLU figure says where a network without ReLUs stands on its log axis.
  EXPECT_NE(slurp(path("report") + "/figure-relus.svg").find("(off scale)"), std::string::npos);
}

// Item 2: which network under my budget?
TEST_F(MethodComparisonTest, TheBestNetworkUnderABudgetIsNamedAndExported) {
  auto report = run_deepreduce("report --db " + db() + " --out " + path("budget-report") + " --budget 4000,20000");
  ASSERT_EQ(report.code, 0) << report.out;
  EXPECT_NE(report.out.find("Within 4,000 ReLUs, the best on validation: "), std::string::npos) << report.out;
  EXPECT_NE(report.out.find("Within 20,000 ReLUs, the best on validation: "), std::string::npos) << report.out;
  EXPECT_NE(slurp(path("budget-report") + "/summary.md").find("| 20,000 |"), std::string::npos)
      << "the budget asked for joins the per-budget table";
  EXPECT_EQ(run_deepreduce("report --db " + db() + " --budget many").code, 2);
  auto best = run_deepreduce("export-model --db " + db() + " --best-under 4000 --out " + path("best.onnx"));
  ASSERT_EQ(best.code, 0) << best.out;
  EXPECT_NE(best.out.find("the best network within 4,000 ReLUs, chosen on validation top-1: "), std::string::npos)
      << best.out;
  const auto side = nlohmann::json::parse(slurp(path("best.onnx.json")));
  EXPECT_LE(side["relus"].get<int64_t>(), 4000);
  EXPECT_TRUE(side["method"].is_string());
  // One method's front, or its best under a budget; a method the store has not is named with the ones it has.
  auto lin = run_deepreduce("export-model --db " + db() + " --front --method 'learned linearization' --out " +
                            path("lin-front"));
  ASSERT_EQ(lin.code, 0) << lin.out;
  int sidecars = 0;
  for (const auto& e : fs::directory_iterator(path("lin-front"))) {
    if (e.path().extension() != ".json") continue;
    ++sidecars;
    EXPECT_EQ(nlohmann::json::parse(slurp(e.path()))["method"], "learned linearization") << e.path();
  }
  EXPECT_GT(sidecars, 0);
  auto unknown = run_deepreduce("export-model --db " + db() + " --front --method SNL --out " + path("x"));
  EXPECT_EQ(unknown.code, 2) << unknown.out;
  EXPECT_NE(unknown.out.find("its networks' methods are DeepReDuce"), std::string::npos) << unknown.out;
}

// Items 3 and 5: a mask phase's outcome is visible, and its network (learnable
// α) is not exported as if it were a network to deploy.
TEST_F(MethodComparisonTest, AMaskPhasesOutcomeIsShownAndItsNetworkIsNotExported) {
  auto status = run_deepreduce("status --db " + db());
  EXPECT_NE(status.out.find("how it ended"), std::string::npos) << status.out;
  EXPECT_TRUE(status.out.find("reached its budget in") != std::string::npos ||
              status.out.find("hit its cap of") != std::string::npos)
      << status.out;
  auto csv = run_deepreduce("export --db " + db() + " --format csv");
  EXPECT_NE(csv.out.find(",method,mask_phase\n"), std::string::npos) << csv.out;
  auto report = run_deepreduce("report --db " + db() + " --out " + path("mask-report"));
  EXPECT_NE(slurp(path("mask-report") + "/summary.md").find("| mask phase |"), std::string::npos);
  const std::string mask_phase = trial_where("role", "mask");
  const std::string finetune = trial_where("role", "finetune");
  ASSERT_FALSE(mask_phase.empty());
  ASSERT_FALSE(finetune.empty());
  auto refused = run_deepreduce("export-model --db " + db() + " --trial " + mask_phase + " --out " + path("m.onnx"));
  EXPECT_EQ(refused.code, 2) << refused.out;
  EXPECT_NE(refused.out.find("is a mask phase"), std::string::npos) << refused.out;
  EXPECT_NE(refused.out.find("--trial " + finetune.substr(0, 12)), std::string::npos) << refused.out;
  EXPECT_FALSE(fs::exists(path("m.onnx")));
  auto ft = run_deepreduce("export-model --db " + db() + " --trial " + finetune + " --out " + path("ft.onnx"));
  ASSERT_EQ(ft.code, 0) << ft.out;
  const auto side = nlohmann::json::parse(slurp(path("ft.onnx.json")));
  ASSERT_TRUE(side.contains("masked_sites")) << side.dump(2);
  EXPECT_GT(side["masked_sites"]["nodes"]["Slice"].get<int64_t>(), 0) << side.dump(2);
  EXPECT_GT(side["masked_sites"]["nodes"]["Relu"].get<int64_t>(), 0) << side.dump(2);
  EXPECT_EQ(side["method"], "learned linearization");
}

// Item 4: the method is named in every table and export.
TEST_F(MethodComparisonTest, TheMethodIsNamedEverywhere) {
  EXPECT_NE(run_->out.find("learned linearization"), std::string::npos) << "run's table\n" << run_->out;
  EXPECT_NE(run_->out.find("run: added "), std::string::npos) << "run says which strategy added what\n" << run_->out;
  EXPECT_NE(run_->out.find("(deepreduce "), std::string::npos) << run_->out;
  auto json = run_deepreduce("export --db " + db() + " --format json");
  std::set<std::string> methods;
  for (const auto& t : nlohmann::json::parse(json.out)) methods.insert(t["method"].get<std::string>());
  EXPECT_EQ(methods, (std::set<std::string>{"DeepReDuce", "learned linearization", "channel pruning"}));
  auto csv = run_deepreduce("export --db " + db() + " --format csv");
  EXPECT_NE(csv.out.substr(0, csv.out.find('\n')).find(",method,"), std::string::npos) << csv.out;
}

// Item 6: a finished store run again says so; a budget a network cannot have is refused.
TEST_F(MethodComparisonTest, ARerunOfAFinishedStoreHasNothingToDo) {
  auto again = run_deepreduce(std::string("run ") + DEEPREDUCE_SOURCE_DIR + "/configs/smoke.yaml --db " + db());
  EXPECT_EQ(again.code, 0) << again.out;
  EXPECT_NE(again.out.find("nothing to do"), std::string::npos) << again.out;
  EXPECT_EQ(again.out.find("more open as results arrive"), std::string::npos) << again.out;
}

}  // namespace

// The rest needs no shared experiment.

TEST(MethodConfigTest, PlanWarnsPricesAtTheBudgetAndPlansTheCountsRunsProduce) {
  const fs::path dir = deepreduce::testing::fresh_test_dir("plan_masks");
  std::ofstream(dir / "lin.yaml") << "name: lin\n"
                                     "dataset: {name: synthetic, train_subset: 256, test_subset: 128}\n"
                                     "model: {arch: resnet18, alpha: 0.25, blocks: [1, 1, 1, 1]}\n"
                                     "train: {epochs: 1}\n"
                                     "search: {strategy: linearize, budgets: [8000, 4000], mask_epochs: 3, patience: 5,"
                                     " finetune_epochs: 1}\n";
  auto plan = run_deepreduce("plan " + (dir / "lin.yaml").string() + " --all --json");
  ASSERT_EQ(plan.code, 0) << plan.out;
  EXPECT_NE(plan.out.find("warning: " + (dir / "lin.yaml").string() +
                          ": strategy linearize: search.mask_epochs 3 is at or below search.patience 5"),
            std::string::npos)
      << plan.out;
  const auto j = nlohmann::json::parse(plan.out.substr(plan.out.find('{')));
  int masks = 0, finetunes = 0;
  for (const auto& t : j["trials"]) {
    const std::string role = t["role"];
    if (role == "mask") {
      ++masks;
      EXPECT_TRUE(t["relus"] == 8000 || t["relus"] == 4000) << "a mask phase is priced at its budget: " << t.dump();
    }
    if (role == "finetune") {
      ++finetunes;
      EXPECT_TRUE(t["relus"] == 8000 || t["relus"] == 4000) << "the counts the runs produce: " << t.dump();
    }
  }
  EXPECT_EQ(masks, 2);
  EXPECT_EQ(finetunes, 2);
}

TEST(MethodConfigTest, TrainRefusesABudgetTheNetworkCannotHave) {
  if (!DEEPREDUCE_HAS_TORCH) GTEST_SKIP() << "built without LibTorch: no train";
  const fs::path dir = deepreduce::testing::fresh_test_dir("train_budget");
  auto r = run_deepreduce("train --arch resnet18 --alpha 0.25 --blocks 1,1,1,1 --dataset synthetic --epochs 1 "
                          "--mask-learnable pixel --linearize-budget 99999999 --out " +
                          (dir / "t").string());
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("--linearize-budget"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(the network has 77824)"), std::string::npos) << r.out;
}

// Item 7: where a store cannot go is said naming --db, before anything is made.
TEST(MethodConfigTest, AStorePathThatCannotWorkIsNamed) {
  if (!DEEPREDUCE_HAS_TORCH) GTEST_SKIP() << "built without LibTorch: no run";
  const fs::path dir = deepreduce::testing::fresh_test_dir("db_paths");
  const std::string cfg = std::string(DEEPREDUCE_SOURCE_DIR) + "/configs/smoke.yaml";
  std::ofstream(dir / "afile") << "x";
  auto file = run_deepreduce("run " + cfg + " --db " + (dir / "afile" / "x.db").string());
  EXPECT_EQ(file.code, 2) << file.out;
  EXPECT_NE(file.out.find("--db " + (dir / "afile" / "x.db").string() + ": " + (dir / "afile").string() +
                          " is a file, not a folder"),
            std::string::npos)
      << file.out;
  auto proc = run_deepreduce("run " + cfg + " --db /proc/deepreduce-test.db");
  EXPECT_EQ(proc.code, 1) << proc.out;
  EXPECT_NE(proc.out.find("is not a writable folder"), std::string::npos) << proc.out;
  EXPECT_EQ(proc.out.find("disk is full"), std::string::npos) << proc.out;
  // A store inside another store's folder.
  fs::create_directories(dir / "outer.db" / "artifacts");
  std::ofstream(dir / "outer.db" / "CURRENT") << "MANIFEST-000001\n";
  auto nested = run_deepreduce("run " + cfg + " --db " + (dir / "outer.db" / "inner.db").string());
  EXPECT_EQ(nested.code, 2) << nested.out;
  EXPECT_NE(nested.out.find("inside the store " + (dir / "outer.db").string()), std::string::npos) << nested.out;
  EXPECT_FALSE(fs::exists(dir / "outer.db" / "inner.db"));
}

// Item 7: SIGINT on run says what is left, exits 130 and leaves the last whole report alone.
TEST(MethodConfigTest, AnInterruptedRunSaysWhatIsLeftAndKeepsTheLastReport) {
  if (!DEEPREDUCE_HAS_TORCH) GTEST_SKIP() << "built without LibTorch: no run";
  const fs::path dir = deepreduce::testing::fresh_test_dir("sigint_run");
  std::ofstream(dir / "long.yaml") << "name: long\n"
                                      "dataset: {name: synthetic, train_subset: 2048, test_subset: 256}\n"
                                      "model: {arch: resnet18, alpha: 0.25, blocks: [1, 1, 1, 1]}\n"
                                      "train: {epochs: 30}\n"
                                      "search: {strategy: deepreduce, phases: [criticality], kd: [false]}\n";
  fs::create_directories(dir / "long-report");
  std::ofstream(dir / "long-report" / "summary.md") << "the last whole report\n";
  const std::string log = (dir / "run.log").string();
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string out = log;
    freopen(out.c_str(), "w", stdout);
    dup2(fileno(stdout), 2);
    execl(DEEPREDUCE_BIN, DEEPREDUCE_BIN, "run", (dir / "long.yaml").c_str(), "--db", (dir / "long.db").c_str(),
          "--threads", "1", static_cast<char*>(nullptr));
    _exit(127);
  }
  // Waits for what it needs: a trial training (an epoch line), not a fixed time.
  for (int i = 0; i < 600 && slurp(log).find(" epoch 1/30 ") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_NE(slurp(log).find(" epoch 1/30 "), std::string::npos) << slurp(log);
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << slurp(log);
  EXPECT_EQ(WEXITSTATUS(status), 130) << slurp(log);
  // The trials left are every trial not done: counted, not the number of states.
  auto exported = run_deepreduce("export --db " + (dir / "long.db").string() + " --format json");
  ASSERT_EQ(exported.code, 0) << exported.out;
  int64_t left = 0;
  for (const auto& t : nlohmann::json::parse(exported.out)) left += t.at("state") != "done";
  ASSERT_GT(left, 1);
  EXPECT_NE(slurp(log).find("interrupted: " + std::to_string(left) + " trials left"), std::string::npos)
      << slurp(log);
  EXPECT_NE(slurp(log).find("Run the same command again to resume"), std::string::npos) << slurp(log);
  EXPECT_EQ(slurp(dir / "long-report" / "summary.md"), "the last whole report\n");
}

TEST(MethodConfigTest, HelpTextsOpenWithASentence) {
  auto run = run_deepreduce("help run");
  EXPECT_EQ(run.out.rfind("deepreduce run: runs an experiment", 0), 0u) << run.out;
  auto train = run_deepreduce("help train");
  EXPECT_EQ(train.out.find("\n:\n"), std::string::npos) << train.out;
}

}  // namespace deepreduce::cli
