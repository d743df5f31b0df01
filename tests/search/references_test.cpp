// The built-in reference sets: every figure carries its source and its task,
// and DeepReDuce's own fronts are networks this project's paper configs plan.
#include "search/references.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "spec/counts.h"
#include "search/strategy.h"

namespace deepreduce::search {
namespace {

TEST(ReferenceSetsTest, EveryPointCarriesItsSourceAndTask) {
  const std::set<std::string> datasets = {"cifar10", "cifar100", "tiny-imagenet"};
  std::set<std::string> names;
  for (const auto& set : reference_sets()) {
    EXPECT_TRUE(names.insert(set.name).second) << "two sets named " << set.name;
    EXPECT_TRUE(datasets.count(set.dataset)) << set.name << ": " << set.dataset;
    ASSERT_FALSE(set.points.empty()) << set.name;
    for (const auto& p : set.points) {
      EXPECT_EQ(p.set, set.name);
      EXPECT_EQ(p.dataset, set.dataset);
      EXPECT_EQ(p.arch, set.arch);
      EXPECT_FALSE(p.series.empty());
      EXPECT_FALSE(p.label.empty());
      EXPECT_GT(p.source.size(), 20u) << set.name << " " << p.label;
      EXPECT_GT(p.relus, 0) << set.name;
      EXPECT_GT(p.top1, 0) << set.name;
      EXPECT_LE(p.top1, 100) << set.name;
    }
  }
  // The methods the literature compares against, on the paper's datasets.
  for (const char* want : {"deepreduce-resnet18-cifar100", "deepreduce-resnet18-tiny-imagenet", "snl-cifar100",
                           "senet-resnet18-cifar100", "snl-tiny-imagenet", "sphynx-cifar100", "cryptonas-cifar100"})
    EXPECT_TRUE(names.count(want)) << want;
  auto unknown = reference_set("snl-imagenet");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("known: deepreduce-resnet56-cifar10"), std::string::npos);
}

// A published front, read as a curve, has more accuracy for more ReLUs.
TEST(ReferenceSetsTest, PublishedFrontsRiseWithTheirReluCounts) {
  for (const auto& set : reference_sets()) {
    if (set.name.rfind("deepreduce-criticality", 0) == 0 || set.name.rfind("deepreduce-resnet56", 0) == 0) continue;
    for (size_t i = 1; i < set.points.size(); ++i) {
      EXPECT_GT(set.points[i].relus, set.points[i - 1].relus) << set.name;
      // SNL's TinyImageNet front dips by 0.21 points between 300K and 400K ReLUs, as published.
      if (set.name != "snl-tiny-imagenet") {
        EXPECT_GT(set.points[i].top1, set.points[i - 1].top1) << set.name;
      }
    }
  }
}

std::set<int64_t> planned_counts(const std::string& config) {
  std::ifstream in(std::string(DEEPREDUCE_SOURCE_DIR) + "/configs/" + config);
  std::stringstream text;
  text << in.rdbuf();
  auto c = parse_sweep(text.str(), config, /*require_data=*/false);
  EXPECT_TRUE(c.ok()) << c.status().message();
  if (!c.ok()) return {};
  auto strategy = make_strategy(*c);
  EXPECT_TRUE(strategy.ok());
  auto space = (*strategy)->whole_space({"stem", "s1", "s4", "s2", "s3"});
  EXPECT_TRUE(space.ok()) << space.status().message();
  std::set<int64_t> out;
  for (const auto& t : *space) out.insert(spec::count(t.spec.job.model)->relus);
  return out;
}

// The source gives DeepReDuce's counts in thousands to three or four digits
// (229.38K, 114.0K, 200.0K): each is within 2% of a network the paper config
// plans under the paper's culling order, but for TinyImageNet's 12.9K, which
// no network of that space comes near (the nearest has 16,384 ReLUs).
TEST(ReferenceSetsTest, DeepReduceFrontsAreNetworksOfThePaperConfigs) {
  for (const auto& [name, config] : {std::pair<std::string, std::string>{"deepreduce-resnet18-cifar100", "resnet18_cifar100.yaml"},
                                     {"deepreduce-resnet18-tiny-imagenet", "resnet18_tinyimagenet.yaml"}}) {
    const auto counts = planned_counts(config);
    auto set = reference_set(name);
    ASSERT_TRUE(set.ok());
    int matched = 0;
    for (const auto& p : *set) {
      int64_t nearest = 0;
      for (int64_t c : counts)
        if (std::llabs(c - p.relus) < std::llabs(nearest - p.relus)) nearest = c;
      const bool close = std::llabs(nearest - p.relus) <= p.relus / 50;
      if (name == "deepreduce-resnet18-tiny-imagenet" && p.relus == 12900) {
        EXPECT_FALSE(close) << "12.9K is now a planned network: say so in references.cpp";
        continue;
      }
      EXPECT_TRUE(close) << name << ": " << p.relus << " ReLUs, nearest planned " << nearest;
      ++matched;
    }
    EXPECT_EQ(matched, name == "deepreduce-resnet18-cifar100" ? 7 : 11);
  }
}

}  // namespace
}  // namespace deepreduce::search
