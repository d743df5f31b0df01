// Analytic counts are held against (1) the seed's published table, (2) hand
// arithmetic and well-known parameter counts, and (3) counts measured on the
// built LibTorch model over every arch and a table of plans, alphas, rhos and
// depths.
#include "nn/counts.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "nn/model.h"
#include "nn/relu_plan.h"

namespace deepreduce::nn {
namespace {

std::map<std::string, int64_t> stage_map(const Counts& c) {
  std::map<std::string, int64_t> m;
  for (const auto& s : c.stages) m[s.stage] = s.relus;
  return m;
}

TEST(CountsTest, ReproducesTheSeedsStageTable) {
  ModelSpec r18;
  r18.classes = 100;
  auto c18 = count(r18);
  ASSERT_TRUE(c18.ok());
  EXPECT_EQ(c18->relus, 557056);
  EXPECT_EQ(stage_map(*c18), (std::map<std::string, int64_t>{
                                 {"stem", 65536}, {"s1", 262144}, {"s2", 131072},
                                 {"s3", 65536}, {"s4", 32768}}));
  ModelSpec r34 = r18;
  r34.arch = "resnet34";
  auto c34 = count(r34);
  ASSERT_TRUE(c34.ok());
  EXPECT_EQ(c34->relus, 966656);
  EXPECT_EQ(stage_map(*c34), (std::map<std::string, int64_t>{
                                 {"stem", 65536}, {"s1", 393216}, {"s2", 262144},
                                 {"s3", 196608}, {"s4", 49152}}));
}

TEST(CountsTest, MatchesHandArithmeticAndKnownParameterCounts) {
  ModelSpec r18;  // CIFAR-10
  auto c = count(r18);
  ASSERT_TRUE(c.ok());
  // stem 64*32*32*3*9 + s1 4*(64*32*32*64*9) + s2..s4 each (conv1 + 3 convs + 1x1 proj)
  // = 1,769,472 + 150,994,944 + 3 * 134,217,728, plus the classifier 512*10.
  EXPECT_EQ(c->macs, 1769472 + 150994944 + 3LL * 134217728 + 5120);
  EXPECT_EQ(c->params, 11173962);  // the widely reported CIFAR-10 ResNet18 size
  ModelSpec r18c100 = r18;
  r18c100.classes = 100;
  EXPECT_EQ(count(r18c100)->params, 11220132);

  ModelSpec r56;
  r56.arch = "resnet56";
  auto c56 = count(r56);
  ASSERT_TRUE(c56.ok());
  EXPECT_EQ(c56->params, 853018);  // He et al.'s "0.85M", option A shortcuts have no weights
  // ReLUs: stem 16*32*32, then 18 ReLUs per stage at 16x32x32, 32x16x16, 64x8x8.
  EXPECT_EQ(c56->relus, 16384 + 18 * 16384 + 18 * 8192 + 18 * 4096);

  ModelSpec mb;
  mb.arch = "mobilenetv1";
  auto cm = count(mb);
  ASSERT_TRUE(cm.ok());
  EXPECT_EQ(cm->params, 3217226);  // the usual CIFAR-10 MobileNetV1 (stem 32, 13 blocks)
  EXPECT_EQ(cm->stages.size(), 6u);
  EXPECT_EQ(cm->stages[0].relus, 32 * 32 * 32);
  EXPECT_EQ(cm->stages[1].relus, 32 * 32 * 32 + 64 * 32 * 32);  // s1: dw on 32ch, pw to 64ch
}

TEST(CountsTest, AlphaAndRhoScaleTheCountsAsTheyShould) {
  ModelSpec base;
  base.classes = 100;
  ModelSpec half = base;
  half.alpha = 0.5;
  EXPECT_EQ(count(half)->relus * 2, count(base)->relus);
  ModelSpec lowres = base;
  lowres.rho = 0.5;
  EXPECT_EQ(count(lowres)->relus * 4, count(base)->relus);
}

struct PlanCase {
  const char* name;
  std::function<Result<ModelSpec>(const ModelSpec&)> apply;
};

// Every registered arch x plans x alphas x rhos x depths: the analytic counts
// equal what the built model computes in a forward pass.
TEST(CountsTest, AnalyticCountsEqualCountsMeasuredOnTheBuiltModel) {
  torch::manual_seed(0);
  const std::vector<PlanCase> plans = {
      {"all", [](const ModelSpec& s) { return Result<ModelSpec>(s); }},
      {"none", [](const ModelSpec& s) { return no_relus(s); }},
      {"cull stem,s1", [](const ModelSpec& s) { return cull(s, {"stem", "s1"}); }},
      {"thin s2 + cull s3",
       [](const ModelSpec& s) -> Result<ModelSpec> {
         auto t = thin(s, {"s2"});
         if (!t.ok()) return t;
         return cull(*t, {"s3"});
       }},
      {"only s1", [](const ModelSpec& s) { return only(s, "s1"); }},
      {"explicit",
       [](const ModelSpec& s) {
         const auto kind = (*find_arch(s.arch))->block;
         return keep_sites(s, {"stem", std::string("s2.b0.") + block_site_suffixes(kind).second});
       }},
  };
  struct Shape {
    double alpha, rho;
    int64_t input, in_channels;
  };
  const std::vector<Shape> shapes = {{1.0, 1.0, 32, 3}, {0.3, 0.5, 32, 3}, {0.25, 1.0, 28, 1}};
  int checked = 0;
  for (const auto& arch : arch_names()) {
    const auto& def = **find_arch(arch);
    std::vector<std::vector<int64_t>> depths = {{}};
    std::vector<int64_t> shallow(def.stages.size(), 1);
    depths.push_back(shallow);
    for (const auto& shape : shapes) {
      for (const auto& blocks : depths) {
        for (const auto& plan : plans) {
          ModelSpec spec;
          spec.arch = arch;
          spec.classes = 7;
          spec.alpha = shape.alpha;
          spec.rho = shape.rho;
          spec.input_size = shape.input;
          spec.in_channels = shape.in_channels;
          spec.blocks = blocks;
          // Full-width deep nets are slow on CPU; the default depth is checked
          // at reduced width, full width at depth 1 per stage.
          if (blocks.empty() && shape.alpha == 1.0 && arch != "resnet18") spec.alpha = 0.5;
          auto planned = plan.apply(spec);
          ASSERT_TRUE(planned.ok()) << arch << " " << plan.name << ": " << planned.status().message();
          auto analytic = count(*planned);
          ASSERT_TRUE(analytic.ok());
          auto net = build_model(*planned);
          ASSERT_TRUE(net.ok());
          MeasuredCounts measured = measure_counts(*net);
          const std::string where = arch + " " + plan.name + " alpha " +
                                    std::to_string(spec.alpha) + " rho " + std::to_string(spec.rho) +
                                    " input " + std::to_string(spec.input_size) +
                                    (blocks.empty() ? "" : " shallow");
          EXPECT_EQ(analytic->relus, measured.relus) << where;
          EXPECT_EQ(analytic->macs, measured.macs) << where;
          EXPECT_EQ(analytic->params, measured.params) << where;
          std::map<std::string, int64_t> analytic_sites;
          for (const auto& s : analytic->sites)
            if (s.active) analytic_sites[s.name] = s.relus();
          EXPECT_EQ(analytic_sites, measured.site_relus) << where;
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, 4 * 3 * 2 * 6);
}

TEST(CountsTest, InvalidSpecsAreNotCounted) {
  ModelSpec s;
  s.alpha = -1;
  EXPECT_FALSE(count(s).ok());
  EXPECT_FALSE(relu_sites(s).ok());
}

}  // namespace
}  // namespace deepreduce::nn
