// Exported ONNX, verified by tools that are not deepreduce: ONNX's checker, its
// shape inference (a ReLU audit) and OpenCV's dnn module as an independent
// runtime, for every architecture and a table of plans, widths, resolutions,
// depths and pruned shapes.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include <random>

#include "export/onnx_export.h"
#include "nn/masks.h"
#include "spec/counts.h"
#include "spec/prune.h"
#include "spec/relu_plan.h"
#include "tests/test_dirs.h"

namespace deepreduce::exporting {
namespace {
namespace fs = std::filesystem;

spec::ModelSpec base(const std::string& arch, double alpha) {
  spec::ModelSpec s;
  s.arch = arch;
  s.alpha = alpha;
  return s;
}

// A random fixed mask over every active site of `spec`: each unit kept with
// probability `keep` (sites all kept, none kept and runs of every length occur).
spec::MaskValues random_mask(const spec::ModelSpec& spec, spec::MaskGranularity g, double keep, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution coin(keep);
  spec::MaskValues m;
  m.granularity = g;
  int site = 0;
  for (const auto& s : *spec::relu_sites(spec)) {
    if (!s.active) continue;
    spec::SiteMask sm{s.name, s.channels, s.height, s.width, {}};
    const int64_t units = spec::mask_units(g, s.channels, s.height, s.width);
    for (int64_t i = 0; i < units; ++i)
      sm.keep.push_back(site == 1 ? 1 : site == 2 ? 0 : coin(rng));  // one site whole, one linear
    m.sites.push_back(sm);
    ++site;
  }
  return m;
}

// Masked cases: their specs, and the values the built networks hold.
std::map<std::string, spec::MaskValues>& masks_of_cases() {
  static std::map<std::string, spec::MaskValues> m;
  return m;
}

spec::ModelSpec masked(const std::string& name, spec::ModelSpec spec, spec::MaskGranularity g, double keep, uint64_t seed) {
  const spec::MaskValues values = random_mask(spec, g, keep, seed);
  spec.masks = spec::fixed_masks(values);
  masks_of_cases()[name] = values;
  return spec;
}

std::map<std::string, spec::ModelSpec> cases() {
  std::map<std::string, spec::ModelSpec> c;
  const auto r18 = base("resnet18", 0.25);
  c["resnet18-all"] = r18;
  c["resnet18-cull-stem-s1"] = *spec::cull(r18, {"stem", "s1"});
  c["resnet18-thin-s3"] = *spec::thin(r18, {"s3"});
  c["resnet18-cull-thin"] = *spec::thin(*spec::cull(r18, {"stem", "s1"}), {"s2", "s4"});
  c["resnet18-only-s2"] = *spec::only(r18, "s2");
  c["resnet18-none"] = *spec::no_relus(r18);
  auto rho = r18;
  rho.rho = 0.5;
  c["resnet18-rho-half"] = *spec::cull(rho, {"stem"});
  auto depth = r18;
  depth.blocks = {2, 1, 1, 1};
  c["resnet18-blocks-2111"] = depth;
  c["resnet18-pruned-0.3"] = *spec::prune_rate(r18, 0.3);
  c["resnet34-thin-s2-s3"] = *spec::thin(base("resnet34", 0.125), {"s2", "s3"});
  const auto r56 = base("resnet56", 0.5);
  c["resnet56-all"] = r56;
  c["resnet56-cull-s1"] = *spec::cull(r56, {"s1"});
  c["resnet56-only-s3"] = *spec::only(r56, "s3");
  c["resnet56-none"] = *spec::no_relus(r56);
  c["resnet56-pruned-0.4"] = *spec::prune_rate(r56, 0.4);
  const auto mb = base("mobilenetv1", 0.25);
  c["mobilenetv1-all"] = mb;
  c["mobilenetv1-cull-stem-s1"] = *spec::cull(mb, {"stem", "s1"});
  c["mobilenetv1-thin-s4"] = *spec::thin(mb, {"s4"});
  c["mobilenetv1-none"] = *spec::no_relus(mb);
  c["mobilenetv1-pruned-0.3"] = *spec::prune_rate(mb, 0.3);
  // Pre-activation blocks: BNs that follow no conv, a stem without BN or ReLU, a head site.
  auto wrn = base("wrn22-8", 0.125);
  wrn.blocks = {2, 1, 1};
  c["wrn22-8-all"] = wrn;
  c["wrn22-8-thin-s1-cull-s3"] = *spec::cull(*spec::thin(wrn, {"s1"}), {"s3"});
  c["wrn22-8-pruned-0.3"] = *spec::prune_rate(wrn, 0.3);
  // Learned linearization: partial sites, per channel and per pixel.
  auto small = r18;
  small.blocks = {1, 1, 1, 1};
  small.alpha = 0.125;
  c["resnet18-mask-channel"] = masked("resnet18-mask-channel", small, spec::MaskGranularity::kChannel, 0.4, 1);
  c["resnet18-mask-pixel"] = masked("resnet18-mask-pixel", *spec::cull(small, {"stem"}), spec::MaskGranularity::kPixel, 0.02, 2);
  c["mobilenetv1-mask-channel"] =
      masked("mobilenetv1-mask-channel", base("mobilenetv1", 0.125), spec::MaskGranularity::kChannel, 0.3, 3);
  auto wrn_small = wrn;
  wrn_small.blocks = {1, 1, 1};
  c["wrn22-8-mask-pixel"] = masked("wrn22-8-mask-pixel", wrn_small, spec::MaskGranularity::kPixel, 0.01, 4);
  return c;
}

void write_floats(const fs::path& p, const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kFloat).contiguous();
  std::ofstream out(p, std::ios::binary);
  out.write(static_cast<const char*>(c.data_ptr()), static_cast<std::streamsize>(c.numel() * sizeof(float)));
}

TEST(OnnxExportTest, AnIndependentRuntimeAgreesAndTheGraphEvaluatesExactlyTheSpecsRelus) {
  const fs::path dir = deepreduce::testing::fresh_test_dir("onnx");
  torch::manual_seed(7);
  std::map<std::string, int64_t> analytic;
  const auto all = cases();
  for (const auto& [name, spec] : all) {
    auto net = nn::build_model(spec);
    ASSERT_TRUE(net.ok()) << name << ": " << net.status().message();
    if (spec.masks) ASSERT_TRUE(nn::apply_mask(*net, masks_of_cases().at(name)).ok()) << name;
    // Trained-looking BatchNorm statistics, so that folding them is tested.
    {
      torch::NoGradGuard no_grad;
      for (auto& b : (*net)->named_buffers(true)) {
        if (b.key().find("running_mean") != std::string::npos) b.value().uniform_(-0.5, 0.5);
        if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 2.0);
      }
      for (auto& p : (*net)->named_parameters(true))
        if (p.key().find("bn") != std::string::npos) p.value().uniform_(0.5, 1.5);
    }
    (*net)->eval();
    const torch::Tensor x = torch::rand({1, spec.in_channels, spec.input_size, spec.input_size});
    torch::Tensor y;
    {
      torch::NoGradGuard no_grad;
      y = (*net)->forward(x);
    }
    auto bytes = to_onnx(*net);
    ASSERT_TRUE(bytes.ok()) << name << ": " << bytes.status().message();
    std::ofstream(dir / (name + ".onnx"), std::ios::binary) << *bytes;
    write_floats(dir / (name + ".input"), x);
    write_floats(dir / (name + ".expected"), y);
    analytic[name] = spec::count(spec)->relus;
  }
  const fs::path report = dir / "verify.jsonl";
  const std::string cmd = "/usr/bin/python3 " + std::string(DEEPREDUCE_SOURCE_DIR) + "/tests/export/verify_onnx.py " +
                          dir.string() + " > " + report.string() + " 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "the verifier failed (needs python3-onnx and python3-opencv):\n"
                                         << std::ifstream(report).rdbuf();
  std::ifstream in(report);
  std::string line;
  size_t checked = 0;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << line;
    const std::string name = j["case"];
    ++checked;
    std::printf("%-28s relus %8lld  max rel. error %.2e\n", name.c_str(),
                static_cast<long long>(j.value("relus", int64_t{-1})), j.value("max_rel_error", -1.0));
    ASSERT_FALSE(j.contains("error")) << name << ": " << j["error"];
    EXPECT_TRUE(j["checker"].get<bool>()) << name;
    EXPECT_EQ(j["relus"].get<int64_t>(), analytic[name]) << name << ": the graph evaluates other ReLUs than the spec";
    EXPECT_LE(j["max_rel_error"].get<double>(), 1e-4) << name;
    for (const auto& op : j["ops"])
      EXPECT_TRUE(op != "BatchNormalization" && op != "Identity" && op != "Dropout") << name << ": " << op;
  }
  EXPECT_EQ(checked, all.size());
  if (!HasFailure()) fs::remove_all(dir);
}

TEST(OnnxExportTest, ARemovedReluIsAbsentFromTheGraph) {
  torch::manual_seed(1);
  auto full = nn::build_model(base("resnet18", 0.125));
  auto culled = nn::build_model(*spec::cull(base("resnet18", 0.125), {"stem", "s1", "s2"}));
  ASSERT_TRUE(full.ok() && culled.ok());
  auto relu_nodes = [](const std::string& bytes) {
    size_t n = 0;
    for (size_t at = bytes.find("Relu"); at != std::string::npos; at = bytes.find("Relu", at + 1)) ++n;
    return n;
  };
  const size_t all = relu_nodes(*to_onnx(*full)), fewer = relu_nodes(*to_onnx(*culled));
  EXPECT_EQ(all, 17u);  // stem + 2 per block, 8 blocks
  EXPECT_EQ(fewer, 8u);  // s3 and s4 only: 4 blocks, 2 each
}

}  // namespace
}  // namespace deepreduce::exporting
