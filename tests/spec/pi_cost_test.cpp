// The private-inference cost model: linear in ReLUs, MACs and ReLU layers,
// presets with their sources, calibration that names bad keys.
#include "spec/pi_cost.h"

#include <gtest/gtest.h>

#include "spec/counts.h"
#include "spec/relu_plan.h"

namespace deepreduce::spec {
namespace {

TEST(PiCostTest, PresetsAreCitedAndTheModelIsLinear) {
  ASSERT_GE(spec::pi_presets().size(), 2u);
  for (const auto& p : spec::pi_presets()) EXPECT_FALSE(p.source.empty()) << p.name;
  const spec::PiProtocol d = *spec::pi_preset("delphi");
  const spec::PiCost one = pi_cost(d, 1000, 0, 0), two = pi_cost(d, 2000, 0, 0);
  EXPECT_DOUBLE_EQ(two.online_seconds, 2 * one.online_seconds);
  EXPECT_DOUBLE_EQ(one.online_bytes, 1000 * d.relu_online_bytes);
  EXPECT_DOUBLE_EQ(pi_cost(d, 0, 0, 0).online_seconds, 0.0);
  EXPECT_FALSE(pi_preset("spdz").ok());
  EXPECT_NE(pi_preset("spdz").status().message().find("known: delphi, cheetah"), std::string::npos);
}

TEST(PiCostTest, UnderCheetahMacsWeighAsMuchAsReluSoCullingAloneSavesLess) {
  spec::ModelSpec base;
  base.arch = "resnet18";
  auto all = *count(base);
  auto culled = *count(*cull(base, {"stem", "s1", "s2"}));
  const spec::PiProtocol d = *spec::pi_preset("delphi"), c = *pi_preset("cheetah");
  const double delphi_saving = pi_cost(d, all.relus, all.macs, relu_layers(all)).online_seconds /
                               pi_cost(d, culled.relus, culled.macs, relu_layers(culled)).online_seconds;
  const double cheetah_saving = spec::pi_cost(c, all.relus, all.macs, relu_layers(all)).online_seconds /
                                pi_cost(c, culled.relus, culled.macs, relu_layers(culled)).online_seconds;
  EXPECT_GT(delphi_saving, 5.0);   // ReLUs dominate: culling pays nearly in full
  EXPECT_LT(cheetah_saving, 1.5);  // the MACs stay: the estimate shows it
}

TEST(PiCostTest, CalibrationOverridesConstantsAndRefusesWhatItDoesNotKnow) {
  auto p = spec::pi_protocol_from_json({{"protocol", "cheetah"}, {"relu_online_us", 2.0}, {"layer_online_ms", 1.5}});
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_DOUBLE_EQ(p->relu_online_seconds, 2e-6);
  EXPECT_DOUBLE_EQ(p->layer_online_seconds, 1.5e-3);
  EXPECT_EQ(p->name, "cheetah (calibrated)");
  EXPECT_DOUBLE_EQ(spec::pi_cost(*p, 0, 0, 4).online_seconds, 6e-3);
  auto bad = pi_protocol_from_json({{"relu_online_sec", 1.0}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("pi_cost.relu_online_sec: unknown key"), std::string::npos);
  EXPECT_FALSE(pi_protocol_from_json({{"mac_online_ns", -1}}).ok());
}

}  // namespace
}  // namespace deepreduce::spec
