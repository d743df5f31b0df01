#include "train/kd.h"

#include <gtest/gtest.h>

#include <cmath>

namespace deepreduce::train {
namespace {

TEST(KdLossTest, MatchesAHandComputation) {
  // One example, two classes: student logits (1, 0), teacher (0, 2), label 0, T = 2, lambda = 0.75.
  auto s = torch::tensor({{1.0, 0.0}}, torch::kFloat64);
  auto t = torch::tensor({{0.0, 2.0}}, torch::kFloat64);
  auto y = torch::tensor({0}, torch::kInt64);
  const double ce = -std::log(std::exp(1.0) / (std::exp(1.0) + 1.0));
  // softmax at T=2: student (e^0.5, 1)/(e^0.5+1), teacher (1, e)/(1+e).
  const double ps0 = std::exp(0.5) / (std::exp(0.5) + 1), ps1 = 1 - ps0;
  const double pt0 = 1 / (1 + std::exp(1.0)), pt1 = 1 - pt0;
  const double kl = pt0 * std::log(pt0 / ps0) + pt1 * std::log(pt1 / ps1);
  const double expected = 0.25 * ce + 0.75 * 4.0 * kl;
  EXPECT_NEAR(kd_loss(s, t, y, 2.0, 0.75).item<double>(), expected, 1e-12);
}

TEST(KdLossTest, LambdaZeroIsCrossEntropyAndBatchIsAveraged) {
  auto s = torch::randn({8, 5}, torch::kFloat64);
  auto t = torch::randn({8, 5}, torch::kFloat64);
  auto y = torch::randint(0, 5, {8}, torch::kInt64);
  EXPECT_NEAR(kd_loss(s, t, y, 4.0, 0.0).item<double>(),
              torch::nn::functional::cross_entropy(s, y).item<double>(), 1e-12);
  // A student equal to its teacher pays no distillation term.
  EXPECT_NEAR(kd_loss(t, t, y, 4.0, 1.0).item<double>(), 0.0, 1e-12);
  // Doubling the batch with a copy leaves the mean unchanged.
  EXPECT_NEAR(kd_loss(torch::cat({s, s}), torch::cat({t, t}), torch::cat({y, y}), 4.0, 0.9).item<double>(),
              kd_loss(s, t, y, 4.0, 0.9).item<double>(), 1e-12);
}

}  // namespace
}  // namespace deepreduce::train
