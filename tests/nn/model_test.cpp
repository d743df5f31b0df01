// The model zoo: every registered arch builds, runs forward and backward, and
// a ReLU that is off is an identity.
#include "nn/model.h"

#include <gtest/gtest.h>

#include "spec/relu_plan.h"

namespace deepreduce::nn {
namespace {

class ModelZooTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { torch::manual_seed(42); }
};

TEST_P(ModelZooTest, BuildsRunsForwardAndBackward) {
  spec::ModelSpec spec;
  spec.arch = GetParam();
  spec.classes = 10;
  spec.alpha = 0.25;
  auto net = build_model(spec);
  ASSERT_TRUE(net.ok());
  (*net)->train();
  torch::Tensor x = torch::randn({4, 3, 32, 32});
  torch::Tensor y = (*net)->forward(x);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{4, 10}));
  EXPECT_TRUE(torch::isfinite(y).all().item<bool>());
  torch::nn::functional::cross_entropy(y, torch::tensor({0, 1, 2, 3})).backward();
  for (const auto& p : (*net)->named_parameters()) {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_TRUE(torch::isfinite(p.value().grad()).all().item<bool>()) << p.key();
  }
}

TEST_P(ModelZooTest, WithoutReLUsTheEvalNetworkIsAffine) {
  // With every ReLU an identity, an eval-mode network (BN folded into affine
  // maps) satisfies f(a) + f(b) = f(a + b) + f(0); any remaining ReLU breaks it.
  spec::ModelSpec spec;
  spec.arch = GetParam();
  spec.alpha = 0.25;
  auto linear_net = build_model(*no_relus(spec));
  ASSERT_TRUE(linear_net.ok());
  (*linear_net)->eval();
  torch::NoGradGuard no_grad;
  auto a = torch::randn({2, 3, 32, 32}, torch::kFloat64);
  auto b = torch::randn({2, 3, 32, 32}, torch::kFloat64);
  auto zero = torch::zeros({2, 3, 32, 32}, torch::kFloat64);
  (*linear_net)->to(torch::kFloat64);
  // Relative defect of additivity; deep nets at initialisation have tiny outputs.
  // The classifier's bias would dominate those outputs: zero it.
  auto defect = [&](Network& net) {
    net->named_parameters()["fc.bias"].zero_();
    auto f = [&](const torch::Tensor& t) { return net->forward(t); };
    auto lhs = f(a) + f(b), rhs = f(a + b) + f(zero);
    return ((lhs - rhs).norm() / lhs.norm()).item<double>();
  };
  EXPECT_LT(defect(*linear_net), 1e-9);

  auto relu_net = build_model(*only(spec, spec::stage_names(**spec::find_arch(spec.arch)).front()));
  (*relu_net)->eval();
  (*relu_net)->to(torch::kFloat64);
  EXPECT_GT(defect(*relu_net), 1e-4);
}

TEST_P(ModelZooTest, SameSeedSameWeightsAndParameterNamesAreStable) {
  spec::ModelSpec spec;
  spec.arch = GetParam();
  spec.alpha = 0.25;
  torch::manual_seed(7);
  auto a = build_model(spec);
  torch::manual_seed(7);
  auto b = build_model(*cull(spec, {"s1"}));  // a plan changes no parameter
  auto pa = (*a)->named_parameters();
  auto pb = (*b)->named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto& p : pa) {
    ASSERT_TRUE(pb.contains(p.key())) << p.key();
    EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key();
  }
  EXPECT_TRUE(pa.contains("stem_conv.weight"));
  EXPECT_TRUE(pa.contains("s1_b0.conv1.weight") || pa.contains("s1_b0.dw_conv.weight"));
  EXPECT_TRUE(pa.contains("fc.weight"));
}

INSTANTIATE_TEST_SUITE_P(AllArchs, ModelZooTest, ::testing::ValuesIn(spec::arch_names()),
                         [](const auto& info) {
                           std::string name = info.param;  // wrn22-8: a test name has no dashes
                           for (auto& c : name)
                             if (c == '-') c = '_';
                           return name;
                         });

TEST(ModelTest, InvalidSpecIsNotBuilt) {
  spec::ModelSpec spec;
  spec.rho = 0.7;
  auto net = build_model(spec);
  ASSERT_FALSE(net.ok());
  EXPECT_NE(net.status().message().find("rho"), std::string::npos);
}

TEST(ModelTest, ZeroPadShortcutHasNoParameters) {
  spec::ModelSpec spec;
  spec.arch = "resnet56";
  auto net = build_model(spec);
  for (const auto& p : (*net)->named_parameters())
    EXPECT_EQ(p.key().find("proj"), std::string::npos) << p.key();
}

}  // namespace
}  // namespace deepreduce::nn
