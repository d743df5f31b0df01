// Learned linearization, trained for real on tiny data: a mask phase drives
// the ReLU count to its budget and leaves a mask that meets it; killed
// mid-way it resumes bit-exactly (α, the L1 weight and its history
// included); a fine-tuning trains under the mask it learned.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "common/files.h"
#include "nn/masks.h"
#include "spec/counts.h"
#include "tests/test_dirs.h"
#include "tests/train/tiny_job.h"
#include "train/trainer.h"

namespace deepreduce::train {
namespace {
namespace fs = std::filesystem;

class LinearizeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = deepreduce::testing::fresh_test_dir("linearize");
    spec::TrainJob base = testing::tiny_job();
    base.train.epochs = 2;
    auto r = run_training(base, testing::cpu_run(), out("base"));
    ASSERT_TRUE(r.ok()) << r.status().message();
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string out(const std::string& name) { return (dir_ / name).string(); }

  // SNL's mask phase on the trained tiny network, distilled from it.
  spec::TrainJob mask_phase(int64_t budget) {
    spec::TrainJob job = testing::tiny_job();
    job.model.masks = spec::ReluMasks{spec::MaskGranularity::kPixel, true, {}, ""};
    job.train.epochs = 30;
    job.train.optimizer = spec::OptimizerKind::kAdam;
    job.train.lr = 1e-3;
    job.train.weight_decay = 0;
    job.train.schedule = spec::Schedule::kConstant;
    job.train.kd.teacher = out("base") + "/model.pt";
    job.train.kd.form = spec::KdForm::kSum;
    job.train.linearize.budget = budget;
    job.train.linearize.lambda = 1e-3;
    job.train.linearize.patience = 2;
    job.train.linearize.alpha_lr = 0.01;
    return job;
  }
  spec::RunOptions from_base() {
    spec::RunOptions r = testing::cpu_run();
    r.init = out("base") + "/model.pt";
    return r;
  }
  // `job` from the baseline into out(name), stopped after `epochs` and resumed from its checkpoint.
  Result<spec::TrialResult> stopped_and_resumed(const spec::TrainJob& job, int64_t epochs, const std::string& name) {
    spec::RunOptions first = from_base();
    first.stop_after = epochs;
    if (auto stopped = run_training(job, first, out(name)); !stopped.ok()) return stopped.status();
    spec::RunOptions second = testing::cpu_run();
    second.resume = out(name) + "/checkpoint.pt";
    return run_training(job, second, out(name));
  }

