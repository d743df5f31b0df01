// `deepreduce export-model` as a user runs it: a sweep run to a front, every
// front network exported, and another runtime (OpenCV) scoring each on the
// same test images to the stored top-1; a state dict that Python's torch.load
// reads; errors that say what to give.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/cli/run_binary.h"
#include "tests/test_dirs.h"

namespace {
namespace fs = std::filesystem;
using deepreduce::testing::run_deepreduce;

TEST(ExportModelCommandTest, TheFrontLeavesAsOnnxThatOpenCvScoresToTheStoredAccuracy) {
  const fs::path dir = deepreduce::testing::fresh_test_dir("exportmodel");
  std::ofstream(dir / "exp.yaml") << "name: ex\n"
                                     "dataset: {name: synthetic, train_subset: 256, test_subset: 200}\n"
                                     "model: {arch: resnet56, alpha: 0.25, blocks: [1, 1, 1]}\n"
                                     "train: {epochs: 2, batch: 64, lr: 0.05}\n"
                                     "search:\n  strategy: grid\n  cull: [[], [s1], [s1, s2]]\n  thin: [[], [s3]]\n"
                                     "  kd: [false]\n";
  auto r = run_deepreduce("run " + (dir / "exp.yaml").string() + " --db " + (dir / "db").string());
  ASSERT_EQ(r.code, 0) << r.out;
  r = run_deepreduce("export-model --db " + (dir / "db").string() + " --front --test-set --out " +
                     (dir / "front").string());
  ASSERT_EQ(r.code, 0) << r.out;
  size_t exported = 0;
  for (const auto& e : fs::directory_iterator(dir / "front")) {
    if (e.path().extension() != ".onnx") continue;
    ++exported;
    std::ifstream in(e.path().string() + ".json");
    auto side = nlohmann::json::parse(in);
    EXPECT_EQ(side["trial"].get<std::string>() + ".onnx", e.path().filename().string());
    EXPECT_EQ(side["spec"]["arch"], "resnet56");
    EXPECT_GT(side["relus_per_site"].size(), 0u);
    EXPECT_EQ(side["input"]["shape"], nlohmann::json({1, 3, 32, 32}));
    EXPECT_TRUE(side["input"]["normalization"].is_object());
  }
  EXPECT_GT(exported, 0u);
  const std::string verify = "/usr/bin/python3 " + std::string(DEEPREDUCE_SOURCE_DIR) +
                             "/scripts/verify_export.py " + (dir / "front").string() + " > " +
                             (dir / "verify.log").string() + " 2>&1";
  EXPECT_EQ(std::system(verify.c_str()), 0) << std::ifstream(dir / "verify.log").rdbuf();
  // One trial as a state dict that Python reads with torch.load.
  std::string first;
  for (const auto& e : fs::directory_iterator(dir / "front"))
    if (e.path().extension() == ".onnx") first = e.path().stem().string();
  r = run_deepreduce("export-model --db " + (dir / "db").string() + " --trial " + first.substr(0, 10) +
                     " --format pt --out " + (dir / "net.pt").string());
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string load = "/usr/bin/python3 -c \"import torch, json; d = torch.load('" + (dir / "net.pt").string() +
                           "'); s = json.load(open('" + (dir / "net.pt.json").string() +
                           "')); assert isinstance(d, dict); assert d['fc.weight'].shape[0] == s['spec']['classes']; "
                           "print(len(d))\" > " + (dir / "load.log").string() + " 2>&1";
  EXPECT_EQ(std::system(load.c_str()), 0) << std::ifstream(dir / "load.log").rdbuf();
  if (!HasFailure()) fs::remove_all(dir);
}

TEST(ExportModelCommandTest, UsageErrorsSayWhatToGive) {
  auto r = run_deepreduce("export-model --out x.onnx");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("give --out and one of --model FILE"), std::string::npos) << r.out;
  r = run_deepreduce("export-model --model /nonexistent/model.pt --out x.onnx");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("/nonexistent/model.pt: no such model file"), std::string::npos) << r.out;
  r = run_deepreduce("export-model --db /nonexistent/store --front --out d");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("no deepreduce store here"), std::string::npos) << r.out;
  r = run_deepreduce("export-model --model m.pt --out x.onnx --format onxx");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("--format onxx: expected onnx or pt; did you mean onnx?"), std::string::npos) << r.out;
}

// A model exported from a train --out folder carries what is known: its
// dataset (kept in model.pt) with the normalisation, result.json's top-1; a
// state dict says how it is read instead of a null opset.
TEST(ExportModelCommandTest, AModelFileExportsWithWhatItsFolderKnows) {
  const fs::path dir = deepreduce::testing::fresh_test_dir("exportfile");
  auto r = run_deepreduce("train --dataset synthetic --arch resnet18 --alpha 0.125 --blocks 1,1,1,1 --train-subset 128 "
                          "--test-subset 64 --batch 32 --epochs 1 --threads 2 -q --out " + (dir / "run").string());
  ASSERT_EQ(r.code, 0) << r.out;
  std::ifstream result_in(dir / "run" / "result.json");
  const double top1 = nlohmann::json::parse(result_in)["top1"];
  for (const char* format : {"onnx", "pt"}) {
    const fs::path out = dir / (std::string("net.") + format);
    r = run_deepreduce("export-model --model " + (dir / "run" / "model.pt").string() + " --format " + format +
                       " --out " + out.string());
    ASSERT_EQ(r.code, 0) << r.out;
    std::ifstream in(out.string() + ".json");
    auto side = nlohmann::json::parse(in);
    EXPECT_EQ(side["top1"], top1) << side.dump();
    EXPECT_EQ(side["dataset"], "synthetic") << side.dump();
    EXPECT_TRUE(side["input"]["normalization"].is_object()) << side.dump();
    EXPECT_FALSE(side["opset"].is_null()) << side.dump();
  }
  if (!HasFailure()) fs::remove_all(dir);
}

}  // namespace
