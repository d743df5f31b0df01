// Masked networks as built: a partial site computes m * relu(x) + (1 - m) * x,
// counts exactly what its mask keeps (measured against the spec's analytic
// counts on every architecture), and a mask phase's α binarises to its budget.
#include "nn/masks.h"

#include <gtest/gtest.h>

#include <random>

#include "spec/counts.h"
#include "spec/relu_plan.h"

namespace deepreduce::nn {
namespace {

spec::MaskValues random_mask(const spec::ModelSpec& spec, spec::MaskGranularity g, double keep, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution coin(keep);
  spec::MaskValues m;
  m.granularity = g;
  for (const auto& s : *relu_sites(spec)) {
    if (!s.active) continue;
    spec::SiteMask sm{s.name, s.channels, s.height, s.width, {}};
    for (int64_t i = 0; i < mask_units(g, s.channels, s.height, s.width); ++i) sm.keep.push_back(coin(rng));
    m.sites.push_back(sm);
  }
  return m;
}

TEST(MaskedNetworkTest, CountsMeasuredOnTheBuiltNetworkEqualTheSpecsOnEveryArchitecture) {
  torch::manual_seed(0);
  for (const auto& arch : spec::arch_names())
    for (spec::MaskGranularity g : {spec::MaskGranularity::kPixel, spec::MaskGranularity::kChannel}) {
      spec::ModelSpec s;
      s.arch = arch;
      s.alpha = 0.125;
      s.blocks.assign((*spec::find_arch(arch))->stages.size(), 1);
      s = *cull(s, {spec::stage_names(**spec::find_arch(arch)).back()});  // masks beside a plan
      const spec::MaskValues m = random_mask(s, g, 0.3, 11);
      s.masks = fixed_masks(m);
      auto net = build_model(s);
      ASSERT_TRUE(net.ok()) << net.status().message();
      ASSERT_TRUE(apply_mask(*net, m).ok());
      const MeasuredCounts measured = measure_counts(*net);
      const spec::Counts analytic = *count(s);
      EXPECT_EQ(measured.relus, analytic.relus) << arch << " " << granularity_name(g);
      EXPECT_EQ(measured.macs, analytic.macs) << arch;
      std::map<std::string, int64_t> sites;
      for (const auto& site : analytic.sites)
        if (site.active && site.relus() > 0) sites[site.name] = site.relus();
      EXPECT_EQ(measured.site_relus, sites) << arch;
      EXPECT_EQ(mask_values(*net).sites.size(), m.sites.size());
      EXPECT_EQ(mask_digest(mask_values(*net)), s.masks->digest) << "the network holds the very mask";
    }
}

TEST(MaskedNetworkTest, APartialSiteComputesTheFormula) {
  torch::manual_seed(3);
  for (spec::MaskGranularity g : {spec::MaskGranularity::kPixel, spec::MaskGranularity::kChannel}) {
    spec::ReluMasks fixed{g, false, {{"s", 1}}, std::string(64, '0')};
    ReluGate gate("s", true, &fixed, std::vector<int64_t>{4, 3, 3});
    const torch::Tensor m = (torch::rand(gate->mask().sizes()) > 0.5).to(torch::kFloat);
    {
      torch::NoGradGuard no_grad;
      gate->mutable_mask().copy_(m);
    }
    const torch::Tensor x = torch::randn({2, 4, 3, 3});
    EXPECT_TRUE(torch::allclose(gate->forward(x), m * torch::relu(x) + (1 - m) * x));
    spec::ReluMasks learnable{g, true, {}, ""};
    ReluGate soft("s", true, &learnable, std::vector<int64_t>{4, 3, 3});
    {
      torch::NoGradGuard no_grad;
      soft->named_parameters()["alpha"].uniform_(0, 1);
    }
    const torch::Tensor a = soft->alpha();
    EXPECT_TRUE(torch::allclose(soft->forward(x), a * torch::relu(x) + (1 - a) * x));
  }
  // Whole networks: a mask keeping everything is the unmasked network, one keeping nothing the culled one.
  spec::ModelSpec s;
  s.alpha = 0.125;
  s.blocks = {1, 1, 1, 1};
  for (double keep : {1.0, 0.0}) {
    const spec::MaskValues m = random_mask(s, spec::MaskGranularity::kChannel, keep, 1);
    spec::ModelSpec masked = s;
    masked.masks = fixed_masks(m);
    torch::manual_seed(5);
    auto a = build_model(masked);
    torch::manual_seed(5);
    auto b = build_model(keep == 1.0 ? s : *no_relus(s));
    ASSERT_TRUE(apply_mask(*a, m).ok());
    (*a)->eval();
    (*b)->eval();
    const torch::Tensor x = torch::randn({2, 3, 32, 32});
    torch::NoGradGuard no_grad;
    EXPECT_TRUE(torch::equal((*a)->forward(x), (*b)->forward(x))) << "keep " << keep;
  }
}

TEST(MaskedNetworkTest, BinarisingMeetsTheBudgetWithTheLargestAlpha) {
  torch::manual_seed(9);
  for (spec::MaskGranularity g : {spec::MaskGranularity::kPixel, spec::MaskGranularity::kChannel}) {
    spec::ModelSpec s;
    s.alpha = 0.125;
    s.blocks = {1, 1, 1, 1};
    s.masks = spec::ReluMasks{g, true, {}, ""};
    auto net = build_model(s);
    ASSERT_TRUE(net.ok());
    {
      torch::NoGradGuard no_grad;
      for (auto& p : (*net)->named_parameters())
        if (p.key().find("alpha") != std::string::npos) p.value().uniform_(0, 1);
    }
    const int64_t alive = alive_relus(*net, 0.01);
    for (int64_t budget : {alive + 10, alive / 2, int64_t{1000}, int64_t{0}}) {
      const spec::MaskValues m = binarize(*net, 0.01, budget);
      spec::ModelSpec fixed = s;
      fixed.masks = fixed_masks(m);
      const int64_t relus = count(fixed)->relus;
      if (g == spec::MaskGranularity::kPixel) {
        EXPECT_EQ(relus, std::min(budget, alive)) << "pixel masks meet the budget exactly";
      } else {
        EXPECT_LE(relus, budget);
        EXPECT_GE(relus, std::min(budget, alive) - 16 * 32 * 32) << "no channel that still fits was left out";
      }
    }
    // The kept units are those of largest α: the smallest kept α is at least the largest dropped one.
    const spec::MaskValues m = binarize(*net, 0.01, alive / 3);
    float min_kept = 2, max_dropped = -1;
    size_t site = 0;
    for (auto& gate : learnable_gates(*net)) {
      const torch::Tensor a = gate->alpha().flatten();
      for (int64_t i = 0; i < a.numel(); ++i) {
        const float v = a[i].item<float>();
        if (m.sites[site].keep[static_cast<size_t>(i)]) min_kept = std::min(min_kept, v);
        else if (g == spec::MaskGranularity::kPixel && v > 0.01f) max_dropped = std::max(max_dropped, v);
      }
      ++site;
    }
    if (g == spec::MaskGranularity::kPixel) EXPECT_GE(min_kept, max_dropped);
  }
}

// SENet-style per-layer budgets: every site keeps the same share of its
// units (the budget exactly, per pixel), and in each site those of largest
// importance.
TEST(MaskedNetworkTest, PerLayerBudgetsKeepEachSitesShareOfItsMostImportantUnits) {
  torch::manual_seed(4);
  for (spec::MaskGranularity g : {spec::MaskGranularity::kPixel, spec::MaskGranularity::kChannel}) {
    spec::ModelSpec s;
    s.alpha = 0.125;
    s.blocks = {1, 1, 1, 1};
    s.masks = spec::ReluMasks{g, true, {}, ""};
    auto net = build_model(s);
    ASSERT_TRUE(net.ok());
    std::map<std::string, torch::Tensor> importance;
    for (auto& gate : learnable_gates(*net)) importance[gate->name()] = torch::rand(gate->alpha().sizes());
    const int64_t all = alive_relus(*net, 0.01);  // every α is 1: every ReLU is alive
    for (int64_t budget : {all / 3, int64_t{5000}, int64_t{777}, all + 5}) {
      ASSERT_TRUE(set_top_k(*net, importance, budget).ok());
      const spec::MaskValues m = binarize(*net, 0.5, all);  // α is 0 or 1: what it keeps
      spec::ModelSpec fixed = s;
      fixed.masks = fixed_masks(m);
      const int64_t relus = count(fixed)->relus;
      if (g == spec::MaskGranularity::kPixel) {
        EXPECT_EQ(relus, std::min(budget, all)) << "per pixel the budget is met exactly";
      } else {
        EXPECT_LE(relus, budget);
      }
      const double share = static_cast<double>(std::min(budget, all)) / static_cast<double>(all);
      size_t site = 0;
      for (auto& gate : learnable_gates(*net)) {
        const spec::SiteMask& sm = m.sites[site++];
        const double quota = share * static_cast<double>(sm.keep.size());
        EXPECT_GE(static_cast<double>(sm.kept()), std::floor(quota)) << sm.site;
        EXPECT_LE(static_cast<double>(sm.kept()), std::floor(quota) + 1) << sm.site;
        // The kept units are the most important ones of their site.
        const torch::Tensor score = importance[gate->name()].flatten();
        float min_kept = 2, max_dropped = -1;
        for (int64_t i = 0; i < score.numel(); ++i) {
          const float v = score[i].item<float>();
          if (sm.keep[static_cast<size_t>(i)]) min_kept = std::min(min_kept, v);
          else max_dropped = std::max(max_dropped, v);
        }
        EXPECT_GE(min_kept, max_dropped) << sm.site;
      }
    }
    // A site without an importance is an error, not a silent full keep.
    importance.erase(importance.begin());
    EXPECT_FALSE(set_top_k(*net, importance, 1000).ok());
  }
}

}  // namespace
}  // namespace deepreduce::nn
