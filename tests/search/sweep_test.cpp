#include "search/sweep.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "search/strategy.h"
#include "spec/counts.h"

namespace deepreduce::search {
namespace {

const char* kSweep = R"(name: tiny
dataset: {name: synthetic, train_subset: 256, test_subset: 100}
model: {arch: resnet18, alpha: 0.125, blocks: [1, 1, 1, 1]}
train: {epochs: 2, batch: 32, lr: 0.05}
kd: {temperature: 3, lambda: 0.5}
search:
  strategy: grid
  cull: [[], [stem], [stem, s1]]
  thin: [[], [s4]]
  alpha: [0.125, 0.25]
  kd: [false, true]
)";

TEST(SweepTest, ParsesTheSchemaWithDatasetDefaults) {
  auto c = parse_sweep(kSweep, "tiny.yaml");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->name, "tiny");
  EXPECT_EQ(c->base.data.dataset, "synthetic");
  EXPECT_EQ(c->base.model.classes, 10);
  EXPECT_EQ(c->base.model.in_channels, 3);
  EXPECT_EQ(c->base.train.epochs, 2);
  EXPECT_DOUBLE_EQ(c->base.train.kd.temperature, 3);
  EXPECT_EQ(c->grid.cull.size(), 3u);
  EXPECT_EQ(c->grid.kd, (std::vector<bool>{false, true}));
  EXPECT_TRUE(looks_like_sweep(kSweep));
  EXPECT_FALSE(looks_like_sweep("name: x\ntrials: []\n"));
}

TEST(SweepTest, GridCoversTheSpaceOnceWithBaselinesBeforeTheirStudents) {
  auto c = parse_sweep(kSweep, "tiny.yaml");
  ASSERT_TRUE(c.ok());
  auto trials = grid_trials(*c);
  ASSERT_TRUE(trials.ok()) << trials.status().message();
  // Per alpha: 3 cull x 2 thin x 2 KD = 12, all distinct networks; the all-ReLU
  // baseline is one of them. 2 alphas: 24.
  EXPECT_EQ(trials->size(), 24u);
  std::set<std::string> ids;
  for (const auto& t : *trials) {
    const std::string id = spec::trial_id(t.spec);
    EXPECT_TRUE(ids.insert(id).second) << "duplicate " << id;
    if (!t.spec.teacher.empty()) {
      EXPECT_TRUE(ids.count(t.spec.teacher)) << "a student before its teacher";
      EXPECT_DOUBLE_EQ(t.spec.job.train.kd.lambda, 0.5);
    }
  }
  // Identical networks are deduplicated: culling s4 and thinning it is culling it.
  auto c2 = parse_sweep(std::string(kSweep).replace(std::string(kSweep).find("[[], [stem], [stem, s1]]"), 24,
                                                    "[[], [s4]]"),
                        "tiny.yaml");
  ASSERT_TRUE(c2.ok()) << c2.status().message();
  // Per alpha: cull {} x thin {{}, {s4}} and cull {s4} x thin {{}, {s4}} -> 3 networks x 2 KD.
  EXPECT_EQ(grid_trials(*c2)->size(), 12u);
}

TEST(SweepTest, ErrorsNameFileLineAndKeyPath) {
  struct Case {
    std::string from, to, says;
  };
  const std::vector<Case> cases = {
      {"alpha: [0.125, 0.25]", "alpha: [0.125, big]", "tiny.yaml:10: search.alpha: expected a list of numbers in (0, 4], got \"big\""},
      {"alpha: [0.125, 0.25]", "alpha: [0.125, 9]", "tiny.yaml:10: search.alpha: alpha: expected a width multiplier in (0, 4], got 9"},
      {"cull: [[], [stem], [stem, s1]]", "cull: [[], [stem], [stem, s9]]", "tiny.yaml:8: search.cull: cull: unknown stage \"s9\""},
      {"thin: [[], [s4]]", "thin: [[], [stem]]", "tiny.yaml:9: search.thin: thin: the stem has a single ReLU"},
      {"strategy: grid", "strategy: bayes", "tiny.yaml:7: search.strategy: expected grid"},
      {"train: {epochs: 2,", "train: {epoch: 2,", "tiny.yaml:4: train.epoch: unknown key"},
      {"name: synthetic,", "name: imagenet,", "tiny.yaml:2: dataset.name: unknown dataset \"imagenet\""},
      {"arch: resnet18,", "arch: vgg,", "tiny.yaml:3: model.arch: unknown arch \"vgg\""},
      {"train: {epochs: 2, batch: 32, lr: 0.05}", "train: {epochs: 2, batch: 32, lr: -1}", "tiny.yaml:4: train.lr"},
      {"kd: {temperature: 3, lambda: 0.5}", "kd: {temperature: 3, lambda: 1.5}", "tiny.yaml:5: kd.lambda: expected a number in [0, 1]"},
      {"name: tiny\n", "name: tiny\nreference: []\n", "tiny.yaml:2: reference: unknown key"},
      {"search:\n", "search: [\n", "tiny.yaml:"},
      {"name: tiny\n", "name: tiny\npi_cost: {protocol: spdz}\n", "tiny.yaml:2: pi_cost: pi_cost.protocol: unknown"},
      {"name: tiny\n", "name: tiny\npi_cost: {relu_online_us: fast}\n", "tiny.yaml:2: pi_cost.relu_online_us: expected a number"},
      {"name: tiny\n", "name: tiny\npi_cost: {relu_us: 1}\n", "tiny.yaml:2: pi_cost.relu_us: unknown key"},
  };
  for (const auto& c : cases) {
    std::string text = kSweep;
    const auto pos = text.find(c.from);
    ASSERT_NE(pos, std::string::npos) << c.from;
    text.replace(pos, c.from.size(), c.to);
    auto r = parse_sweep(text, "tiny.yaml");
    ASSERT_FALSE(r.ok()) << c.to;
    EXPECT_NE(r.status().message().find(c.says), std::string::npos) << r.status().message();
  }
}

}  // namespace
}  // namespace deepreduce::search

