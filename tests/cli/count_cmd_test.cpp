// The `deepreduce count` contract, run as a user runs it: the real binary.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tests/cli/run_binary.h"

namespace {

using deepreduce::testing::CmdRun;
CmdRun run(const std::string& args) { return deepreduce::testing::run_deepreduce(args); }

TEST(CountCommandTest, JsonIsExactlyOneObjectWithTheSeedsCounts) {
  CmdRun r = run("count --arch resnet18 --classes 100 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["arch"], "resnet18");
  EXPECT_EQ(j["relus"], 557056);
  EXPECT_EQ(j["params"], 11220132);
  EXPECT_EQ(j["stages"], nlohmann::json::parse(
                             R"({"stem":65536,"s1":262144,"s2":131072,"s3":65536,"s4":32768})"));
  EXPECT_TRUE(j["macs"].is_number_integer());
}

TEST(CountCommandTest, PlanAndReshapeOptionsChangeTheCounts) {
  CmdRun r = run("count --arch resnet34 --classes 100 --cull stem,s1 --thin s2,s3 --json");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["relus"], 262144 / 2 + 196608 / 2 + 49152);
  EXPECT_EQ(j["stages"]["stem"], 0);
  CmdRun s = run("count --arch resnet18 --alpha 0.5 --rho 0.5 --blocks 2,1,1,1 --json");
  ASSERT_EQ(s.code, 0) << s.out;
  EXPECT_EQ(nlohmann::json::parse(s.out)["stages"]["s2"], 64 * 8 * 8 * 2);
}

TEST(CountCommandTest, PrunedShapesAreCountedExactly) {
  // resnet56 pruned by half, inner channels only: every block's inner ReLU site halves, block outputs stay.
  CmdRun r = run("count --arch resnet56 --prune-rate 0.5 --prune-scope inner --json");
  ASSERT_EQ(r.code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["stages"]["s1"], 9 * (8 + 16) * 32 * 32);
  EXPECT_EQ(j["stages"]["s3"], 9 * (32 + 64) * 8 * 8);
  // Coupled (the default): block outputs, shortcuts and the stem halve too.
  CmdRun c = run("count --arch resnet56 --prune-rate 0.5 --json");
  ASSERT_EQ(c.code, 0) << c.out;
  auto cj = nlohmann::json::parse(c.out);
  EXPECT_EQ(cj["stages"]["s1"], 9 * (8 + 8) * 32 * 32);
  EXPECT_EQ(cj["stages"]["stem"], 8 * 32 * 32);
  EXPECT_EQ(run("count --arch resnet56 --prune-rate 0.5 --prune-scope outer").code, 2);
  CmdRun full = run("count --arch resnet56 --json"), half = run("count --arch resnet56 --prune-macs 0.5 --json");
  ASSERT_EQ(half.code, 0) << half.out;
  EXPECT_LE(nlohmann::json::parse(half.out)["macs"].get<double>(), 0.5 * nlohmann::json::parse(full.out)["macs"].get<double>());
  CmdRun bad = run("count --arch resnet18 --prune-macs 0.001 --prune-scope inner");
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.out.find("out of reach"), std::string::npos) << bad.out;
}

TEST(CountCommandTest, TableNamesEveryStageAndTheTotal) {
  CmdRun r = run("count --arch resnet18 --classes 100");
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* part : {"stem", "s4", "total", "557,056", "65,536", "MACs", "params"})
    EXPECT_NE(r.out.find(part), std::string::npos) << part << "\n" << r.out;
  CmdRun all = run("count --arch all");
  ASSERT_EQ(all.code, 0) << all.out;
  for (const char* arch : {"resnet18", "resnet34", "resnet56", "mobilenetv1"})
    EXPECT_NE(all.out.find(arch), std::string::npos) << arch;
}

TEST(CountCommandTest, BadInputExitsTwoWithAMessageThatNamesTheChoices) {
  struct Case {
    const char* args;
    const char* says;
  };
  const Case cases[] = {
      {"count --arch vgg", "known: resnet18, resnet34, resnet56, mobilenetv1"},
      {"count --cull s7", "stages are stem, s1, s2, s3, s4"},
      {"count --alpha 0", "(0, 4]"},
      {"count --alpha 5", "(0, 4]"},
      {"count --rho 0.3", "power of 1/2"},
      {"count --blocks 2,2", "expected 4 block counts"},
      {"count --blocks 2,x,2,2", "comma-separated integers"},
      {"count --input-size 4", "too small"},
      {"count --only s1 --cull s2", "use one of them"},
      {"count --frobnicate", "unrecognised option"},
  };
  for (const auto& c : cases) {
    CmdRun r = run(c.args);
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.says), std::string::npos) << c.args << "\n" << r.out;
  }
}

TEST(CliTest, HelpListsCommandsAndUnknownCommandsFail) {
  CmdRun h = run("--help");
  EXPECT_EQ(h.code, 0);
  EXPECT_NE(h.out.find("count"), std::string::npos);
  CmdRun u = run("frobnicate");
  EXPECT_EQ(u.code, 2);
  CmdRun ch = run("count --help");
  EXPECT_EQ(ch.code, 0);
  EXPECT_NE(ch.out.find("--thin"), std::string::npos);
}

}  // namespace
