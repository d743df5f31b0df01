// `deepreduce plan` on sweep configs and trial lists, as a user runs it.
#include <gtest/gtest.h>

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

}  // namespace
