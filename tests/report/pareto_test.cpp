#include "report/pareto.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace deepreduce::report {
namespace {


std::vector<std::string> ids(const std::vector<Point>& ps) {
  std::vector<std::string> out;
  for (const auto& p : ps) out.push_back(p.id);
  return out;
}

TEST(ParetoTest, FrontTable) {
  struct Case {
    const char* name;
    std::vector<Point> points;
    std::vector<std::string> front;
  };
  const std::vector<Case> cases = {
      {"empty", {}, {}},
      {"one", {{100, 50, "a"}}, {"a"}},
      {"dominated by fewer relus and more accuracy", {{100, 50, "a"}, {200, 40, "b"}}, {"a"}},
      {"trade-off kept", {{100, 50, "a"}, {200, 60, "b"}, {50, 30, "c"}}, {"c", "a", "b"}},
      {"same relus: the more accurate", {{100, 50, "a"}, {100, 55, "b"}}, {"b"}},
      {"same accuracy: the fewer relus", {{100, 50, "a"}, {80, 50, "b"}}, {"b"}},
      {"exact tie: smallest id", {{100, 50, "b"}, {100, 50, "a"}}, {"a"}},
      {"no relus at all", {{0, 18.5, "none"}, {65536, 46.2, "stem"}, {262144, 45, "s1"}}, {"none", "stem"}},
  };
  for (const auto& c : cases) EXPECT_EQ(ids(pareto_front(c.points)), c.front) << c.name;
}

TEST(ParetoTest, IncrementalFrontEqualsTheBatchFrontInAnyOrder) {
  std::mt19937 rng(3);
  std::vector<Point> pts;
  for (int i = 0; i < 200; ++i)
    pts.push_back({static_cast<int64_t>(rng() % 1000), static_cast<double>(rng() % 100), "p" + std::to_string(i)});
  const auto batch = ids(pareto_front(pts));
  for (int round = 0; round < 5; ++round) {
    std::shuffle(pts.begin(), pts.end(), rng);
    ParetoFront f;
    for (const auto& p : pts) f.add(p);
    EXPECT_EQ(ids(f.points()), batch);
    for (const auto& p : pts)
      for (const auto& q : f.points()) EXPECT_FALSE(dominates(p, q)) << p.id << " dominates " << q.id;
  }
  ParetoFront f;
  EXPECT_TRUE(f.add({100, 50, "a"}));
  EXPECT_FALSE(f.add({200, 40, "b"}));
  EXPECT_TRUE(f.add({50, 60, "c"}));
  EXPECT_EQ(ids(f.points()), std::vector<std::string>{"c"});
}

TEST(HypervolumeTest, AreasInLogReluSpace) {
  // One point at 10 ReLUs, 60%, reference (1000 ReLUs, 10%): (3 - 1) * 50.
  EXPECT_DOUBLE_EQ(hypervolume({{10, 60, "a"}}, 1000, 10), 100.0);
  // Two steps: (3-1)*(40-10) + (3-2)*(60-40).
  EXPECT_DOUBLE_EQ(hypervolume({{10, 40, "a"}, {100, 60, "b"}}, 1000, 10), 80.0);
  // Dominated points add nothing; points outside the box add nothing.
  EXPECT_DOUBLE_EQ(hypervolume({{10, 40, "a"}, {100, 60, "b"}, {500, 50, "c"}, {5000, 90, "d"}}, 1000, 10), 80.0);
  EXPECT_DOUBLE_EQ(hypervolume({}, 1000, 10), 0.0);
  // No ReLUs sits at log10(1) = 0.
  EXPECT_DOUBLE_EQ(hypervolume({{0, 20, "none"}}, 100, 10), 20.0);
}

TEST(ReferenceCurveTest, IsoAccuracySavingAndIsoReluGain) {
  const std::vector<Point> ours = {{50000, 60, "a"}, {100000, 68, "b"}, {200000, 72, "c"}};
  const std::vector<Point> theirs = {{175000, 60, "x"}, {400000, 68, "y"}};
  EXPECT_DOUBLE_EQ(*relu_saving_at_accuracy(ours, theirs, 68), 4.0);
  EXPECT_DOUBLE_EQ(*relu_saving_at_accuracy(ours, theirs, 60), 3.5);
  EXPECT_FALSE(relu_saving_at_accuracy(ours, theirs, 75).has_value());
  // A network of ours with no ReLU at all reaching the accuracy is an unbounded
  // saving, not "not reached".
  std::vector<Point> linear = ours;
  linear.push_back({0, 69.0, "linear"});
  ASSERT_TRUE(relu_saving_at_accuracy(linear, theirs, 68).has_value());
  EXPECT_TRUE(std::isinf(*relu_saving_at_accuracy(linear, theirs, 68)));
  EXPECT_DOUBLE_EQ(*accuracy_gain_at_relus(ours, theirs, 200000), 12.0);
  EXPECT_FALSE(accuracy_gain_at_relus(ours, theirs, 10000).has_value());
  EXPECT_EQ(*relus_for_accuracy(ours, 65), 100000);
  EXPECT_DOUBLE_EQ(*accuracy_at_relus(ours, 150000), 68);
}

}  // namespace
}  // namespace deepreduce::report
