// Analytic counts (spec/counts.h) against counts measured on the built
// LibTorch model over every arch and a table of plans, alphas, rhos and
// depths.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>

#include "nn/model.h"
#include "spec/counts.h"
#include "spec/relu_plan.h"

namespace deepreduce::nn {
namespace {

struct PlanCase {
  const char* name;
  std::function<Result<spec::ModelSpec>(const spec::ModelSpec&)> apply;
};

// Every registered arch x plans x alphas x rhos x depths: the analytic counts
// equal what the built model computes in a forward pass.
TEST(CountsTest, AnalyticCountsEqualCountsMeasuredOnTheBuiltModel) {
  torch::manual_seed(0);
  const std::vector<PlanCase> plans = {
      {"all", [](const spec::ModelSpec& s) { return Result<spec::ModelSpec>(s); }},
      {"none", [](const spec::ModelSpec& s) { return no_relus(s); }},
      {"cull the first two stages",
       [](const spec::ModelSpec& s) {
         const auto stages = spec::stage_names(**spec::find_arch(s.arch));
         return cull(s, {stages[0], stages[1]});
       }},
      {"thin s2 + cull s3",
       [](const spec::ModelSpec& s) -> Result<spec::ModelSpec> {
         auto t = thin(s, {"s2"});
         if (!t.ok()) return t;
         return cull(*t, {"s3"});
       }},
      {"only s1", [](const spec::ModelSpec& s) { return only(s, "s1"); }},
      {"explicit",
       [](const spec::ModelSpec& s) {
         const spec::ResolvedArch r = resolve_unchecked(s);
         return keep_sites(s, {site_names(r).front(), r.blocks[1].sites.back()});
       }},
  };
  struct Shape {
    double alpha, rho;
    int64_t input, in_channels;
  };
  const std::vector<Shape> shapes = {{1.0, 1.0, 32, 3}, {0.3, 0.5, 32, 3}, {0.25, 1.0, 28, 1}};
  int checked = 0;
  for (const auto& arch : spec::arch_names()) {
    const auto& def = **spec::find_arch(arch);
    std::vector<std::vector<int64_t>> depths = {{}};
    std::vector<int64_t> shallow(def.stages.size(), 1);
    depths.push_back(shallow);
    for (const auto& shape : shapes) {
      for (const auto& blocks : depths) {
        for (const auto& plan : plans) {
          spec::ModelSpec spec;
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
  EXPECT_EQ(checked, static_cast<int>(spec::arch_names().size()) * 3 * 2 * 6);
}

}  // namespace
}  // namespace deepreduce::nn
