#include "spec/model_spec.h"

#include "spec/counts.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace deepreduce::spec {
namespace {

TEST(ArchRegistryTest, KnowsTheArchitectures) {
  EXPECT_EQ(spec::arch_names(), (std::vector<std::string>{"resnet18", "resnet34", "resnet56", "mobilenetv1", "wrn22-8"}));
  auto unknown = spec::find_arch("resnet50");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("resnet18, resnet34, resnet56, mobilenetv1"),
            std::string::npos);
}

TEST(ArchRegistryTest, MobileNetV1HasThe13PublishedBlocks) {
  // (64,1),(128,2),(128,1),(256,2),(256,1),(512,2),(512,1)x5,(1024,2),(1024,1)
  std::vector<std::pair<int64_t, int64_t>> expected = {
      {64, 1},  {128, 2}, {128, 1}, {256, 2}, {256, 1}, {512, 2},  {512, 1},
      {512, 1}, {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1}};
  std::vector<std::pair<int64_t, int64_t>> actual;
  for (const auto& st : (*spec::find_arch("mobilenetv1"))->stages)
    for (int64_t j = 0; j < st.blocks; ++j) actual.push_back({st.width, j == 0 ? st.stride : 1});
  EXPECT_EQ(actual, expected);
  EXPECT_EQ((*spec::find_arch("mobilenetv1"))->stem_width, 32);
}

TEST(ScaleWidthTest, TruncatesAndKeepsAtLeastOneChannel) {
  EXPECT_EQ(spec::scale_width(64, 1.0), 64);
  EXPECT_EQ(spec::scale_width(64, 0.25), 16);
  EXPECT_EQ(spec::scale_width(64, 0.3), 19);
  EXPECT_EQ(spec::scale_width(10, 0.7), 7);
  EXPECT_EQ(spec::scale_width(16, 0.01), 1);
  EXPECT_EQ(spec::scale_width(64, 1.5), 96);
}

struct BadSpecCase {
  const char* what;
  spec::ModelSpec spec;
  const char* message_part;
};

spec::ModelSpec with(std::function<void(spec::ModelSpec&)> f) {
  spec::ModelSpec s;
  f(s);
  return s;
}

TEST(ValidateTest, RejectsBadSpecsWithMessagesThatNameTheValueAndTheChoices) {
  const std::vector<BadSpecCase> cases = {
      {"unknown arch", with([](spec::ModelSpec& s) { s.arch = "vgg16"; }), "known: resnet18"},
      {"alpha zero", with([](spec::ModelSpec& s) { s.alpha = 0; }), "alpha: expected a width multiplier in (0, 4], got 0"},
      {"alpha too big", with([](spec::ModelSpec& s) { s.alpha = 4.5; }), "got 4.5"},
      {"rho not power of half", with([](spec::ModelSpec& s) { s.rho = 0.3; }), "rho: expected a power of 1/2"},
      {"rho above one", with([](spec::ModelSpec& s) { s.rho = 2; }), "got 2"},
      {"blocks wrong length", with([](spec::ModelSpec& s) { s.blocks = {2, 2, 2}; }),
       "expected 4 block counts (default 2,2,2,2), got 3"},
      {"blocks zero", with([](spec::ModelSpec& s) { s.blocks = {2, 0, 2, 2}; }), "stage s2"},
      {"input too small", with([](spec::ModelSpec& s) { s.input_size = 4; }),
       "input must be at least 8x8"},
      {"input too small at rho", with([](spec::ModelSpec& s) { s.input_size = 8; s.rho = 0.5; }),
       "at least 16x16"},
      {"one class", with([](spec::ModelSpec& s) { s.classes = 1; }), "classes"},
      {"no channels", with([](spec::ModelSpec& s) { s.in_channels = 0; }), "in_channels"},
      {"unknown site", with([](spec::ModelSpec& s) { s.relu_off = {"s9.b0.relu1"}; }),
       "\"s9.b0.relu1\" is not a ReLU site"},
      {"site of a removed block", with([](spec::ModelSpec& s) { s.blocks = {1, 1, 1, 1}; s.relu_off = {"s1.b1.relu1"}; }),
       "not a ReLU site"},
  };
  for (const auto& c : cases) {
    Status s = validate(c.spec);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << c.what;
    EXPECT_NE(s.message().find(c.message_part), std::string::npos)
        << c.what << ": \"" << s.message() << "\" lacks \"" << c.message_part << "\"";
  }
}

