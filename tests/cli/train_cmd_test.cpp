// `deepreduce train` as a user runs it: flags, a YAML trial file, stop and
// resume, and the errors a user makes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/cli/run_binary.h"
#include "tests/test_dirs.h"

namespace {
namespace fs = std::filesystem;
using deepreduce::testing::run_deepreduce;

class TrainCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = deepreduce::testing::fresh_test_dir("traincmd");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) { return (dir_ / name).string(); }
  void write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }

  static constexpr const char* kTiny =
      "--dataset synthetic --arch resnet18 --alpha 0.125 --blocks 1,1,1,1 --train-subset 256 "
      "--test-subset 100 --batch 32 --lr 0.05 --threads 2";
  fs::path dir_;
};

TEST_F(TrainCommandTest, FlagsTrainAndWriteTheResultContract) {
  auto r = run_deepreduce(std::string("train ") + kTiny + " --epochs 2 --cull stem --out " + path("run"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("epoch 1/2"), std::string::npos) << r.out;  // a line per epoch off a terminal
  EXPECT_NE(r.out.find("top-1"), std::string::npos);
  std::ifstream in(path("run/result.json"));
  auto j = nlohmann::json::parse(in);
  for (const char* key : {"top1", "top5", "loss", "relus", "macs", "params", "epochs", "images_per_second"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["epochs"].size(), 2u);
  EXPECT_TRUE(fs::exists(path("run/model.pt")));
  EXPECT_TRUE(fs::exists(path("run/checkpoint.pt")));
}

TEST_F(TrainCommandTest, TrialFileTakesTheSameOptionsAndTheCommandLineWins) {
  write("trial.yaml",
        "dataset: synthetic\narch: resnet18\nalpha: 0.125\nblocks: [1, 1, 1, 1]\ncull: [stem, s1]\n"
        "train_subset: 256\ntest_subset: 100\nbatch: 32\nlr: 0.05\nepochs: 5\nthreads: 2\n");
  auto r = run_deepreduce("train --trial " + path("trial.yaml") + " --epochs 1 -q --out " + path("t"));
  ASSERT_EQ(r.code, 0) << r.out;
  std::ifstream in(path("t/result.json"));
  auto j = nlohmann::json::parse(in);
  EXPECT_EQ(j["epochs"].size(), 1u);  // --epochs 1 beat the file's 5
  // ReLUs of the culled net: s2..s4 of a one-block-per-stage ResNet18 at alpha 1/8.
  EXPECT_EQ(j["relus"], 2 * 16 * 16 * 16 + 2 * 32 * 8 * 8 + 2 * 64 * 4 * 4);
}

// A channel-pruning trial from the command line, through the same trial
// runner the workers use: a trained model.pt cut to the pruned shape, then
// fine-tuned; a trial file names it the same way.
TEST_F(TrainCommandTest, PrunesATrainedModelAndFineTunesIt) {
  auto base = run_deepreduce(std::string("train ") + kTiny + " --epochs 1 -q --out " + path("base"));
  ASSERT_EQ(base.code, 0) << base.out;
  auto r = run_deepreduce(std::string("train ") + kTiny + " --epochs 1 --prune-rate 0.5 --prune-criterion fpgm " +
                          "--prune-from " + path("base/model.pt") + " -q --out " + path("pruned"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(fs::exists(path("pruned/pruned.pt"))) << "the base's surviving weights, where fine-tuning starts";
  auto j = nlohmann::json::parse(std::ifstream(path("pruned/result.json")));
  auto full = nlohmann::json::parse(std::ifstream(path("base/result.json")));
  EXPECT_LT(j["params"].get<int64_t>(), full["params"].get<int64_t>());
  write("prune.yaml", "prune_from: " + path("base/model.pt") + "\nprune_rate: 0.5\n");
  auto file = run_deepreduce(std::string("train ") + kTiny + " --epochs 1 --trial " + path("prune.yaml") + " -q --out " +
                             path("pruned2"));
  ASSERT_EQ(file.code, 0) << file.out;
  EXPECT_TRUE(fs::exists(path("pruned2/pruned.pt")));
  // Without a pruned shape there is nothing to prune into; a missing base is named.
  auto shape = run_deepreduce(std::string("train ") + kTiny + " --prune-from " + path("base/model.pt") + " --out " +
                              path("x"));
  EXPECT_EQ(shape.code, 2);
  EXPECT_NE(shape.out.find("--prune-from needs the pruned shape"), std::string::npos) << shape.out;
  auto missing = run_deepreduce(std::string("train ") + kTiny + " --prune-rate 0.5 --prune-from " + path("nope.pt") +
                                " --out " + path("y"));
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.out.find(path("nope.pt") + ": no such file"), std::string::npos) << missing.out;
}

TEST_F(TrainCommandTest, TrialFileErrorsNameTheFileLineAndKey) {
  write("bad1.yaml", "dataset: synthetic\nepochs: 2\nlearning_rate: 0.1\n");
  auto r = run_deepreduce("train --trial " + path("bad1.yaml") + " --out " + path("x"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("bad1.yaml:3: learning-rate: unknown option"), std::string::npos) << r.out;
  write("bad2.yaml", "dataset: synthetic\n\nepochs: many\n");
  r = run_deepreduce("train --trial " + path("bad2.yaml") + " --out " + path("x"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("bad2.yaml:3: epochs:"), std::string::npos) << r.out;
  write("bad3.yaml", "dataset: [synthetic\n");
  r = run_deepreduce("train --trial " + path("bad3.yaml") + " --out " + path("x"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("bad3.yaml:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("YAML syntax error"), std::string::npos) << r.out;
}

TEST_F(TrainCommandTest, StopAndResumeFromTheCommandLine) {
  auto r = run_deepreduce(std::string("train ") + kTiny + " --epochs 3 --stop-after 1 -q --out " + path("s"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("stopped after epoch 1 of 3"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(path("s/result.json")));
  r = run_deepreduce("train --resume " + path("s/checkpoint.pt") + " --lr 0.2 --out " + path("s"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("--lr with --resume"), std::string::npos) << r.out;
  r = run_deepreduce("train --resume " + path("s/checkpoint.pt") + " --threads 2 -q --out " + path("s"));
  ASSERT_EQ(r.code, 0) << r.out;
  std::ifstream in(path("s/result.json"));
  EXPECT_EQ(nlohmann::json::parse(in)["epochs"].size(), 3u);
}

// A finished run trained for more epochs: `--resume CKPT --epochs N` goes on
// from the checkpoint, saying so, instead of refusing a longer schedule.
TEST_F(TrainCommandTest, AFinishedRunIsExtendedByResumingWithMoreEpochs) {
  auto r = run_deepreduce(std::string("train ") + kTiny + " --epochs 1 -q --out " + path("e"));
  ASSERT_EQ(r.code, 0) << r.out;
  r = run_deepreduce("train --resume " + path("e/checkpoint.pt") + " --epochs 2 --threads 2 --out " + path("e"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("extending to 2 epochs"), std::string::npos) << r.out;
  std::ifstream in(path("e/result.json"));
  EXPECT_EQ(nlohmann::json::parse(in)["epochs"].size(), 2u);
}

// A run that fails before its first epoch leaves no folder behind to be
// mistaken for a run; one that existed before is left as it was.
TEST_F(TrainCommandTest, AFailedRunLeavesNoEmptyOutFolder) {
  auto r = run_deepreduce(std::string("train ") + kTiny + " --teacher " + path("none.pt") + " --out " + path("gone"));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_FALSE(fs::exists(path("gone"))) << r.out;
  // A data folder that is not there: refused before --out is made.
  r = run_deepreduce("train --dataset cifar10 --data-dir " + path("no-data") + " --epochs 1 --out " + path("nodata"));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("data_batch_1.bin: not found or not readable"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(path("nodata"))) << r.out;
  // One epoch is "1 epoch".
  r = run_deepreduce(std::string("train ") + kTiny + " --epochs 1 --out " + path("one"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("on synthetic for 1 epoch\n"), std::string::npos) << r.out;
  fs::create_directories(path("kept"));
  r = run_deepreduce(std::string("train ") + kTiny + " --teacher " + path("none.pt") + " --out " + path("kept"));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_TRUE(fs::exists(path("kept")));
}

TEST_F(TrainCommandTest, UsageErrors) {
  struct Case {
    std::string args, says;
    int code;
  };
  const std::vector<Case> cases = {
      {std::string("train ") + kTiny, "--out DIR is required", 2},
      {"train --dataset cifar10 --out " + path("c"), "--data-dir: where are the cifar10 files", 2},
      {"train --dataset imagenet --out " + path("c"), "known: cifar10, cifar100, tiny-imagenet, mnist, fashion-mnist, synthetic", 2},
      {"train --dataset cifar10 --data-dir " + path("nothing") + " --out " + path("c"), "data_batch_1.bin", 1},
      {std::string("train ") + kTiny + " --device cuda:99 --out " + path("c"), "cuda:99", 1},
      {std::string("train ") + kTiny + " --schedule linear --out " + path("c"), "cosine, multistep or constant", 2},
      {std::string("train ") + kTiny + " --teacher " + path("none.pt") + " --out " + path("c"), "none.pt", 1},
  };
  for (const auto& c : cases) {
    auto r = run_deepreduce(c.args);
    EXPECT_EQ(r.code, c.code) << c.args << "\n" << r.out;
    EXPECT_NE(r.out.find(c.says), std::string::npos) << c.args << "\n" << r.out;
  }
}

}  // namespace
