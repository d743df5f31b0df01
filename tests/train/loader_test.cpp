#include "train/loader.h"

#include <gtest/gtest.h>

namespace deepreduce::train {
namespace {

std::shared_ptr<const Dataset> data() {
  static auto d = std::make_shared<const Dataset>(make_synthetic(300, 10, 3, 32, 9));
  return d;
}

std::vector<Batch> epoch(LoaderOptions o) {
  BatchLoader loader(data(), o);
  std::vector<Batch> out;
  while (auto b = loader.next()) out.push_back(*b);
  return out;
}

TEST(LoaderTest, BatchesDependOnlyOnSeedAndEpoch) {
  LoaderOptions o;
  o.batch_size = 64;
  o.seed = 3;
  o.epoch = 2;
  auto a = epoch(o);
  o.prefetch = 0;  // built on this thread: the same batches
  auto b = epoch(o);
  ASSERT_EQ(a.size(), 5u);  // 300 / 64, the last one partial
  EXPECT_EQ(a.back().images.size(0), 300 - 4 * 64);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(torch::equal(a[i].images, b[i].images));
    EXPECT_TRUE(torch::equal(a[i].labels, b[i].labels));
  }
  o.epoch = 3;
  EXPECT_FALSE(torch::equal(epoch(o)[0].labels, a[0].labels));
}

TEST(LoaderTest, WithoutAugmentationImagesAreNormalisedBytes) {
  LoaderOptions o;
  o.batch_size = 300;
  o.shuffle = false;
  o.augment = false;
  o.norm = {{0.5f, 0.5f, 0.5f}, {0.25f, 0.25f, 0.25f}};
  auto b = epoch(o);
  ASSERT_EQ(b.size(), 1u);
  const auto& d = *data();
  const float expected = (d.images[5] / 255.0f - 0.5f) / 0.25f;
  EXPECT_FLOAT_EQ(b[0].images.flatten()[5].item<float>(), expected);
  EXPECT_EQ(b[0].labels[7].item<int64_t>(), d.labels[7]);
}

TEST(LoaderTest, AugmentationShiftsAndFlipsButKeepsLabelsAndPadsWithZeroBytes) {
  LoaderOptions plain;
  plain.batch_size = 300;
  plain.shuffle = false;
  plain.augment = false;
  LoaderOptions aug = plain;
  aug.augment = true;
  auto p = epoch(plain)[0], a = epoch(aug)[0];
  EXPECT_TRUE(torch::equal(p.labels, a.labels));
  EXPECT_FALSE(torch::equal(p.images, a.images));
  // Every augmented image is its original shifted by at most 4 pixels and
  // perhaps mirrored: find the shift for image 0.
  bool found = false;
  auto orig = p.images[0];
  auto got = a.images[0];
  for (int flip = 0; flip < 2 && !found; ++flip) {
    auto src = flip ? orig.flip({2}) : orig;
    for (int dy = -4; dy <= 4 && !found; ++dy)
      for (int dx = -4; dx <= 4 && !found; ++dx) {
        auto padded = torch::constant_pad_nd(src, {4, 4, 4, 4}, 0.0);
        auto crop = padded.slice(1, 4 + dy, 4 + dy + 32).slice(2, 4 + dx, 4 + dx + 32);
        found = torch::equal(crop, got);
      }
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace deepreduce::train
