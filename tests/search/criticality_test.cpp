#include "search/criticality.h"

#include <gtest/gtest.h>

#include <cmath>

namespace deepreduce::search {
namespace {

std::vector<std::string> order(const std::vector<StageCriticality>& r) {
  std::vector<std::string> out;
  for (const auto& s : r) out.push_back(s.stage);
  return out;
}

// The seed's criticality study (DESIGN.md): top-1 of networks that keep ReLUs
// in one stage only, without KD, with the stage ReLU counts of the seed's table.
TEST(CriticalityTest, ReproducesTheSeedsOrderForResNet18AndResNet34) {
  const std::vector<StageAccuracy> r18 = {{"stem", 65536, 46.22}, {"s1", 262144, 61.93}, {"s2", 131072, 67.63},
                                          {"s3", 65536, 67.41},   {"s4", 32768, 58.90}};
  const std::vector<StageAccuracy> r34 = {{"stem", 65536, 45.42}, {"s1", 393216, 60.77}, {"s2", 262144, 69.47},
                                          {"s3", 196608, 70.04},  {"s4", 49152, 57.44}};
  const std::vector<std::string> seed_order = {"stem", "s1", "s4", "s2", "s3"};
  EXPECT_EQ(order(rank_stages(r18, 18.49)), seed_order);
  EXPECT_EQ(order(rank_stages(r34, 18.16)), seed_order);
  auto ranked = rank_stages(r18, 18.49);
  EXPECT_EQ(ranked[0].rank, 1);
  EXPECT_NEAR(ranked[0].score, (46.22 - 18.49) / std::log(65536.0), 1e-12);
}

TEST(CriticalityTest, AlternativeMetricsOrderDifferently) {
  const std::vector<StageAccuracy> r18 = {{"stem", 65536, 46.22}, {"s1", 262144, 61.93}, {"s2", 131072, 67.63},
                                          {"s3", 65536, 67.41},   {"s4", 32768, 58.90}};
  EXPECT_EQ(order(rank_stages(r18, 18.49, CriticalityMetric::kAccuracy)),
            (std::vector<std::string>{"stem", "s4", "s1", "s3", "s2"}));
  // Per ReLU, the big S1 is the least worth its ReLUs and small S4 the most.
  EXPECT_EQ(order(rank_stages(r18, 18.49, CriticalityMetric::kAccuracyPerRelu)).front(), "s1");
  EXPECT_EQ(order(rank_stages(r18, 18.49, CriticalityMetric::kAccuracyPerRelu)).back(), "s4");
  EXPECT_EQ(*parse_metric("accuracy_per_relu"), CriticalityMetric::kAccuracyPerRelu);
  EXPECT_FALSE(parse_metric("entropy").ok());
}

}  // namespace
}  // namespace deepreduce::search
