// `deepreduce plan` on sweep configs and trial lists, as a user runs it.
#include <gtest/gtest.h>

#include <set>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/cli/run_binary.h"
#include "tests/test_dirs.h"

namespace {
namespace fs = std::filesystem;
using deepreduce::testing::run_deepreduce;

class PlanCommandTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = deepreduce::testing::fresh_test_dir("plancmd"); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
  fs::path dir_;
};

constexpr const char* kSweep =
    "name: g\ndataset: {name: synthetic}\nmodel: {arch: resnet56, alpha: 0.5}\n"
    "search:\n  strategy: grid\n  cull: [[], [s1], [stem, s1]]\n  thin: [[], [s3]]\n  kd: [false, true]\n";

TEST_F(PlanCommandTest, ListsTheGridWithCountsAndTheSpaceSize) {
  auto r = run_deepreduce("plan " + write("g.yaml", kSweep));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("strategy grid, 12 trial(s)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cull stem,s1 thin s3"), std::string::npos);
  r = run_deepreduce("plan --json " + (dir_ / "g.yaml").string());
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["space"], 12);
  int kd = 0;
  for (const auto& t : j["trials"]) kd += t["kd"].get<bool>();
  EXPECT_EQ(kd, 6);
  // resnet56 at alpha 0.5: 8x32x32 stem ReLUs.
  EXPECT_EQ(j["trials"][0]["relus"], 8 * 32 * 32 + 18 * 8 * 32 * 32 + 18 * 16 * 16 * 16 + 18 * 32 * 8 * 8);
}

TEST_F(PlanCommandTest, AnInvalidConfigIsRefusedWithFileLineAndKey) {
  std::string bad = kSweep;
  bad.replace(bad.find("[[], [s3]]"), 10, "[[], [s4]]");
  auto r = run_deepreduce("plan " + write("bad.yaml", bad));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("bad.yaml:7: search.thin: thin: unknown stage \"s4\" for resnet56"), std::string::npos)
      << r.out;
}

TEST_F(PlanCommandTest, TrialListsArePlannedToo) {
  auto r = run_deepreduce("plan " + write("l.yaml", "name: l\ndefaults: {dataset: synthetic}\ntrials:\n"
                                                     "  - name: a\n  - name: b\n    teacher: a\n    cull: [stem]\n"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("a list of 2 trial(s)"), std::string::npos) << r.out;
}

// --all: every trial of the whole space at full budget under an assumed culling
// order, with what it costs; the order must name every stage once.
TEST_F(PlanCommandTest, AllListsTheWholeSpaceWithItsCost) {
  const std::string cfg = write("dr.yaml",
                                "name: dr\ndataset: {name: synthetic, train_subset: 1000}\n"
                                "model: {arch: resnet18, alpha: 0.25}\ntrain: {epochs: 10}\n"
                                "search:\n  strategy: deepreduce\n  rho: [0.5]\n"
                                "  successive_halving: {min_epochs: 2, eta: 3}\n");
  auto first = run_deepreduce("plan --json " + cfg);
  ASSERT_EQ(first.code, 0) << first.out;
  auto r = run_deepreduce("plan --all --json --assume-order s4,stem,s1,s2,s3 --images-per-second 1000 " + cfg);
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  auto f = nlohmann::json::parse(first.out);
  EXPECT_EQ(j["trials"].size(), j["space"].get<size_t>());
  EXPECT_GT(j["trials"].size(), f["trials"].size());  // later phases too, not just what starts first
  int64_t epochs = 0;
  for (const auto& t : j["trials"]) {
    EXPECT_EQ(t["epochs"], 10) << "full budget: no rungs";
    epochs += t["epochs"].get<int64_t>();
  }
  EXPECT_EQ(j["total_epochs"], epochs);
  EXPECT_DOUBLE_EQ(j["gpu_hours"].get<double>(), epochs * 1000.0 / 1000.0 / 3600.0);
  // The least critical stage under the assumed order is culled first.
  bool culled_s4 = false;
  for (const auto& t : j["trials"]) culled_s4 |= t["role"] == "culling" && t["plan"] == "cull s4";
  EXPECT_TRUE(culled_s4) << r.out;
  auto bad = run_deepreduce("plan --all --assume-order s1,s2 " + cfg);
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.out.find("every stage once"), std::string::npos) << bad.out;
  auto stray = run_deepreduce("plan --images-per-second 10 " + cfg);
  EXPECT_EQ(stray.code, 2);
}

// The paper config's space holds every network of the paper's ResNet18 /
// CIFAR-100 front (Jha et al. 2021), planned under the paper's culling order.
TEST_F(PlanCommandTest, ThePaperConfigReachesEveryPublishedReluCount) {
  auto r = run_deepreduce(std::string("plan --all --json --assume-order stem,s1,s4,s2,s3 ") + DEEPREDUCE_SOURCE_DIR +
                          "/configs/resnet18_cifar100.yaml");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto plan = nlohmann::json::parse(r.out);
  std::set<int64_t> counts;
  for (const auto& t : plan["trials"]) counts.insert(t["relus"].get<int64_t>());
  for (int64_t published : {229376, 196608, 114688, 57344, 49152, 28672, 24576, 14336, 12288, 7168})
    EXPECT_TRUE(counts.count(published)) << published << " ReLUs is not in the space";
}

// Every config the project ships plans (on a host without any of their data).
TEST_F(PlanCommandTest, EveryShippedConfigPlans) {
  int planned = 0;
  for (const auto& e : std::filesystem::directory_iterator(std::string(DEEPREDUCE_SOURCE_DIR) + "/configs")) {
    if (e.path().extension() != ".yaml") continue;
    auto r = run_deepreduce("plan " + e.path().string());
    EXPECT_EQ(r.code, 0) << e.path() << "\n" << r.out;
    ++planned;
  }
  EXPECT_GE(planned, 5);
}

}  // namespace
