// Every config mistake, from any surface (sweeps, trial lists, `train --trial`
// files), is an error that names the file, the line and the key the user
// wrote: a table of broken configs run through the CLI as a user would.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/needs_torch.h"
#include "tests/cli/run_binary.h"
#include "tests/test_dirs.h"

namespace {
namespace fs = std::filesystem;
using deepreduce::testing::run_deepreduce;

struct Broken {
  const char* what;
  const char* text;
  const char* says;  // after "FILE:": "LINE: key..."
};

const Broken kPlanned[] = {
    {"unknown top key", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\nsearch: {strategy: grid}\ntrian: {epochs: 3}\n", "5: trian"},
    {"dup top key", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\nmodel: {arch: resnet34}\nsearch: {strategy: grid}\n", "4: model"},
    {"dup nested key", "name: s\ndataset: {name: synthetic}\nmodel:\n  arch: resnet18\n  arch: resnet34\nsearch: {strategy: grid}\n", "5: model.arch"},
    {"unterminated quote", "name: \"quick\ndataset: {name: synthetic}\nmodel: {arch: resnet18}\nsearch: {strategy: grid}\n", "1: name"},
    {"name list", "name: [a, b]\ndataset: {name: synthetic}\nmodel: {arch: resnet18}\nsearch: {strategy: grid}\n", "1: name"},
    {"missing dataset", "name: s\nmodel: {arch: resnet18}\nsearch: {strategy: grid}\n", "1: dataset"},
    {"dataset unknown", "name: s\ndataset: {name: imagenet}\nmodel: {arch: resnet18}\nsearch: {strategy: grid}\n", "2: dataset.name"},
    {"dataset not map", "name: s\ndataset: synthetic\nmodel: {arch: resnet18}\nsearch: {strategy: grid}\n", "2: dataset"},
    {"train_subset str", "name: s\ndataset: {name: synthetic, train_subset: lots}\nmodel: {arch: resnet18}\nsearch: {strategy: grid}\n", "2: dataset.train_subset"},
    {"subset negative", "name: s\ndataset: {name: synthetic, train_subset: -5}\nmodel: {arch: resnet18}\nsearch: {strategy: grid}\n", "2: dataset.train_subset"},
    {"augment bad", "name: s\ndataset: {name: synthetic, augment: maybe}\nmodel: {arch: resnet18}\nsearch: {strategy: grid}\n", "2: dataset.augment"},
    {"arch unknown", "name: s\ndataset: {name: synthetic}\nmodel: {arch: vgg16}\nsearch: {strategy: grid}\n", "3: model.arch"},
    {"alpha str", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: wide}\nsearch: {strategy: grid}\n", "3: model.alpha"},
    {"alpha range", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 9}\nsearch: {strategy: grid}\n", "3: model.alpha"},
    {"rho bad", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, rho: 0.3}\nsearch: {strategy: grid}\n", "3: model.rho"},
    {"blocks str", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, blocks: two}\nsearch: {strategy: grid}\n", "3: model.blocks"},
    {"blocks len", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, blocks: [1, 1]}\nsearch: {strategy: grid}\n", "3: model.blocks"},
    {"classes wrong", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, classes: 100}\nsearch: {strategy: grid}\n", "3: model.classes"},
    {"model unknown key", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, depth: 3}\nsearch: {strategy: grid}\n", "3: model.depth"},
    {"epochs zero", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\ntrain: {epochs: 0}\nsearch: {strategy: grid}\n", "4: train.epochs"},
    {"epochs float", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\ntrain: {epochs: 2.5}\nsearch: {strategy: grid}\n", "4: train.epochs"},
    {"lr neg", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\ntrain: {lr: -0.1}\nsearch: {strategy: grid}\n", "4: train.lr"},
    {"lr str", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\ntrain: {lr: fast}\nsearch: {strategy: grid}\n", "4: train.lr"},
    {"momentum 1", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\ntrain: {momentum: 1.0}\nsearch: {strategy: grid}\n", "4: train.momentum"},
    {"nesterov no mom", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\ntrain: {nesterov: true, momentum: 0}\nsearch: {strategy: grid}\n", "4: train.nesterov"},
    {"schedule bad", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\ntrain: {schedule: linear}\nsearch: {strategy: grid}\n", "4: train.schedule"},
    {"milestones str", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\ntrain: {schedule: multistep, milestones: soon}\nsearch: {strategy: grid}\n", "4: train.milestones"},
    {"warmup too big", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\ntrain: {epochs: 3, warmup_epochs: 3}\nsearch: {strategy: grid}\n", "4: train.warmup_epochs"},
    {"batch zero", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\ntrain: {batch: 0}\nsearch: {strategy: grid}\n", "4: train.batch"},
    {"seed neg", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\ntrain: {seed: -1}\nsearch: {strategy: grid}\n", "4: train.seed"},
    {"precision bad", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\ntrain: {precision: fp8}\nsearch: {strategy: grid}\n", "4: train.precision"},
    {"train unknown", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\ntrain: {epoch: 3}\nsearch: {strategy: grid}\n", "4: train.epoch"},
    {"kd lambda", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\nkd: {lambda: 1.5}\nsearch: {strategy: grid}\n", "4: kd.lambda"},
    {"kd temp", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\nkd: {temperature: 0}\nsearch: {strategy: grid}\n", "4: kd.temperature"},
    {"kd unknown", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\nkd: {alpha: 0.5}\nsearch: {strategy: grid}\n", "4: kd.alpha"},
    {"strategy bad", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\nsearch: {strategy: random}\n", "4: search.strategy"},
    {"strategy missing", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\nsearch: {cull: [[s1]]}\n", "4: search.strategy"},
    {"phases bad", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\nsearch: {strategy: deepreduce, phases: [pruning]}\n", "4: search.phases"},
    {"cull stage bad", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\nsearch: {strategy: grid, cull: [[s9]]}\n", "4: search.cull"},
    {"thin stem", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\nsearch: {strategy: grid, thin: [[stem]]}\n", "4: search.thin"},
    {"alpha list bad", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\nsearch: {strategy: grid, alpha: [0.5, huge]}\n", "4: search.alpha"},
    {"grid with phases", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\nsearch: {strategy: grid, phases: [culling]}\n", "4: search.phases"},
    {"halving min", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18}\ntrain: {epochs: 3}\nsearch:\n  strategy: grid\n  successive_halving: {min_epochs: 5}\n", "7: search.successive_halving"},
    {"pruning crit", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\nsearch: {strategy: grid}\nchannel_pruning: {criteria: [l2], macs: [0.5]}\n", "5: channel_pruning.criteria"},
    {"pruning macs", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\nsearch: {strategy: grid}\nchannel_pruning: {criteria: [l1], macs: [1.5]}\n", "5: channel_pruning.macs"},
    {"pi protocol", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\nsearch: {strategy: grid}\npi_cost: {protocol: gazelle}\n", "5: pi_cost"},
    {"report ref", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\nsearch: {strategy: grid}\nreport: {references: [nosuchset]}\n", "5: report.references"},
    {"bad yaml", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\nsearch: {strategy: grid}\ntrain: {epochs: 3\n", "6: YAML syntax error"},
    {"tab indent", "name: s\ndataset:\n\tname: synthetic\n", "3:"},
    {"non-scalar key", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\nsearch: {strategy: grid}\n? [a, b]\n: 1\n", "5:"},
    {"list unknown opt", "name: l\ndefaults: {dataset: synthetic}\ntrials:\n  - {name: a, epoch: 3}\n", "4: epoch"},
    {"list defaults bad", "name: l\ndefaults: {dataset: synthetic, kd-lambda: 2}\ntrials:\n  - {name: a}\n", "2: defaults.kd-lambda"},
    {"list defaults lr", "name: l\ndefaults: {dataset: synthetic, lr: -1}\ntrials:\n  - {name: a}\n", "2: defaults.lr"},
    {"list trial lr", "name: l\ndefaults: {dataset: synthetic}\ntrials:\n  - {name: a}\n  - {name: b, lr: -1}\n", "5: lr"},
    {"list teacher", "name: l\ndefaults: {dataset: synthetic}\ntrials:\n  - {name: a, teacher: z}\n", "4: teacher"},
    {"list dup name", "name: l\ndefaults: {dataset: synthetic}\ntrials:\n  - {name: a}\n  - {name: a}\n", "5: name"},
    {"list kind", "name: l\ndefaults: {dataset: synthetic}\ntrials:\n  - {name: a, kind: sleep}\n", "4: kind"},
    {"list dup key", "name: l\ndefaults: {dataset: synthetic}\ntrials:\n  - {name: a, epochs: 2, epochs: 3}\n", "4: trials[0].epochs"},
    {"list epochs str", "name: l\ndefaults: {dataset: synthetic}\ntrials:\n  - {name: a, epochs: many}\n", "4: epochs"},
    {"list name list", "name: [l]\ndefaults: {dataset: synthetic}\ntrials:\n  - {name: a}\n", "1: name"},
    {"list trials empty", "name: l\ndefaults: {dataset: synthetic}\ntrials: []\n", "3: trials"},
    // A misspelt top-level key is named as such, whichever kind of file it is
    // (a sweep's search, a list's trials), not taken for the other kind.
    {"sweep serach", "name: s2\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\ntrain: {epochs: 3}\nserach: {strategy: grid}\n", "5: serach: unknown key; did you mean search?"},
    {"only serach", "serach: {strategy: grid}\n", "1: serach: unknown key; did you mean search?"},
    {"list trails", "name: l\ndefaults: {dataset: synthetic}\ntrails:\n  - {name: a}\n", "3: trails: unknown key; did you mean trials?"},
    {"thin position", "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\nsearch: {strategy: grid, thin: [[s2]], thin_position: middle}\n", "4: search.thin_position"},
};

const Broken kTrialFiles[] = {
    {"negative lr", "epochs: 3\nlr: -2\ndataset: synthetic\n", "2: lr: expected a positive number"},
    {"lambda out of range", "epochs: 3\nkd_lambda: 4\ndataset: synthetic\n", "2: kd-lambda: expected a number in [0, 1]"},
    {"a key twice", "epochs: 3\nepochs: 4\n", "2: epochs: given twice (first on line 1)"},
    {"unknown option", "dataset: synthetic\nepoch: 3\n", "2: epoch: unknown option"},
    {"open quote", "dataset: synthetic\narch: \"resnet18\nepochs: 3\n", "2: arch: a value over several lines"},
    {"bad precision", "dataset: synthetic\nprecision: fp64\n", "2: precision: expected fp32, bf16, fp16 or auto"},
};

class BrokenConfigTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = deepreduce::testing::fresh_test_dir("broken"); }
  void TearDown() override { fs::remove_all(dir_); }
  // Writes each config, runs `command FILE rest`, and expects exit 2 and
  // "FILE:LINE: key..." in the output. Returns how many were tried.
  template <size_t N>
  int expect_each_named(const Broken (&configs)[N], const std::string& command, const std::string& rest) {
    int i = 0;
    for (const auto& b : configs) {
      const std::string file = (dir_ / (command.substr(0, 1) + std::to_string(i++) + ".yaml")).string();
      std::ofstream(file) << b.text;
      auto r = run_deepreduce(command + " " + file + rest);
      EXPECT_EQ(r.code, 2) << b.what << ": " << r.out;
      EXPECT_NE(r.out.find(file + ":" + b.says), std::string::npos)
          << b.what << ": expected \"" << file << ":" << b.says << "\" in\n" << r.out;
    }
    return i;
  }
  fs::path dir_;
};

TEST_F(BrokenConfigTest, PlanNamesFileLineAndKeyOfEveryMistake) {
  EXPECT_GE(expect_each_named(kPlanned, "plan", ""), 40);
}

TEST_F(BrokenConfigTest, TrainTrialFilesNameFileLineAndKey) {
  DEEPREDUCE_NEEDS_TORCH();
  expect_each_named(kTrialFiles, "train --trial", " --out " + (dir_ / "out").string());
}

// Hostile files: a few lines of aliases of aliases that a walk would expand
// into billions of values, and a file too large to be a config.
TEST_F(BrokenConfigTest, AliasBombsAndHugeFilesAreRefusedUnexpanded) {
  std::string bomb = "name: s\ndataset: {name: synthetic}\nmodel: {arch: resnet18, alpha: 0.25}\nsearch: {strategy: grid}\n"
                     "x0: &x0 [a, a, a, a, a, a, a, a, a, a]\n";
  for (int i = 1; i < 10; ++i) {
    const std::string prev = "*x" + std::to_string(i - 1);
    bomb += "x" + std::to_string(i) + ": &x" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) bomb += (k ? ", " : "") + prev;
    bomb += "]\n";
  }
  const std::string file = (dir_ / "bomb.yaml").string();
  std::ofstream(file) << bomb;
  for (const std::string& command : {"plan " + file, "train --trial " + file + " --out " + (dir_ / "out").string()}) {
    if (!DEEPREDUCE_HAS_TORCH && command.rfind("train", 0) == 0) continue;
    auto r = run_deepreduce(command);
    EXPECT_EQ(r.code, 2) << command << r.out;
    EXPECT_NE(r.out.find("more than 1000000 values (aliases that expand without end?)"), std::string::npos)
        << command << r.out;
  }
  const std::string huge = (dir_ / "huge.yaml").string();
  std::ofstream(huge) << "name: s\n# " << std::string(9u << 20, 'x') << "\n";
  auto r = run_deepreduce("plan " + huge);
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find(huge + ": larger than 8388608 bytes, the most read"), std::string::npos) << r.out;
}

}  // namespace
