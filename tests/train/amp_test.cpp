// Mixed precision and memory layout on CPU: autocast engages only in its scope,
// the loss scaler skips overflowing steps, bf16 trains, fp16 is refused on CPU
// with a reason, and an fp32 trial keeps its identity.
#include "train/amp.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "storage/trial.h"
#include "tests/test_dirs.h"
#include "tests/train/tiny_job.h"
#include "train/trainer.h"

namespace deepreduce::train {
namespace {
namespace fs = std::filesystem;

TEST(AutocastScopeTest, LowersMatmulsOnlyInsideTheScopeAndRestoresTheState) {
  torch::nn::Linear linear(8, 4);
  auto x = torch::randn({2, 8});
  EXPECT_EQ(linear->forward(x).scalar_type(), torch::kFloat);
  {
    AutocastScope scope(torch::kCPU, torch::kBFloat16);
    EXPECT_EQ(linear->forward(x).scalar_type(), torch::kBFloat16);
    {
      AutocastScope fp32(torch::kCPU, std::nullopt);  // disengaged: changes nothing
      EXPECT_EQ(linear->forward(x).scalar_type(), torch::kBFloat16);
    }
    EXPECT_EQ(linear->forward(x).scalar_type(), torch::kBFloat16);
  }
  EXPECT_EQ(linear->forward(x).scalar_type(), torch::kFloat);
}

TEST(AutocastScopeTest, PrecisionNamesMapToDtypesAndFp16NeedsCuda) {
  EXPECT_FALSE(autocast_dtype(spec::Precision::kFp32, torch::kCPU)->has_value());
  EXPECT_EQ(autocast_dtype(spec::Precision::kBf16, torch::kCPU)->value(), torch::kBFloat16);
  auto fp16 = autocast_dtype(spec::Precision::kFp16, torch::kCPU);
  ASSERT_FALSE(fp16.ok());
  EXPECT_NE(fp16.status().message().find("needs a CUDA device"), std::string::npos) << fp16.status().message();
  // A name that is none of them is refused where it enters, naming the nearest.
  auto int8 = parse_enum("bf61", spec::kPrecisionNames);
  ASSERT_FALSE(int8.ok());
  EXPECT_EQ(int8.status().message(), "expected fp32, bf16, fp16 or auto, got \"bf61\"; did you mean bf16?");
}

// "auto" is bf16 exactly where the CPU computes it natively (its flags, read
// here independently of the code under test), fp32 elsewhere.
TEST(AutocastScopeTest, AutoIsBf16WhereTheCpuComputesItNatively) {
  std::ifstream in("/proc/cpuinfo");
  const std::string info((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const bool native = info.find(" avx512_bf16") != std::string::npos || info.find(" amx_bf16") != std::string::npos;
  EXPECT_EQ(cpu_has_native_bf16(), native);
  EXPECT_EQ(resolve_precision(spec::Precision::kAuto, torch::kCPU), native ? spec::Precision::kBf16 : spec::Precision::kFp32);
  EXPECT_EQ(autocast_dtype(spec::Precision::kAuto, torch::kCPU)->has_value(), native);
  for (const auto fixed : {spec::Precision::kFp32, spec::Precision::kBf16, spec::Precision::kFp16})
    EXPECT_EQ(resolve_precision(fixed, torch::kCPU), fixed);
}

TEST(GradScalerTest, UnscalesFiniteGradientsAndSkipsOverflowingSteps) {
  GradScaler scaler(/*initial_scale=*/1024.0, /*growth_interval=*/2);
  auto w = torch::ones({3}, torch::requires_grad());
  scaler.scale((w * torch::tensor({1.0f, 2.0f, 3.0f})).sum()).backward();
  EXPECT_TRUE(torch::allclose(w.grad(), torch::tensor({1024.0f, 2048.0f, 3072.0f})));
  EXPECT_TRUE(scaler.unscale_and_update({w}));
  EXPECT_TRUE(torch::allclose(w.grad(), torch::tensor({1.0f, 2.0f, 3.0f})));  // the true gradient
  EXPECT_EQ(scaler.current_scale(), 1024.0);

  w.mutable_grad() = torch::tensor({1.0f, std::numeric_limits<float>::infinity(), 0.0f});
  EXPECT_FALSE(scaler.unscale_and_update({w}));  // the caller must not step
  EXPECT_EQ(scaler.current_scale(), 512.0);
  EXPECT_EQ(scaler.skipped_steps(), 1);
  w.mutable_grad() = torch::tensor({std::nanf(""), 0.0f, 0.0f});
  EXPECT_FALSE(scaler.unscale_and_update({w}));
  EXPECT_EQ(scaler.current_scale(), 256.0);

  // growth_interval clean steps in a row double it again.
  for (int i = 0; i < 2; ++i) {
    w.mutable_grad() = torch::ones({3});
    EXPECT_TRUE(scaler.unscale_and_update({w}));
  }
  EXPECT_EQ(scaler.current_scale(), 512.0);
}

class PrecisionTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = deepreduce::testing::fresh_test_dir("precision"); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string out(const std::string& name) { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(PrecisionTest, Bf16TrainsDeterministicallyAndDiffersFromFp32) {
  spec::TrainJob job = testing::tiny_job();
  auto fp32 = run_training(job, testing::cpu_run(), out("fp32"));
  ASSERT_TRUE(fp32.ok()) << fp32.status().message();
  job.train.precision = spec::Precision::kBf16;
  auto a = run_training(job, testing::cpu_run(), out("bf16a"));
  ASSERT_TRUE(a.ok()) << a.status().message();
  auto b = run_training(job, testing::cpu_run(), out("bf16b"));
  ASSERT_TRUE(b.ok());
  EXPECT_GT(a->top1, 50.0);  // it learns (chance is 10%)
  EXPECT_NEAR(*a->top1, *fp32->top1, 15.0);
  EXPECT_NE(a->epochs[0].train_loss, fp32->epochs[0].train_loss) << "autocast did not engage";
  for (size_t e = 0; e < a->epochs.size(); ++e) EXPECT_EQ(a->epochs[e].train_loss, b->epochs[e].train_loss);
  EXPECT_EQ(a->host_syncs, job.train.epochs);  // autocast adds no host reads
  // The weights are stored in fp32 whatever the arithmetic.
  for (const auto& [name, t] : testing::weights(out("bf16a") + "/model.pt"))
    if (t.is_floating_point()) {
      EXPECT_EQ(t.scalar_type(), torch::kFloat) << name;
    }
}

TEST_F(PrecisionTest, Bf16StoppedAndResumedEndsAsAnUninterruptedRun) {
  spec::TrainJob job = testing::tiny_job();
  job.train.precision = spec::Precision::kBf16;
  job.train.epochs = 2;
  auto straight = run_training(job, testing::cpu_run(), out("straight"));
  ASSERT_TRUE(straight.ok()) << straight.status().message();
  spec::RunOptions first = testing::cpu_run();
  first.stop_after = 1;
  ASSERT_TRUE(run_training(job, first, out("stopped")).ok());
  spec::RunOptions second = testing::cpu_run();
  second.resume = out("stopped") + "/checkpoint.pt";
  auto resumed = run_training(job, second, out("stopped"));
  ASSERT_TRUE(resumed.ok()) << resumed.status().message();
  EXPECT_EQ(resumed->epochs.back().train_loss, straight->epochs.back().train_loss);
  EXPECT_EQ(resumed->top1, straight->top1);
  // A bf16 checkpoint does not continue an fp32 job: precision is part of the job.
  spec::TrainJob fp32 = job;
  fp32.train.precision = spec::Precision::kFp32;
  spec::RunOptions other = testing::cpu_run();
  other.resume = out("stopped") + "/checkpoint.pt";
  auto refused = run_training(fp32, other, out("other"));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("another job"), std::string::npos) << refused.status().message();
}

// A trial in "auto" trains as what it resolves to on this machine (bf16 in
// channels-last where the CPU has native bf16, fp32 contiguous elsewhere),
// and its result says which.
TEST_F(PrecisionTest, AutoTrainsAsWhatItResolvesToAndTheResultSaysWhich) {
  spec::TrainJob job = testing::tiny_job();
  job.train.precision = spec::Precision::kAuto;
  auto a = run_training(job, testing::cpu_run(), out("auto"));
  ASSERT_TRUE(a.ok()) << a.status().message();
  const spec::Precision resolved = resolve_precision(spec::Precision::kAuto, torch::kCPU);
  EXPECT_EQ(a->precision, enum_name(resolved, spec::kPrecisionNames));
  EXPECT_EQ(a->memory_format, resolved == spec::Precision::kBf16 ? "channels-last" : "contiguous");
  job.train.precision = resolved;
  spec::RunOptions explicit_run = testing::cpu_run();
  explicit_run.memory_format = *parse_enum(a->memory_format, spec::kMemoryFormatNames);
  auto b = run_training(job, explicit_run, out("explicit"));
  ASSERT_TRUE(b.ok()) << b.status().message();
  for (size_t e = 0; e < a->epochs.size(); ++e) EXPECT_EQ(a->epochs[e].train_loss, b->epochs[e].train_loss);
  // fp32 stays contiguous (bit-identical to earlier builds) and says so.
  job.train.precision = spec::Precision::kFp32;
  auto c = run_training(job, testing::cpu_run(), out("fp32"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->precision, "fp32");
  EXPECT_EQ(c->memory_format, "contiguous");
}

TEST_F(PrecisionTest, Fp16OnCpuIsRefusedBeforeAnyWork) {
  spec::TrainJob job = testing::tiny_job();
  job.train.precision = spec::Precision::kFp16;
  auto r = run_training(job, testing::cpu_run(), out("fp16"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("use bf16"), std::string::npos) << r.status().message();
  EXPECT_FALSE(fs::exists(out("fp16") + "/checkpoint.pt"));
}

TEST_F(PrecisionTest, ChannelsLastTrainsToContiguousWeightsThatReproduceTheAccuracy) {
  spec::TrainJob job = testing::tiny_job();
  job.train.epochs = 2;
  spec::RunOptions run = testing::cpu_run();
  run.memory_format = spec::MemoryFormat::kChannelsLast;
  auto r = run_training(job, run, out("nhwc"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_GT(r->top1, 30.0);
  auto net = load_model(out("nhwc") + "/model.pt");
  ASSERT_TRUE(net.ok());
  for (const auto& p : (*net)->parameters()) EXPECT_TRUE(p.is_contiguous());
  auto eval = evaluation_set(job);
  ASSERT_TRUE(eval.ok());
  (*net)->eval();
  torch::NoGradGuard no_grad;
  const double top1 = 100.0 * (*net)->forward(eval->first).argmax(1).eq(eval->second).sum().item<int64_t>() /
                      eval->second.size(0);
  EXPECT_NEAR(top1, *r->top1, 1.0);  // NHWC and NCHW kernels may round one image differently
  // A layout that is none of them is refused where it enters (train --memory-format).
  auto bad = parse_enum("nchw", spec::kMemoryFormatNames);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "expected auto, channels-last or contiguous, got \"nchw\"");
}

TEST(PrecisionIdentityTest, Fp32KeepsItsTrialIdAndOtherPrecisionsAreOtherTrials) {
  spec::TrainJob job = testing::tiny_job();
  auto j = to_json(job);
  EXPECT_FALSE(j["train"].contains("precision")) << "fp32 must keep the ids it had before precision existed";
  spec::TrialSpec spec;
  spec.job = job;
  const std::string fp32_id = spec::trial_id(spec);
  spec.job.train.precision = spec::Precision::kBf16;
  const std::string bf16_id = spec::trial_id(spec);
  EXPECT_NE(fp32_id, bf16_id);
  auto back = spec::train_job_from_json(to_json(spec.job));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->train.precision, spec::Precision::kBf16);
  auto bad = to_json(job);
  bad["train"]["precision"] = "fp8";
  auto refused = spec::train_job_from_json(bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("train.precision"), std::string::npos) << refused.status().message();
}

}  // namespace
}  // namespace deepreduce::train
