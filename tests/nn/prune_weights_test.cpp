// Channel pruning's weights (nn/prune_weights.h): pruned networks compute
// what their specs count, filter ranking, and weight transfer that keeps what
// the survivors compute.
#include "spec/prune.h"

#include <gtest/gtest.h>

#include "spec/counts.h"
#include "nn/model.h"
#include "nn/prune_weights.h"
#include "spec/relu_plan.h"
#include "spec/model_json.h"

namespace deepreduce::nn {
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

TEST(PruneTest, PrunedSpecsCountExactlyWhatTheBuiltNetworkComputes) {
  torch::manual_seed(0);
  for (const auto& arch : spec::arch_names())
    for (double rate : {0.25, 0.5, 0.9}) {
      spec::ModelSpec s = *spec::prune_rate(small(arch), rate);
      ASSERT_FALSE(s.widths.empty()) << arch;
      for (const auto& plan : {s, *cull(s, {"s1"}), *thin(s, {"s2"})}) {
        auto analytic = count(plan);
        ASSERT_TRUE(analytic.ok()) << analytic.status().message();
        auto net = build_model(plan);
        ASSERT_TRUE(net.ok());
        MeasuredCounts measured = measure_counts(*net);
        EXPECT_EQ(analytic->relus, measured.relus) << arch << " rate " << rate;
        EXPECT_EQ(analytic->macs, measured.macs) << arch << " rate " << rate;
        EXPECT_EQ(analytic->params, measured.params) << arch << " rate " << rate;
      }
    }
}

TEST(PruneTest, L1AndFpgmRankFiltersAsTheirPapersSay) {
  // Four filters: a, b, -a (far from the others) and (a+b)/2, the geometric median.
  torch::Tensor a = torch::tensor({1.0, 0.0, 0.0, 0.0}), b = torch::tensor({0.0, 1.0, 0.0, 0.0});
  torch::Tensor w = torch::stack({a * 3, b * 3, -a * 3, (a + b) * 1.5}).reshape({4, 1, 2, 2});
  torch::Tensor l1 = filter_importance(w, spec::PruneCriterion::kL1);
  EXPECT_DOUBLE_EQ(l1[0].item<double>(), 3.0);
  EXPECT_DOUBLE_EQ(l1[3].item<double>(), 3.0);
  torch::Tensor fpgm = filter_importance(w, spec::PruneCriterion::kFpgm);
  // The median is the most replaceable: the smallest sum of distances.
  EXPECT_EQ(fpgm.argmin().item<int64_t>(), 3);
  EXPECT_EQ(fpgm.argmax().item<int64_t>(), 2);
  EXPECT_FALSE(spec::parse_criterion("random").ok());
}

// Zero the filters a pruning would remove (and their BN): the network computes
// the same function with or without them, so the pruned network's outputs must
// equal the source's exactly.
void expect_same_function(const std::string& arch, spec::PruneCriterion criterion, spec::PruneScope scope = spec::PruneScope::kInner) {
  torch::manual_seed(1);
  const spec::ModelSpec s = small(arch);
  Network src = *build_model(s);
  const spec::ModelSpec target = *prune_rate(s, 0.5, scope);
  {
    // The channel groups the pruning narrows: in each, every filter that
    // writes its second half made weak (L1) or a copy of the first (FPGM's
    // near-median duplicates), and the BN after it zero; a writer without a
    // BN after it (pre-activation blocks) zero. Those channels are then zero
    // wherever they flow, and BNs at initialisation keep zeros zero.
    torch::NoGradGuard no_grad;
    const spec::ResolvedArch r = resolve_unchecked(s), t = resolve_unchecked(target);
    auto params = src->named_parameters(true);
    for (size_t g = 0; g < r.groups.size(); ++g) {
      if (t.groups[g].width == r.groups[g].width) continue;
      for (const spec::ResolvedBlock* b : all_blocks(r))
        for (size_t k = 0; k < b->layers.size(); ++k) {
          const spec::ResolvedLayer& l = b->layers[k];
          if (l.kind != spec::LayerKind::kConv || l.depthwise || l.group_out != static_cast<int>(g)) continue;
          const spec::ResolvedLayer* bn = nullptr;
          for (const auto& m : b->layers)
            if (m.kind == spec::LayerKind::kBatchNorm && m.inputs[0] == static_cast<int>(k)) bn = &m;
          torch::Tensor w = params[l.path + ".weight"];
          const int64_t n = w.size(0);
          for (int64_t i = n / 2; i < n; ++i) {
            if (!bn) {
              w[i].zero_();
            } else if (criterion == spec::PruneCriterion::kL1 || scope == spec::PruneScope::kCoupled) {
              w[i].mul_(1e-3);
            } else {
              w[i].copy_(w[0]);
            }
            if (bn) {
              params[bn->path + ".weight"][i].zero_();
              params[bn->path + ".bias"][i].zero_();
            }
          }
        }
    }
  }
  src->eval();
  auto pruned = prune_network(src, target, criterion);
  ASSERT_TRUE(pruned.ok()) << pruned.status().message();
  (*pruned)->eval();
  torch::Tensor x = torch::randn({3, 3, 32, 32});
  torch::NoGradGuard no_grad;
  torch::Tensor y0 = src->forward(x), y1 = (*pruned)->forward(x);
  EXPECT_TRUE(torch::allclose(y0, y1, 1e-4, 1e-5)) << arch << ": max diff " << (y0 - y1).abs().max().item<double>();
  EXPECT_LT(count(target)->params, count(s)->params);
}

// A network pruned at `rate` (weights ranked by `criterion`) has exactly the
// parameters of the pruned spec.
void expect_params_of_the_pruned_spec(const spec::ModelSpec& s, double rate, spec::PruneCriterion criterion) {
  Network src = *build_model(s);
  auto pruned = prune_network(src, *prune_rate(s, rate), criterion);
  ASSERT_TRUE(pruned.ok()) << pruned.status().message();
  EXPECT_EQ(count((*pruned)->spec())->params, count(*prune_rate(s, rate))->params);
}

TEST(PruneTest, RemovingFiltersThatComputeNothingKeepsTheFunction) {
  expect_same_function("resnet18", spec::PruneCriterion::kL1);
  expect_same_function("resnet56", spec::PruneCriterion::kL1);
  expect_same_function("mobilenetv1", spec::PruneCriterion::kL1);
  expect_same_function("wrn22-8", spec::PruneCriterion::kL1);
  // Coupled: the stage channels go with the inner ones (a projection network:
  // ResNet-56's zero-padded shortcuts place channels by position, so its
  // coupled transfer is a starting point for fine-tuning, not the same function).
  expect_same_function("resnet18", spec::PruneCriterion::kL1, spec::PruneScope::kCoupled);
  expect_same_function("mobilenetv1", spec::PruneCriterion::kL1, spec::PruneScope::kCoupled);
  expect_same_function("wrn22-8", spec::PruneCriterion::kL1, spec::PruneScope::kCoupled);
  torch::manual_seed(3);
  expect_params_of_the_pruned_spec(small("resnet56"), 0.5, spec::PruneCriterion::kL1);
}

TEST(PruneTest, FpgmDropsDuplicateFiltersAndKeepsTheFunction) {
  // Copies of one filter are nearest the others' median: FPGM removes the copies
  // (keeping the first), so the function is kept.
  expect_same_function("resnet18", spec::PruneCriterion::kFpgm);
  expect_same_function("mobilenetv1", spec::PruneCriterion::kFpgm);
  torch::manual_seed(2);
  const spec::ModelSpec s = small("resnet18");
  expect_params_of_the_pruned_spec(s, 0.25, spec::PruneCriterion::kFpgm);
  Network src = *build_model(s);
  spec::ModelSpec other = s;
  other.alpha = 0.5;
  EXPECT_FALSE(prune_network(src, *prune_rate(other, 0.25), spec::PruneCriterion::kL1).ok());
}

}  // namespace
}  // namespace deepreduce::nn