TEST(ValidateTest, AcceptsTheSpecsOfThePaper) {
  for (const auto& arch : spec::arch_names()) {
    spec::ModelSpec s;
    s.arch = arch;
    s.classes = 100;
    EXPECT_TRUE(validate(s).ok()) << arch;
    s.rho = 0.5;
    s.alpha = 0.5;
    EXPECT_TRUE(validate(s).ok()) << arch << " " << validate(s).to_string();
  }
  spec::ModelSpec mnist;
  mnist.in_channels = 1;
  mnist.input_size = 28;
  EXPECT_TRUE(validate(mnist).ok());
}

TEST(SiteNamesTest, FollowTheBlockKind) {
  spec::ModelSpec r;
  r.blocks = {1, 1, 1, 2};
  auto names = site_names(*resolve(r));
  EXPECT_EQ(names, (std::vector<std::string>{"stem", "s1.b0.relu1", "s1.b0.relu2", "s2.b0.relu1",
                                             "s2.b0.relu2", "s3.b0.relu1", "s3.b0.relu2",
                                             "s4.b0.relu1", "s4.b0.relu2", "s4.b1.relu1",
                                             "s4.b1.relu2"}));
  spec::ModelSpec m;
  m.arch = "mobilenetv1";
  names = site_names(*resolve(m));
  EXPECT_EQ(names.size(), 1u + 2u * 13u);
  EXPECT_EQ(names[1], "s1.b0.dw");
  EXPECT_EQ(names[2], "s1.b0.pw");
  EXPECT_EQ(names.back(), "s5.b1.pw");
}

// A Wide ResNet is described by its block kind and its rows alone: a stem
// conv with no ReLU, pre-activation blocks, and a "head" site before the pool.
TEST(WideResNetTest, PreActivationBlocksAStemWithoutReluAndAHeadSite) {
  spec::ModelSpec w;
  w.arch = "wrn22-8";
  w.classes = 100;
  auto arch = resolve(w);
  ASSERT_TRUE(arch.ok()) << arch.status().message();
  EXPECT_EQ(stage_names(*arch->def), (std::vector<std::string>{"s1", "s2", "s3"}));
  const auto names = site_names(*arch);
  EXPECT_EQ(names.size(), 2u * 9u + 1u);
  EXPECT_EQ(names.front(), "s1.b0.relu1");
  EXPECT_EQ(names.back(), "head");
  ASSERT_EQ(arch->blocks.size(), 9u);
  EXPECT_EQ(arch->stem.out, 16);
  EXPECT_TRUE(arch->blocks[0].projection) << "16 -> 128 channels: a 1x1 conv shortcut";
  EXPECT_FALSE(arch->blocks[1].projection);
  EXPECT_TRUE(arch->blocks[3].projection) << "stride 2";
  EXPECT_EQ(arch->blocks[3].in_size, 32);
  EXPECT_EQ(arch->blocks[3].out_size, 16);
  EXPECT_EQ(arch->out_channels, 512);
  // s2.b0's first ReLU runs on its input, before the strided conv: 128 x 32 x 32.
  const auto sites = *relu_sites(w);
  const auto s2b0 = std::find_if(sites.begin(), sites.end(), [](const spec::ReluSite& r) { return r.name == "s2.b0.relu1"; });
  ASSERT_NE(s2b0, sites.end());
  EXPECT_EQ(s2b0->relus(), 128 * 32 * 32);
  EXPECT_EQ(s2b0->stage, "s2");
  EXPECT_EQ(sites.back().stage, "s3") << "the head site belongs to the last stage";

  // Other depths and widths by name; a depth that is not 6n + 4 is refused with the known names.
  EXPECT_TRUE(spec::find_arch("wrn28-10").ok());
  EXPECT_EQ((*spec::find_arch("wrn28-10"))->stages[2].blocks, 4);
  EXPECT_EQ(*spec::find_arch("wrn28-10"), *find_arch("wrn28-10")) << "made once";
  for (const char* bad : {"wrn23-8", "wrn22-0", "wrn22", "wrn-8", "wrn22-8x"}) {
    auto r = spec::find_arch(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("wrnD-K"), std::string::npos) << r.status().message();
  }
}

