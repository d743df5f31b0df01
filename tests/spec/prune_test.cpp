// Channel pruning's shapes (spec/prune.h): which widths a pruned network has,
// exact counts of pruned specs and MACs targets. tests/nn/prune_weights_test.cpp
// holds the weight transfer.
#include "spec/prune.h"

#include <gtest/gtest.h>

#include "spec/counts.h"
#include "spec/model_json.h"
#include "spec/relu_plan.h"

namespace deepreduce::spec {
namespace {

spec::ModelSpec small(const std::string& arch) {
  spec::ModelSpec s;
  s.arch = arch;
  s.alpha = 0.25;
  // One block per stage (two where a stage's second block is what a test needs).
  s.blocks.assign((*spec::find_arch(arch))->stages.size(), 1);
  if (arch == "mobilenetv1") s.blocks[3] = 2;
  if (arch == "resnet56") s.blocks = {2, 2, 2};
  return s;
}

TEST(PruneTest, ABasicBlockLosesInnerChannelsOnly) {
  spec::ModelSpec s = small("resnet18");
  spec::ModelSpec p = *prune_rate(s, 0.5, spec::PruneScope::kInner);
  const auto full = *count(s), pruned = *count(p);
  // resnet18 at alpha 0.25: widths 16, 32, 64, 128; each block's relu1 site halves, relu2 keeps its width.
  for (size_t i = 0; i < full.sites.size(); ++i) {
    const bool inner = full.sites[i].name.find("relu1") != std::string::npos;
    EXPECT_EQ(pruned.sites[i].channels, inner ? full.sites[i].channels / 2 : full.sites[i].channels)
        << full.sites[i].name;
  }
  EXPECT_EQ(p.widths.at("s4.b0"), 64);
  EXPECT_LT(pruned.macs, full.macs);
}

// Coupled: every block's output channels in a stage, its shortcut and the
// stem go too, so the ReLUs after the residual adds are pruned as well.
TEST(PruneTest, CoupledPruningAlsoNarrowsEveryStageAndTheStem) {
  spec::ModelSpec s = small("resnet18");
  spec::ModelSpec p = *prune_rate(s, 0.5);
  const auto full = *count(s), pruned = *count(p);
  for (size_t i = 0; i < full.sites.size(); ++i)
    EXPECT_EQ(pruned.sites[i].channels, full.sites[i].channels / 2) << full.sites[i].name;
  EXPECT_EQ(p.widths.at("s4"), 64);
  EXPECT_EQ(resolve(p)->stem_width, 8);
  EXPECT_LT(pruned.relus, count(*prune_rate(s, 0.5, spec::PruneScope::kInner))->relus);
  // ResNet-56 (zero-padding shortcuts): stages may not narrow from one to the next.
  spec::ModelSpec r56 = small("resnet56");
  r56.widths["s2"] = 2;  // s1 keeps 4 (alpha 0.25)
  EXPECT_NE(validate(r56).message().find("zero-padding shortcuts cannot narrow"), std::string::npos)
      << validate(r56).message();
  spec::ModelSpec mb = small("mobilenetv1");
  mb.widths["s2"] = 8;
  EXPECT_NE(validate(mb).message().find("no residual stages"), std::string::npos);
  EXPECT_EQ(plan_summary(p), "pruned 4 blocks, 4 stages");
}

// The paper's comparison point: ResNet-56 on CIFAR-10 pruned to about 59M
// MACs. Coupled pruning removes ReLUs after the adds; inner-only cannot.
TEST(PruneTest, CoupledPruningOfResNet56LosesReluAfterTheAdds) {
  spec::ModelSpec r56;
  r56.arch = "resnet56";
  const auto base = *count(r56);
  const double fraction = 59.1e6 / static_cast<double>(base.macs);
  auto coupled = prune_to_macs(r56, fraction), inner = prune_to_macs(r56, fraction, spec::PruneScope::kInner);
  ASSERT_TRUE(coupled.ok() && inner.ok());
  const auto c = *count(coupled->spec), i = *count(inner->spec);
  EXPECT_LE(c.macs, 59.1e6);
  EXPECT_EQ(i.relus, 391360) << "inner-only keeps every ReLU after the adds";
  EXPECT_LT(c.relus, i.relus);
  std::printf("ResNet-56 at <= 59.1M MACs: coupled %lld ReLUs at %lld MACs (rate %.3f); inner-only %lld at %lld\n",
              static_cast<long long>(c.relus), static_cast<long long>(c.macs), coupled->rate,
              static_cast<long long>(i.relus), static_cast<long long>(i.macs));
}

TEST(PruneTest, MacsTargetsAreMetWithTheSmallestRate) {
  for (const auto& arch : spec::arch_names())
    for (double f : {0.7, 0.5}) {
      const spec::ModelSpec s = small(arch);
      auto shape = prune_to_macs(s, f);
      ASSERT_TRUE(shape.ok()) << arch << ": " << shape.status().message();
      const double full = static_cast<double>(count(s)->macs);
      EXPECT_LE(static_cast<double>(count(shape->spec)->macs), f * full) << arch;
      // A slightly smaller rate misses the target: the rate is the least that meets it.
      auto less = prune_rate(s, std::max(0.0, shape->rate - 0.02));
      EXPECT_GT(static_cast<double>(count(*less)->macs), f * full * 0.999) << arch;
    }
  // Inner-only pruning keeps the stem, the shortcuts and the block outputs: 1% is out of its reach.
  auto unreachable = prune_to_macs(small("resnet18"), 0.01, spec::PruneScope::kInner);
  ASSERT_FALSE(unreachable.ok());
  EXPECT_NE(unreachable.status().message().find("out of reach"), std::string::npos);
  EXPECT_NE(unreachable.status().message().find("(the stem, shortcuts and block outputs are not pruned)"),
            std::string::npos);
  auto far = prune_to_macs(small("resnet18"), 0.0001);
  ASSERT_FALSE(far.ok());
  EXPECT_NE(far.status().message().find("out of reach"), std::string::npos);
}

TEST(PruneTest, WidthsAreValidatedAndRoundTripThroughJson) {
  spec::ModelSpec s = small("resnet18");
  s.widths["s9.b0"] = 3;
  EXPECT_NE(validate(s).message().find("\"s9.b0\" is not a block"), std::string::npos);
  s.widths = {{"s1.b0", 17}};  // wider than the block's 16
  EXPECT_NE(validate(s).message().find("expected 1..16"), std::string::npos);
  s.widths = {{"s1.b0", 5}, {"s3.b0", 40}};
  auto back = spec::model_spec_from_json(to_json(s), "spec");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, s);
  EXPECT_EQ(plan_summary(s), "pruned 2 blocks");
}

}  // namespace
}  // namespace deepreduce::spec
