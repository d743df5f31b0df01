#include "spec/relu_plan.h"

#include <gtest/gtest.h>

#include "spec/counts.h"

namespace deepreduce::spec {
namespace {

spec::ModelSpec resnet18() {
  spec::ModelSpec s;
  s.classes = 100;
  return s;
}

int64_t relus(const spec::ModelSpec& s) { return count(s)->relus; }

TEST(ReluPlanTest, CullRemovesWholeStages) {
  auto s = cull(resnet18(), {"stem", "s1"});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(relus(*s), 557056 - 65536 - 262144);
  EXPECT_EQ(plan_summary(*s), "cull stem,s1");
}

TEST(ReluPlanTest, ThinHalvesAStageByRemovingEachBlocksSecondReLU) {
  auto s = thin(resnet18(), {"s2", "s3"});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(relus(*s), 557056 - 131072 / 2 - 65536 / 2);
  EXPECT_EQ(s->relu_off, (std::set<std::string>{"s2.b0.relu2", "s2.b1.relu2", "s3.b0.relu2",
                                                "s3.b1.relu2"}));
  EXPECT_EQ(plan_summary(*s), "thin s2,s3");

  spec::ModelSpec m;
  m.arch = "mobilenetv1";
  auto tm = thin(m, {"s1"});
  ASSERT_TRUE(tm.ok());
  EXPECT_EQ(tm->relu_off, (std::set<std::string>{"s1.b0.pw"}));
}

TEST(ReluPlanTest, ThinningTheFirstReLUInsteadHalvesTheStageAsWell) {
  auto s = thin(resnet18(), {"s2"}, spec::ThinPosition::kFirst);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(relus(*s), 557056 - 131072 / 2);  // the same count: the other half of the stage's ReLUs
  EXPECT_EQ(s->relu_off, (std::set<std::string>{"s2.b0.relu1", "s2.b1.relu1"}));
  EXPECT_EQ(plan_summary(*s), "thin-first s2");
  EXPECT_NE(*s, *thin(resnet18(), {"s2"}));  // another network: another trial
  spec::ModelSpec m;
  m.arch = "mobilenetv1";
  auto tm = thin(m, {"s1"}, spec::ThinPosition::kFirst);
  ASSERT_TRUE(tm.ok());
  EXPECT_EQ(tm->relu_off, (std::set<std::string>{"s1.b0.dw"}));
  EXPECT_EQ(*spec::parse_thin_position("first"), spec::ThinPosition::kFirst);
  EXPECT_FALSE(spec::parse_thin_position("both").ok());
}

TEST(ReluPlanTest, CullAndThinCompose) {
  auto s = thin(*cull(resnet18(), {"stem", "s1"}), {"s4"});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(relus(*s), 131072 + 65536 + 32768 / 2);
  EXPECT_EQ(plan_summary(*s), "cull stem,s1 thin s4");
}

TEST(ReluPlanTest, OnlyKeepsOneStage) {
  const std::vector<std::pair<std::string, int64_t>> expected = {
      {"stem", 65536}, {"s1", 262144}, {"s2", 131072}, {"s3", 65536}, {"s4", 32768}};
  for (const auto& [stage, n] : expected) {
    auto s = only(resnet18(), stage);
    ASSERT_TRUE(s.ok()) << stage;
    EXPECT_EQ(relus(*s), n) << stage;
  }
}

TEST(ReluPlanTest, NoneAllAndExplicitSites) {
  auto none = no_relus(resnet18());
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(relus(*none), 0);
  EXPECT_EQ(plan_summary(*none), "none");
  EXPECT_EQ(relus(all_relus(*none)), 557056);
  EXPECT_EQ(plan_summary(all_relus(*none)), "all");

  auto some = keep_sites(resnet18(), {"stem", "s4.b1.relu1"});
  ASSERT_TRUE(some.ok());
  EXPECT_EQ(relus(*some), 65536 + 512 * 4 * 4);
  EXPECT_EQ(*active_sites(*some), (std::set<std::string>{"stem", "s4.b1.relu1"}));
  EXPECT_EQ(plan_summary(*some), "cull s1,s2,s3 s4:1/4");
}

TEST(ReluPlanTest, UnknownStagesAndSitesAreErrorsThatListTheChoices) {
  auto bad = cull(resnet18(), {"s5"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("unknown stage \"s5\" for resnet18; stages are stem, s1, s2, s3, s4"),
            std::string::npos)
      << bad.status().message();
  auto stem = thin(resnet18(), {"stem"});
  ASSERT_FALSE(stem.ok());
  EXPECT_NE(stem.status().message().find("culled, not thinned"), std::string::npos);
  auto site = keep_sites(resnet18(), {"s1.b7.relu1"});
  ASSERT_FALSE(site.ok());
  EXPECT_NE(site.status().message().find("s1.b7.relu1"), std::string::npos);
  spec::ModelSpec r56;
  r56.arch = "resnet56";
  EXPECT_FALSE(only(r56, "s4").ok());
}

}  // namespace
}  // namespace deepreduce::spec