  fs::path dir_;
};

TEST_F(LinearizeTest, AMaskPhaseMeetsItsBudgetAndLeavesTheMask) {
  const int64_t budget = 4000;
  auto r = run_training(mask_phase(budget), from_base(), out("mask"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_TRUE(r->completed);
  ASSERT_TRUE(r->mask.has_value());
  EXPECT_LE(r->relus, budget);
  EXPECT_GT(r->relus, 0);
  EXPECT_LT(r->epochs.size(), 30u) << "it stops once the count meets the budget";
  ASSERT_TRUE(r->epochs.back().relus.has_value());
  EXPECT_LE(*r->epochs.back().relus, budget);
  // The L1 weight grew where the count stopped falling (from the patience epoch on).
  EXPECT_GE(*r->epochs.back().l1_weight, *r->epochs.front().l1_weight);
  auto bytes = read_text_file(out("mask") + "/mask.bin");
  ASSERT_TRUE(bytes.ok());
  auto values = spec::decode_mask(*bytes);
  ASSERT_TRUE(values.ok()) << values.status().message();
  EXPECT_EQ(spec::mask_digest(*values), r->mask->digest);
  spec::ModelSpec fixed = mask_phase(budget).model;
  fixed.masks = r->mask;
  EXPECT_EQ(spec::count(fixed)->relus, r->relus);

  // A budget the count never reaches in the epochs it has: cut to it exactly at the end.
  spec::TrainJob short_job = mask_phase(1234);
  short_job.train.epochs = 1;
  auto cut = run_training(short_job, from_base(), out("cut"));
  ASSERT_TRUE(cut.ok()) << cut.status().message();
  EXPECT_GT(*cut->epochs.back().relus, 1234);
  EXPECT_EQ(cut->relus, 1234) << "binarised, then cut to the budget: the largest α stay";

  // Fine-tuning under the learned mask, from the mask phase's weights.
  spec::TrainJob ft = testing::tiny_job();
  ft.model.masks = r->mask;
  ft.train.epochs = 1;
  ft.train.lr = 0.01;
  spec::RunOptions run = testing::cpu_run();
  run.init = out("mask") + "/model.pt";
  run.mask = out("mask") + "/mask.bin";
  auto tuned = run_training(ft, run, out("ft"));
  ASSERT_TRUE(tuned.ok()) << tuned.status().message();
  EXPECT_EQ(tuned->relus, r->relus);
  auto net = load_model(out("ft") + "/model.pt");
  ASSERT_TRUE(net.ok()) << net.status().message();
  EXPECT_EQ(spec::mask_digest(nn::mask_values(*net)), r->mask->digest) << "model.pt carries its mask";
  EXPECT_EQ(nn::measure_counts(*net).relus, r->relus);
  // A mask file other than the one the spec names is refused.
  run.mask = out("cut") + "/mask.bin";
  auto wrong = run_training(ft, run, out("wrong"));
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.status().message().find("digest"), std::string::npos) << wrong.status().message();
}

TEST_F(LinearizeTest, AMaskPhaseKilledMidwayResumesBitExactly) {
  const spec::TrainJob job = mask_phase(4000);
  auto straight = run_training(job, from_base(), out("straight"));
  ASSERT_TRUE(straight.ok()) << straight.status().message();
  ASSERT_GE(straight->epochs.size(), 3u) << "the test needs a phase of a few epochs";
  spec::RunOptions first = from_base();
  first.stop_after = 2;
  auto partial = run_training(job, first, out("stopped"));
  ASSERT_TRUE(partial.ok()) << partial.status().message();
  ASSERT_FALSE(partial->completed);
  spec::RunOptions second = testing::cpu_run();
  second.resume = out("stopped") + "/checkpoint.pt";
  auto resumed = run_training(job, second, out("stopped"));
  ASSERT_TRUE(resumed.ok()) << resumed.status().message();
  ASSERT_TRUE(resumed->completed);
  ASSERT_EQ(resumed->epochs.size(), straight->epochs.size());
  for (size_t e = 0; e < straight->epochs.size(); ++e) {
    EXPECT_EQ(resumed->epochs[e].train_loss, straight->epochs[e].train_loss) << "epoch " << e;
    EXPECT_EQ(resumed->epochs[e].relus, straight->epochs[e].relus) << "epoch " << e;
    EXPECT_EQ(resumed->epochs[e].l1_weight, straight->epochs[e].l1_weight) << "epoch " << e;
  }
  EXPECT_EQ(resumed->mask->digest, straight->mask->digest);
  auto a = testing::weights(out("straight") + "/model.pt"), b = testing::weights(out("stopped") + "/model.pt");
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) EXPECT_TRUE(torch::equal(t, b[name])) << name;
}

// SENet-style per-layer budgets: the mask is recomputed before every epoch
// (each site's top units by |teacher - student|), so every epoch trains at
// the budget exactly and the phase runs all its epochs; resumed, it is the
// same phase.
TEST_F(LinearizeTest, PerLayerBudgetsHoldTheBudgetEveryEpochAndResume) {
  spec::TrainJob job = mask_phase(3000);
  job.train.epochs = 3;
  job.train.linearize.method = spec::LinearizeMethod::kSenetUniform;
  auto r = run_training(job, from_base(), out("senet"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_TRUE(r->completed);
  ASSERT_EQ(r->epochs.size(), 3u) << "a budget met from the first epoch does not stop the phase";
  for (const auto& e : r->epochs) {
    EXPECT_EQ(e.relus, 3000);
    EXPECT_EQ(e.l1_weight, r->epochs.front().l1_weight) << "no L1 penalty grows";
  }
  ASSERT_TRUE(r->mask.has_value());
  EXPECT_EQ(r->relus, 3000);
  spec::ModelSpec fixed = job.model;
  fixed.masks = r->mask;
  EXPECT_EQ(spec::count(fixed)->relus, 3000);

  auto resumed = stopped_and_resumed(job, 1, "senet-stopped");
  ASSERT_TRUE(resumed.ok()) << resumed.status().message();
  EXPECT_EQ(resumed->mask->digest, r->mask->digest);
  for (size_t e = 0; e < r->epochs.size(); ++e)
    EXPECT_EQ(resumed->epochs[e].train_loss, r->epochs[e].train_loss) << "epoch " << e;

  // Without a teacher there is nothing to compare the student with.
  job.train.kd.teacher.clear();
  auto alone = run_training(job, from_base(), out("senet-alone"));
  ASSERT_FALSE(alone.ok());
  EXPECT_NE(alone.status().message().find("teacher"), std::string::npos) << alone.status().message();
}

// SENet's mask phase: per-layer shares from the measured sensitivity (the
// share kept rises and falls with it, not one share for all), the budget met
// every epoch, the mask chosen again after every epoch from the differences
// summed over it, and a stopped phase resumes to the same mask and weights.
TEST_F(LinearizeTest, SenetSharesFollowTheMeasuredSensitivityAndResume) {
  spec::TrainJob job = mask_phase(3000);
  job.train.epochs = 3;
  job.train.optimizer = spec::OptimizerKind::kSgd;
  job.train.lr = 0.01;
  job.train.linearize.method = spec::LinearizeMethod::kSenet;
  auto r = run_training(job, from_base(), out("senet"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->epochs.size(), 3u);
  for (const auto& e : r->epochs) EXPECT_LE(*e.relus, 3000);
  EXPECT_GE(*r->epochs.back().relus, 2990) << "the shares spend the budget";
  ASSERT_TRUE(r->mask.has_value());
  EXPECT_LE(r->relus, 3000);
  // Not one share for all: the kept fraction differs between sites by more
  // than rounding.
  spec::ModelSpec fixed = job.model;
  fixed.masks = r->mask;
  double lo = 1, hi = 0;
  for (const auto& site : *spec::relu_sites(job.model)) {
    const double f = static_cast<double>(r->mask->kept.at(site.name)) /
                     static_cast<double>(spec::mask_units(spec::MaskGranularity::kPixel, site.channels, site.height, site.width));
    lo = std::min(lo, f);
    hi = std::max(hi, f);
  }
  EXPECT_GT(hi, 1.5 * lo) << "every site kept about one share: " << lo << " .. " << hi;
  // SENet's direction: the last stage's sites are pruned hardest, so they keep
  // a larger share of their ReLUs than the stem.
  const auto share = [&](const std::string& site) {
    for (const auto& s : *spec::relu_sites(job.model))
      if (s.name == site)
        return static_cast<double>(r->mask->kept.at(site)) /
               static_cast<double>(spec::mask_units(spec::MaskGranularity::kPixel, s.channels, s.height, s.width));
    return -1.0;
  };
  EXPECT_GT(share("s4.b0.relu2"), share("stem"));

  auto resumed = stopped_and_resumed(job, 2, "senet-stopped");
  ASSERT_TRUE(resumed.ok()) << resumed.status().message();
  EXPECT_EQ(resumed->mask->digest, r->mask->digest);
  auto a = testing::weights(out("senet") + "/model.pt"), b = testing::weights(out("senet-stopped") + "/model.pt");
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) EXPECT_TRUE(torch::equal(t, b[name])) << name;
}

// Attention transfer beside KD changes the training (its term reaches the
// weights) and is refused without a teacher.
TEST_F(LinearizeTest, AttentionTransferAddsATermThatTrains) {
  spec::TrainJob kd = testing::tiny_job();
  kd.train.epochs = 1;
  kd.train.kd.teacher = out("base") + "/model.pt";
  kd.train.kd.form = spec::KdForm::kSum;
  spec::TrainJob at = kd;
  at.train.kd.at_weight = 1000;
  auto plain = run_training(kd, from_base(), out("kd"));
  auto with_at = run_training(at, from_base(), out("at"));
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  ASSERT_TRUE(with_at.ok()) << with_at.status().message();
  EXPECT_NE(plain->epochs[0].train_loss, with_at->epochs[0].train_loss);
  auto a = testing::weights(out("kd") + "/model.pt"), b = testing::weights(out("at") + "/model.pt");
  bool differ = false;
  for (const auto& [name, t] : a) differ = differ || !torch::equal(t, b[name]);
  EXPECT_TRUE(differ) << "the attention term changed no weight";
}

}  // namespace
}  // namespace deepreduce::train