// resolve() computes each block once: channels, strides, sizes, shortcut and
// ReLU sites; counts, the builder, pruning and the exporter iterate this list.
TEST(ResolveTest, ListsEveryBlockWithItsChannelsSizesAndSites) {
  spec::ModelSpec r18;  // ResNet18, CIFAR-10, 32x32
  r18.widths["s2.b1"] = 40;
  auto arch = resolve(r18);
  ASSERT_TRUE(arch.ok()) << arch.status().message();
  ASSERT_EQ(arch->blocks.size(), 8u);
  EXPECT_EQ(arch->stem_size, 32);
  const spec::ResolvedBlock& s2b0 = arch->blocks[2];
  EXPECT_EQ(s2b0.name, "s2.b0");
  EXPECT_EQ(s2b0.module, "s2_b0");
  EXPECT_EQ(s2b0.in, 64);
  EXPECT_EQ(s2b0.out, 128);
  EXPECT_EQ(s2b0.stride, 2);
  EXPECT_EQ(s2b0.in_size, 32);
  EXPECT_EQ(s2b0.out_size, 16);
  EXPECT_TRUE(s2b0.projection);
  EXPECT_FALSE(arch->blocks[3].projection);
  EXPECT_EQ(arch->blocks[3].inner, 40) << "the pruned block's inner width";
  EXPECT_EQ(arch->blocks[3].full, 128);
  EXPECT_EQ(arch->blocks[3].out, 128) << "a basic block keeps its output width";
  EXPECT_EQ(arch->blocks[3].sites, (std::vector<std::string>{"s2.b1.relu1", "s2.b1.relu2"}));
  EXPECT_EQ(arch->out_channels, 512);
  EXPECT_EQ(arch->blocks.back().out_size, 4);

  spec::ModelSpec r56;
  r56.arch = "resnet56";
  auto a56 = resolve(r56);
  ASSERT_TRUE(a56.ok());
  EXPECT_EQ(a56->blocks.size(), 27u);
  EXPECT_FALSE(a56->blocks[9].projection) << "option A: a zero-padded shortcut";
  EXPECT_EQ(a56->blocks[9].in, 16);
  EXPECT_EQ(a56->blocks[9].out, 32);

  spec::ModelSpec mb;
  mb.arch = "mobilenetv1";
  mb.widths["s2.b0"] = 100;
  auto am = resolve(mb);
  ASSERT_TRUE(am.ok());
  EXPECT_EQ(am->blocks[1].out, 100) << "a pruned pointwise conv";
  EXPECT_EQ(am->blocks[2].in, 100) << "narrows the next block";
  EXPECT_EQ(am->blocks[2].inner, 100) << "whose depthwise channels follow its input";
  EXPECT_EQ(am->blocks[2].sites.front(), "s2.b1.dw");
  EXPECT_EQ(am->out_channels, 1024);
  EXPECT_EQ(block_names(*am).size(), 13u);
}

}  // namespace
}  // namespace deepreduce::spec
