// Analytic counts are held against the seed's published table and against
// hand arithmetic and well-known parameter counts. tests/nn/measured_counts_test.cpp
// holds them against counts measured on the built LibTorch model.
#include "spec/counts.h"

#include <gtest/gtest.h>

#include "spec/relu_plan.h"

namespace deepreduce::spec {
namespace {

std::map<std::string, int64_t> stage_map(const spec::Counts& c) {
  std::map<std::string, int64_t> m;
  for (const auto& s : c.stages) m[s.stage] = s.relus;
  return m;
}

TEST(CountsTest, ReproducesTheSeedsStageTable) {
  spec::ModelSpec r18;
  r18.classes = 100;
  auto c18 = count(r18);
  ASSERT_TRUE(c18.ok());
  EXPECT_EQ(c18->relus, 557056);
  EXPECT_EQ(stage_map(*c18), (std::map<std::string, int64_t>{
                                 {"stem", 65536}, {"s1", 262144}, {"s2", 131072},
                                 {"s3", 65536}, {"s4", 32768}}));
  spec::ModelSpec r34 = r18;
  r34.arch = "resnet34";
  auto c34 = count(r34);
  ASSERT_TRUE(c34.ok());
  EXPECT_EQ(c34->relus, 966656);
  EXPECT_EQ(stage_map(*c34), (std::map<std::string, int64_t>{
                                 {"stem", 65536}, {"s1", 393216}, {"s2", 262144},
                                 {"s3", 196608}, {"s4", 49152}}));
}

TEST(CountsTest, MatchesHandArithmeticAndKnownParameterCounts) {
  spec::ModelSpec r18;  // CIFAR-10
  auto c = count(r18);
  ASSERT_TRUE(c.ok());
  // stem 64*32*32*3*9 + s1 4*(64*32*32*64*9) + s2..s4 each (conv1 + 3 convs + 1x1 proj)
  // = 1,769,472 + 150,994,944 + 3 * 134,217,728, plus the classifier 512*10.
  EXPECT_EQ(c->macs, 1769472 + 150994944 + 3LL * 134217728 + 5120);
  EXPECT_EQ(c->params, 11173962);  // the widely reported CIFAR-10 ResNet18 size
  spec::ModelSpec r18c100 = r18;
  r18c100.classes = 100;
  EXPECT_EQ(count(r18c100)->params, 11220132);

  spec::ModelSpec r56;
  r56.arch = "resnet56";
  auto c56 = count(r56);
  ASSERT_TRUE(c56.ok());
  EXPECT_EQ(c56->params, 853018);  // He et al.'s "0.85M", option A shortcuts have no weights
  // ReLUs: stem 16*32*32, then 18 ReLUs per stage at 16x32x32, 32x16x16, 64x8x8.
  EXPECT_EQ(c56->relus, 16384 + 18 * 16384 + 18 * 8192 + 18 * 4096);

  spec::ModelSpec mb;
  mb.arch = "mobilenetv1";
  auto cm = count(mb);
  ASSERT_TRUE(cm.ok());
  EXPECT_EQ(cm->params, 3217226);  // the usual CIFAR-10 MobileNetV1 (stem 32, 13 blocks)
  EXPECT_EQ(cm->stages.size(), 6u);
  EXPECT_EQ(cm->stages[0].relus, 32 * 32 * 32);
  EXPECT_EQ(cm->stages[1].relus, 32 * 32 * 32 + 64 * 32 * 32);  // s1: dw on 32ch, pw to 64ch
}

TEST(CountsTest, AlphaAndRhoScaleTheCountsAsTheyShould) {
  spec::ModelSpec base;
  base.classes = 100;
  spec::ModelSpec half = base;
  half.alpha = 0.5;
  EXPECT_EQ(count(half)->relus * 2, count(base)->relus);
  spec::ModelSpec lowres = base;
  lowres.rho = 0.5;
  EXPECT_EQ(count(lowres)->relus * 4, count(base)->relus);
}

TEST(CountsTest, InvalidSpecsAreNotCounted) {
  spec::ModelSpec s;
  s.alpha = -1;
  EXPECT_FALSE(count(s).ok());
  EXPECT_FALSE(relu_sites(s).ok());
}

}  // namespace
}  // namespace deepreduce::spec
