// Trials and results as values: the typed seams of spec/trial.h and
// spec/result.h read what earlier builds stored and write what ids hash.
#include "spec/trial.h"

#include <gtest/gtest.h>

#include "spec/result.h"

namespace deepreduce::spec {
namespace {

TEST(TrialResultTest, DecisionsUseValidationTop1WhenAResultHasIt) {
  EXPECT_EQ(spec::trial_result_from_json({{"top1", 70.0}}).decision_top1(), 70.0);
  EXPECT_EQ(spec::trial_result_from_json({{"top1", 70.0}, {"val_top1", 65.5}}).decision_top1(), 65.5);
  EXPECT_FALSE(spec::trial_result_from_json({{"noop", true}}).decision_top1().has_value());
  EXPECT_TRUE(spec::trial_result_from_json({{"noop", true}}).noop);
  EXPECT_FALSE(spec::trial_result_from_json(nlohmann::json("garbage")).top1.has_value());  // never throws
  const auto odd = spec::trial_result_from_json({{"top1", "high"}, {"epochs", {1, {{"seconds", 2.5}}}}});
  EXPECT_FALSE(odd.top1.has_value());
  EXPECT_EQ(odd.epochs.size(), 2u);
  EXPECT_EQ(odd.seconds(), 2.5);
}

TEST(TrialResultTest, RoundTripsThroughItsJson) {
  spec::TrialResult r;
  r.top1 = 71.25;
  r.top5 = 90.5;
  r.val_top1 = 70.0;
  r.relus = 1000;
  r.completed = true;
  r.device = "cpu";
  spec::EpochRecord e;
  e.epoch = 1;
  e.top1 = 71.25;
  e.seconds = 3;
  r.epochs = {e};
  const auto back = spec::trial_result_from_json(nlohmann::json::parse(spec::to_json(r).dump()));
  EXPECT_EQ(back.top1, r.top1);
  EXPECT_EQ(back.val_top1, r.val_top1);
  EXPECT_EQ(back.relus, 1000);
  EXPECT_TRUE(back.completed);
  ASSERT_EQ(back.epochs.size(), 1u);
  EXPECT_EQ(back.epochs[0].top1, 71.25);
  // result.json keeps its documented key order.
  EXPECT_EQ(spec::to_json(r).begin().key(), "top1");
}

TEST(TrialSpecTest, RolesAndNamesAreStoredButNotHashed) {
  spec::TrialSpec s;
  const std::string id = trial_id(s);
  s.role = spec::Role::kCulling;
  s.phase = spec::Role::kCulling;
  s.name = "culled-kd";
  EXPECT_EQ(trial_id(s), id);
  auto back = spec::trial_spec_from_json(to_json(s));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->role, spec::Role::kCulling);
  EXPECT_EQ(back->name, "culled-kd");
  for (spec::Role r : spec::all_roles()) EXPECT_EQ(*spec::parse_role(role_name(r)), r);
  nlohmann::json j = to_json(s);
  j["role"] = "winner";
  EXPECT_NE(trial_spec_from_json(j).status().message().find("role: expected one of baseline"), std::string::npos);
}

TEST(TrialSpecTest, PruneSpecsKeepTheJsonTheirIdsHash) {
  spec::TrialSpec s;
  s.prune = spec::PruneSpec{};
  s.prune->criterion = spec::PruneCriterion::kFpgm;
  s.prune->macs_target = 0.5;
  s.prune->rate = 0.25;
  // The form ids hashed when prune was free JSON: sorted keys, scope only when inner.
  EXPECT_NE(canonical_json(s).find(R"("prune":{"criterion":"fpgm","macs_target":0.5,"rate":0.25})"), std::string::npos)
      << canonical_json(s);
  s.prune->scope = spec::PruneScope::kInner;
  EXPECT_NE(canonical_json(s).find(R"("scope":"inner")"), std::string::npos);
  auto back = spec::trial_spec_from_json(to_json(s));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back->prune, *s.prune);
  for (const auto& bad : {nlohmann::json{{"criterion", "random"}}, nlohmann::json{{"rate", 0.5}},
                          nlohmann::json{{"criterion", "l1"}, {"rate", "half"}},
                          nlohmann::json{{"criterion", "l1"}, {"extra", 1}}})
    EXPECT_FALSE(spec::prune_spec_from_json(bad).ok()) << bad.dump();
}

}  // namespace
}  // namespace deepreduce::spec