namespace deepreduce::search {
namespace {

// The stored form of a config: every shipped config (and the test sweep) read
// back from its JSON defines the same experiment: the same JSON, the same trials.
TEST(ConfigJsonTest, EveryShippedConfigRoundTripsThroughItsStoredJson) {
  std::vector<std::string> texts = {kSweep};
  for (const auto& entry : std::filesystem::directory_iterator(DEEPREDUCE_SOURCE_DIR "/configs")) {
    std::ifstream in(entry.path());
    texts.push_back(std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
  }
  for (const auto& text : texts) {
    auto c = parse_sweep(text, "c.yaml", /*require_data=*/false);
    ASSERT_TRUE(c.ok()) << c.status().message();
    const nlohmann::json j = to_json(*c);
    EXPECT_EQ(j["config_version"], kConfigVersion);
    auto back = sweep_config_from_json(nlohmann::json::parse(j.dump()));
    ASSERT_TRUE(back.ok()) << c->name << ": " << back.status().message();
    EXPECT_EQ(to_json(*back), j) << c->name;
    auto a = make_strategy(*c), b = make_strategy(*back);
    ASSERT_TRUE(a.ok() && b.ok());
    auto pa = (*a)->whole_space({}), pb = (*b)->whole_space({});
    ASSERT_TRUE(pa.ok() && pb.ok());
    ASSERT_EQ(pa->size(), pb->size()) << c->name;
    for (size_t i = 0; i < pa->size(); ++i) EXPECT_EQ(spec::trial_id((*pa)[i].spec), spec::trial_id((*pb)[i].spec));
  }
  EXPECT_FALSE(sweep_config_from_json({{"config_version", kConfigVersion + 1}}).ok());
}

// Strategies come from the registry: a name it lacks is refused with the
// nearest one, a search may list several methods, each once.
TEST(StrategyRegistryTest, SearchEntriesNameRegisteredStrategies) {
  const std::string head =
      "name: r\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.125, blocks: [1, 1, 1, 1]}\n";
  auto typo = parse_sweep(head + "search: {strategy: deepreduse}\n", "r.yaml");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.status().message().find("r.yaml:4: search.strategy: expected grid, deepreduce, linearize, senet or senet_uniform, got \"deepreduse\"; "
                                         "did you mean deepreduce?"),
            std::string::npos)
      << typo.status().message();
  auto twice = parse_sweep(head + "search:\n  - {strategy: grid}\n  - {strategy: grid}\n", "r.yaml");
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().message().find("r.yaml:6: search.strategy: grid is named twice"), std::string::npos)
      << twice.status().message();
  auto other = parse_sweep(head + "search: {strategy: grid, phases: [culling]}\n", "r.yaml");
  EXPECT_NE(other.status().message().find("search.phases: not an option of strategy grid"), std::string::npos)
      << other.status().message();
  auto near = parse_sweep(head + "search: {strategy: grid, cul: [[stem]]}\n", "r.yaml");
  EXPECT_NE(near.status().message().find("search.cul: unknown key; did you mean cull?"), std::string::npos)
      << near.status().message();
  auto listed = parse_sweep(head + "search:\n  - {strategy: grid, cull: [[], [stem]]}\nchannel_pruning: {rates: [0.5]}\n",
                            "r.yaml");
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  ASSERT_EQ(listed->methods.size(), 2u);
  EXPECT_EQ(listed->methods[0].strategy, "grid");
  EXPECT_EQ(listed->methods[1].strategy, "channel_pruning");
  auto planned = (*make_strategy(*listed))->propose({});
  ASSERT_TRUE(planned.ok());
  for (const auto& t : *planned)
    EXPECT_EQ(t.spec.strategy, t.role == spec::Role::kPruning ? "channel_pruning" : "grid")
        << "each trial carries the strategy that planned it";
}

}  // namespace
}  // namespace deepreduce::search
