// Masks as values: their encoding round-trips and refuses damage; a masked
// spec counts exactly the ReLUs its mask keeps, per pixel or per channel, on
// every architecture; masks are part of what a trial is.
#include "spec/relu_mask.h"

#include <gtest/gtest.h>

#include <random>

#include "spec/counts.h"
#include "spec/model_json.h"
#include "spec/trial.h"

namespace deepreduce::spec {
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

TEST(ReluMaskTest, TheEncodingRoundTripsAndRefusesDamage) {
  spec::ModelSpec s;
  s.alpha = 0.125;
  const spec::MaskValues m = random_mask(s, spec::MaskGranularity::kPixel, 0.3, 1);
  const std::string bytes = encode_mask(m);
  auto back = spec::decode_mask(bytes);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(spec::encode_mask(*back), bytes);
  EXPECT_EQ(spec::mask_digest(*back), mask_digest(m));
  // Damage of every kind is Corruption, never a crash or a half-read mask.
  std::string flipped = bytes;
  flipped[bytes.size() - 3] ^= 0x10;  // a kept bit: the header's count no longer matches
  EXPECT_NE(decode_mask(flipped).status().message().find("its bits keep"), std::string::npos);
  EXPECT_FALSE(decode_mask(bytes.substr(0, bytes.size() - 1)).ok());
  EXPECT_FALSE(decode_mask(bytes + "x").ok());
  EXPECT_FALSE(decode_mask("deepreduce-mask 1\n{\"granularity\":\"pixel\",\"sites\":[{\"site\":\"stem\",\"shape\":[99999999,"
                           "99999,9],\"kept\":0}]}\n")
                   .ok());
  EXPECT_FALSE(decode_mask("garbage").ok());
  EXPECT_FALSE(decode_mask(bytes, 100).ok()) << "bounded before it is parsed";
}

TEST(ReluMaskTest, AMaskedSpecCountsExactlyWhatItsMaskKeeps) {
  for (const auto& arch : spec::arch_names())
    for (spec::MaskGranularity g : {spec::MaskGranularity::kPixel, spec::MaskGranularity::kChannel}) {
      spec::ModelSpec s;
      s.arch = arch;
      s.alpha = 0.125;
      const spec::MaskValues m = random_mask(s, g, 0.25, 7);
      int64_t expected = 0;
      for (const auto& site : m.sites) expected += site.kept() * relus_per_unit(g, site.height, site.width);
      spec::ModelSpec masked = s;
      masked.masks = fixed_masks(m);
      ASSERT_TRUE(check_mask_values(s, m).ok());
      auto c = count(masked);
      ASSERT_TRUE(c.ok()) << arch << ": " << c.status().message();
      EXPECT_EQ(c->relus, expected) << arch << " " << granularity_name(g);
      EXPECT_EQ(c->macs, count(s)->macs) << "a mask changes ReLUs, not MACs";
      // Part of the trial's identity, and round-trips through its JSON.
      spec::TrialSpec a, b;
      a.job.model = s;
      b.job.model = masked;
      EXPECT_NE(spec::trial_id(a), spec::trial_id(b));
      auto back = spec::model_spec_from_json(to_json(masked));
      ASSERT_TRUE(back.ok()) << back.status().message();
      EXPECT_EQ(*back, masked);
    }
}

TEST(ReluMaskTest, MasksAreValidated) {
  spec::ModelSpec s;
  s.alpha = 0.125;
  spec::ModelSpec bad = s;
  bad.masks = spec::ReluMasks{spec::MaskGranularity::kChannel, false, {{"s9.b0.relu1", 1}}, std::string(64, 'a')};
  EXPECT_NE(validate(bad).message().find("\"s9.b0.relu1\" is not a ReLU site"), std::string::npos);
  bad.masks = spec::ReluMasks{spec::MaskGranularity::kChannel, false, {{"stem", 9}}, std::string(64, 'a')};
  EXPECT_NE(validate(bad).message().find("stem: expected 0..8 channels, got 9"), std::string::npos) << validate(bad).message();
  bad.masks = spec::ReluMasks{spec::MaskGranularity::kChannel, false, {{"stem", 1}}, "short"};
  EXPECT_NE(validate(bad).message().find("masks.digest"), std::string::npos);
  bad.masks = spec::ReluMasks{spec::MaskGranularity::kPixel, true, {{"stem", 1}}, ""};
  EXPECT_FALSE(validate(bad).ok());
  spec::MaskValues other = random_mask(s, spec::MaskGranularity::kPixel, 0.5, 3);
  spec::ModelSpec wider = s;
  wider.alpha = 0.25;
  EXPECT_NE(check_mask_values(wider, other).message().find("in the mask"), std::string::npos);
}

}  // namespace
}  // namespace deepreduce::spec
