// Real training on tiny synthetic data: it learns, it resumes exactly, it
// distils, and it fails honestly.
#include "train/trainer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

#include "spec/counts.h"
#include "spec/relu_plan.h"
#include "spec/trial.h"
#include "train/checkpoint.h"
#include "tests/test_dirs.h"
#include "tests/train/tiny_job.h"

namespace deepreduce::train {
namespace {
namespace fs = std::filesystem;

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = deepreduce::testing::fresh_test_dir("trainer");
  }
  void TearDown() override { fs::remove_all(dir_); }

  static spec::TrainJob tiny_job() { return testing::tiny_job(); }
  static spec::RunOptions cpu() { return testing::cpu_run(); }
  std::string out(const std::string& name) { return (dir_ / name).string(); }

  fs::path dir_;
};

using testing::weights;

TEST_F(TrainerTest, LearnsTheSyntheticTaskAndWritesItsFiles) {
  spec::TrainJob job = tiny_job();
  auto r = run_training(job, cpu(), out("run"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->completed);
  ASSERT_EQ(r->epochs.size(), 4u);
  EXPECT_GT(r->top1, 50.0);  // chance is 10%
  EXPECT_LT(r->epochs.back().train_loss, r->epochs.front().train_loss);
  EXPECT_EQ(r->relus, spec::count(job.model)->relus);
  EXPECT_GT(r->images_per_second, 0);
  for (const char* f : {"model.pt", "checkpoint.pt", "result.json"}) EXPECT_TRUE(fs::exists(dir_ / "run" / f)) << f;
  std::ifstream in(dir_ / "run" / "result.json");
  auto j = nlohmann::json::parse(in);
  EXPECT_DOUBLE_EQ(j["top1"].get<double>(), *r->top1);
  EXPECT_EQ(j["epochs"].size(), 4u);
  for (const char* key : {"epoch", "train_loss", "top1", "seconds"}) EXPECT_TRUE(j["epochs"][0].contains(key)) << key;
  for (const auto& e : r->epochs) {
    EXPECT_GT(e.seconds, 0) << "epoch " << e.epoch;
    EXPECT_GT(e.images_per_second, 0) << "epoch " << e.epoch;
    EXPECT_FALSE(e.relus.has_value()) << "only a mask phase counts ReLUs per epoch";
  }
  for (const char* key : {"top5", "loss", "relus", "macs", "params", "images_per_second"})
    EXPECT_TRUE(j.contains(key)) << key;
  // The saved model is the trained one: it reproduces the reported accuracy.
  auto net = load_model((dir_ / "run" / "model.pt").string());
  ASSERT_TRUE(net.ok());
  EXPECT_EQ((*net)->spec(), job.model);
}

TEST_F(TrainerTest, StoppedAndResumedRunsEndBitIdenticalToAnUninterruptedOne) {
  spec::TrainJob job = tiny_job();
  auto straight = run_training(job, cpu(), out("straight"));
  ASSERT_TRUE(straight.ok()) << straight.status().message();

  for (int64_t stop : {1, 3}) {
    const std::string dir = out("stopped" + std::to_string(stop));
    spec::RunOptions first = cpu();
    first.stop_after = stop;
    auto partial = run_training(job, first, dir);
    ASSERT_TRUE(partial.ok()) << partial.status().message();
    EXPECT_FALSE(partial->completed);
    EXPECT_EQ(partial->epochs.size(), static_cast<size_t>(stop));
    EXPECT_FALSE(fs::exists(fs::path(dir) / "result.json"));

    spec::RunOptions second = cpu();
    second.resume = dir + "/checkpoint.pt";
    auto resumed = run_training(job, second, dir);
    ASSERT_TRUE(resumed.ok()) << resumed.status().message();
    EXPECT_TRUE(resumed->completed);
    ASSERT_EQ(resumed->epochs.size(), 4u);
    for (size_t e = 0; e < 4; ++e) {
      EXPECT_EQ(resumed->epochs[e].train_loss, straight->epochs[e].train_loss) << "stop " << stop << " epoch " << e;
      EXPECT_EQ(resumed->epochs[e].top1, straight->epochs[e].top1);
      EXPECT_EQ(resumed->epochs[e].loss, straight->epochs[e].loss);
    }
    auto a = weights(out("straight") + "/model.pt"), b = weights(dir + "/model.pt");
    ASSERT_EQ(a.size(), b.size());
    for (const auto& [name, t] : a) EXPECT_TRUE(torch::equal(t, b[name])) << "stop " << stop << ": " << name;
  }
}

TEST_F(TrainerTest, ACheckpointOfAnotherJobIsRefused) {
  spec::TrainJob job = tiny_job();
  spec::RunOptions first = cpu();
  first.stop_after = 1;
  ASSERT_TRUE(run_training(job, first, out("a")).ok());
  spec::TrainJob other = job;
  other.train.lr = 0.01;
  spec::RunOptions resume = cpu();
  resume.resume = out("a") + "/checkpoint.pt";
  auto r = run_training(other, resume, out("a"));
  ASSERT_FALSE(r.ok());
  // It names the key that differs with both values, not the two whole jobs.
  EXPECT_NE(r.status().message().find("checkpoint is of another job (train.lr 0.05 there, 0.01 here)"),
            std::string::npos)
      << r.status().message();
}

// A finished run extended to more epochs (train --resume CKPT --epochs N):
// its first epochs are the checkpoint's, the rest follow the longer schedule.
TEST_F(TrainerTest, AFinishedRunExtendsToMoreEpochs) {
  spec::TrainJob job = tiny_job();
  job.train.epochs = 1;
  auto first = run_training(job, cpu(), out("x"));
  ASSERT_TRUE(first.ok()) << first.status().message();
  spec::TrainJob longer = job;
  longer.train.epochs = 3;
  spec::RunOptions resume = cpu();
  resume.resume = out("x") + "/checkpoint.pt";
  auto refused = run_training(longer, resume, out("x"));
  ASSERT_FALSE(refused.ok()) << "without extend a longer schedule is another job";
  EXPECT_NE(refused.status().message().find("train.horizon 1 there, 3 here"), std::string::npos)
      << refused.status().message();
  resume.extend = true;
  auto extended = run_training(longer, resume, out("x"));
  ASSERT_TRUE(extended.ok()) << extended.status().message();
  ASSERT_EQ(extended->epochs.size(), 3u);
  EXPECT_EQ(extended->epochs[0].train_loss, first->epochs[0].train_loss) << "the first epoch is the checkpoint's";
  EXPECT_TRUE(extended->completed);
}

TEST_F(TrainerTest, DistilsACulledStudentFromATrainedTeacher) {
  spec::TrainJob teacher_job = tiny_job();
  ASSERT_TRUE(run_training(teacher_job, cpu(), out("teacher")).ok());
  spec::TrainJob student = tiny_job();
  student.model = *spec::cull(student.model, {"stem", "s1"});
  student.train.kd.teacher = out("teacher") + "/model.pt";
  auto kd = run_training(student, cpu(), out("student"));
  ASSERT_TRUE(kd.ok()) << kd.status().message();
  EXPECT_GT(kd->top1, 30.0);
  EXPECT_LT(kd->relus, spec::count(teacher_job.model)->relus);
  // Without the teacher the same student trains differently: KD changed the loss.
  student.train.kd.teacher.clear();
  auto plain = run_training(student, cpu(), out("plain"));
  ASSERT_TRUE(plain.ok());
  EXPECT_NE(plain->epochs[0].train_loss, kd->epochs[0].train_loss);
}

TEST_F(TrainerTest, ATeacherForOtherInputsIsRefused) {
  spec::TrainJob t = tiny_job();
  t.train.epochs = 1;
  t.data.train_subset = 64;
  ASSERT_TRUE(run_training(t, cpu(), out("t")).ok());
  spec::TrainJob s = tiny_job();
  s.model.classes = 10;
  s.model.input_size = 64;
  s.train.kd.teacher = out("t") + "/model.pt";
  auto r = run_training(s, cpu(), out("s"));
  EXPECT_FALSE(r.ok());
  s.train.kd.teacher = out("nope.pt");
  r = run_training(s, cpu(), out("s"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nope.pt"), std::string::npos);
}

TEST_F(TrainerTest, ADivergingLossIsAFailureThatSaysSo) {
  spec::TrainJob job = tiny_job();
  job.train.lr = 1e12;
  job.train.weight_decay = 0;
  auto r = run_training(job, cpu(), out("nan"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("training loss is"), std::string::npos) << r.status().message();
  EXPECT_FALSE(fs::exists(dir_ / "nan" / "result.json"));
}

TEST_F(TrainerTest, AStopRequestEndsTheRunBetweenBatches) {
  spec::TrainJob job = tiny_job();
  std::atomic<bool> stop{false};
  TrainHooks hooks;
  int batches = 0;
  hooks.on_batch = [&](const BatchProgress&) {
    if (++batches == 3) stop = true;
  };
  hooks.stop = &stop;
  auto r = run_training(job, cpu(), out("stop"), hooks);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->completed);
  EXPECT_EQ(batches, 3);
}

// The batch loop keeps loss and accuracy on the device: the host waits for the
// device once per epoch (and per progress report, at most twice a second), not
// once or twice per batch as `loss.item()` did.
TEST_F(TrainerTest, TheBatchLoopDoesNotSyncWithTheHostPerBatch) {
  spec::TrainJob job = tiny_job();  // 640 images in batches of 32: 20 batches an epoch
  auto quiet = run_training(job, cpu(), out("quiet"));
  ASSERT_TRUE(quiet.ok()) << quiet.status().message();
  EXPECT_EQ(quiet->host_syncs, job.train.epochs);  // one read of the sums per epoch
  int reports = 0;
  TrainHooks hooks;
  hooks.on_batch = [&](const BatchProgress& p) {
    ++reports;
    EXPECT_GT(p.loss, 0);
  };
  auto watched = run_training(job, cpu(), out("watched"), hooks);
  ASSERT_TRUE(watched.ok());
  EXPECT_LT(watched->host_syncs, 20 * job.train.epochs / 2) << "progress reports read the device per batch";
  EXPECT_EQ(watched->host_syncs, job.train.epochs + reports);
  // The same arithmetic as before: reading less often changes no number.
  for (size_t e = 0; e < quiet->epochs.size(); ++e) {
    EXPECT_EQ(quiet->epochs[e].train_loss, watched->epochs[e].train_loss);
    EXPECT_EQ(quiet->epochs[e].top1, watched->epochs[e].top1);
  }
}

// With data.val_split, every epoch reports validation top-1 (test top-1 after the last),
// the result carries it (what a search decides on), and the training set
// shrinks by the held-out images; without it, nothing changes.
TEST_F(TrainerTest, AValidationSplitIsHeldOutAndReportedBesideTheTestAccuracy) {
  spec::TrainJob job = tiny_job();
  job.train.epochs = 2;
  job.data.val_split = 128;
  auto r = run_training(job, cpu(), out("val"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_TRUE(r->val_top1.has_value());
  for (const auto& e : r->epochs) ASSERT_TRUE(e.val_top1.has_value() && e.val_loss.has_value());
  EXPECT_EQ(*r->val_top1, *r->epochs.back().val_top1);
  std::ifstream in(dir_ / "val" / "result.json");
  auto j = nlohmann::json::parse(in);
  EXPECT_DOUBLE_EQ(j["val_top1"].get<double>(), *r->val_top1);
  // 640 - 128 images train: 16 batches of 32 an epoch (20 without the split).
  int batches = 0;
  TrainHooks hooks;
  hooks.on_batch = [&](const BatchProgress& p) { batches = static_cast<int>(p.batches); };
  ASSERT_TRUE(run_training(job, cpu(), out("val2"), hooks).ok());
  EXPECT_EQ(batches, 16);
  // A split as large as the training set is refused, naming the key.
  job.data.val_split = 640;
  auto refused = run_training(job, cpu(), out("bad"));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("data.val_split"), std::string::npos) << refused.status().message();
}

// With a validation split the test set is measured once, after the last
// epoch; train.eval_every thins the validation out too. Neither changes what
// is learned (the same weights, the same final figures) nor the trial's id.
TEST_F(TrainerTest, TheTestSetIsMeasuredOnceAndEvalEveryChangesNothingLearned) {
  spec::TrainJob job = tiny_job();
  job.train.epochs = 3;
  job.data.val_split = 128;
  auto every = run_training(job, cpu(), out("every"));
  ASSERT_TRUE(every.ok()) << every.status().message();
  for (size_t e = 0; e < 3; ++e) {
    EXPECT_EQ(every->epochs[e].top1.has_value(), e == 2) << "epoch " << e + 1;
    EXPECT_TRUE(every->epochs[e].val_top1.has_value()) << "epoch " << e + 1;
  }
  spec::TrainJob thin = job;
  thin.train.eval_every = 3;
  auto last = run_training(thin, cpu(), out("last"));
  ASSERT_TRUE(last.ok()) << last.status().message();
  EXPECT_FALSE(last->epochs[0].val_top1.has_value());
  EXPECT_FALSE(last->epochs[1].val_top1.has_value());
  EXPECT_TRUE(last->epochs[2].val_top1.has_value() && last->epochs[2].top1.has_value());
  EXPECT_EQ(last->top1, every->top1);
  EXPECT_EQ(last->val_top1, every->val_top1);
  const auto wl = weights(out("last") + "/model.pt"), we = weights(out("every") + "/model.pt");
  ASSERT_EQ(wl.size(), we.size());
  for (const auto& [name, t] : wl) EXPECT_TRUE(torch::equal(t, we.at(name))) << name;
  spec::TrialSpec a, b;
  a.job = job;
  b.job = thin;
  EXPECT_EQ(spec::trial_id(a), spec::trial_id(b));
}

TEST(LearningRateTest, SchedulesAndWarmup) {
  spec::TrainOptions t;
  t.lr = 0.1;
  t.epochs = 4;
  EXPECT_DOUBLE_EQ(learning_rate(t, 0), 0.1);
  EXPECT_NEAR(learning_rate(t, 2), 0.05, 1e-12);
  t.schedule = spec::Schedule::kMultistep;
  t.milestones = {2, 3};
  EXPECT_DOUBLE_EQ(learning_rate(t, 1), 0.1);
  EXPECT_NEAR(learning_rate(t, 2), 0.01, 1e-12);
  EXPECT_NEAR(learning_rate(t, 3), 0.001, 1e-12);
  t.schedule = spec::Schedule::kConstant;
  t.warmup_epochs = 1;
  EXPECT_DOUBLE_EQ(learning_rate(t, 0), 0.05);
  EXPECT_DOUBLE_EQ(learning_rate(t, 1), 0.1);
}

TEST(TrainJobJsonTest, RoundTripsAndNamesBadKeys) {
  spec::TrainJob job;
  job.model = *spec::thin(job.model, {"s2"});
  job.train.kd.teacher = "t.pt";
  auto back = spec::train_job_from_json(to_json(job));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(to_json(*back), to_json(job));
  auto j = to_json(job);
  j["train"]["lr"] = "fast";
  EXPECT_NE(spec::train_job_from_json(j).status().message().find("train.lr: expected a number, got \"fast\""), std::string::npos)
      << spec::train_job_from_json(j).status().message();
  j = to_json(job);
  j["train"]["lr_decay"] = 1;
  EXPECT_NE(spec::train_job_from_json(j).status().message().find("train.lr_decay: unknown key"), std::string::npos);
  j = to_json(job);
  j["model"]["classes"] = 100;
  EXPECT_NE(spec::train_job_from_json(j).status().message().find("synthetic has 10 classes"), std::string::npos);
}

}  // namespace
}  // namespace deepreduce::train
