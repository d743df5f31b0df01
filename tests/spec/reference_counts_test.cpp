// Wide ResNets, counted two independent ways: deepreduce's analytic counts
// (spec/counts.h, from the block descriptions) against forward hooks on a
// Wide ResNet written separately in PyTorch (tests/spec/wide_resnet_reference.py,
// run by Debian's python3-torch).
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "spec/counts.h"

namespace deepreduce::spec {
namespace {

// The script's JSON, or null where Debian's python3-torch is missing.
nlohmann::json reference(int depth, int k, int classes, int size) {
  const std::string cmd = "/usr/bin/python3 " DEEPREDUCE_SOURCE_DIR "/tests/spec/wide_resnet_reference.py " +
                          std::to_string(depth) + " " + std::to_string(k) + " " + std::to_string(classes) + " " +
                          std::to_string(size) + " 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  std::string out;
  std::array<char, 4096> buf;
  while (pipe && fgets(buf.data(), buf.size(), pipe.get())) out += buf.data();
  auto j = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) ADD_FAILURE() << cmd << " printed: " << out;
  return j;
}

TEST(ReferenceCountsTest, WideResNetsCountWhatPyTorchHooksMeasure) {
  if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "Debian's python3-torch is not installed (scripts/install-deps.sh installs it)";
  struct Case {
    int depth, k, classes, size;
  };
  for (const Case& c : {Case{22, 8, 100, 32}, Case{16, 4, 10, 32}, Case{10, 1, 200, 64}}) {
    spec::ModelSpec spec;
    spec.arch = "wrn" + std::to_string(c.depth) + "-" + std::to_string(c.k);
    spec.classes = c.classes;
    spec.input_size = c.size;
    auto ours = count(spec);
    ASSERT_TRUE(ours.ok()) << ours.status().message();
    const auto theirs = reference(c.depth, c.k, c.classes, c.size);
    ASSERT_TRUE(theirs.is_object());
    EXPECT_EQ(ours->relus, theirs["relus"].get<int64_t>()) << spec.arch;
    EXPECT_EQ(ours->macs, theirs["macs"].get<int64_t>()) << spec.arch;
    EXPECT_EQ(ours->params, theirs["params"].get<int64_t>()) << spec.arch;
    EXPECT_EQ(relu_layers(*ours), theirs["relu_layers"].get<int64_t>()) << spec.arch;
  }
  // SNL's and SENet's WRN-22-8 on CIFAR-100: 1,360K ReLUs (1,392,640).
  spec::ModelSpec wrn;
  wrn.arch = "wrn22-8";
  wrn.classes = 100;
  EXPECT_EQ(count(wrn)->relus, 1392640);
}

}  // namespace
}  // namespace deepreduce::spec
