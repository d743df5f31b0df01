// The CUDA path: parity with the CPU, checkpoints that cross devices, KD and
// every precision on a GPU. Skipped, saying so, where LibTorch sees no CUDA
// device (this machine's Debian LibTorch is CPU-only).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "nn/model.h"
#include "spec/relu_plan.h"
#include "tests/test_dirs.h"
#include "tests/train/tiny_job.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace deepreduce::train {
namespace {
namespace fs = std::filesystem;

class CudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!torch::cuda::is_available())
      GTEST_SKIP() << "no CUDA device visible to LibTorch (a CPU-only build or no GPU): the CUDA path is not tested here";
    dir_ = deepreduce::testing::fresh_test_dir("cuda");
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  static spec::RunOptions gpu() {
    spec::RunOptions r = testing::cpu_run();
    r.device = "cuda";
    return r;
  }
  std::string out(const std::string& name) { return (dir_ / name).string(); }
  fs::path dir_;
};

TEST_F(CudaTest, ForwardMatchesTheCpu) {
  for (const char* arch : {"resnet18", "mobilenetv1", "resnet56"}) {
    spec::ModelSpec spec;
    spec.arch = arch;
    spec.alpha = 0.25;
    if (spec.arch == "resnet56") spec.alpha = 1.0;
    torch::manual_seed(1);
    auto cpu_net = nn::build_model(spec);
    ASSERT_TRUE(cpu_net.ok()) << cpu_net.status().message();
    (*cpu_net)->eval();
    auto x = torch::randn({4, spec.in_channels, spec.input_size, spec.input_size});
    torch::NoGradGuard no_grad;
    auto expected = (*cpu_net)->forward(x);
    (*cpu_net)->to(torch::kCUDA);
    auto got = (*cpu_net)->forward(x.to(torch::kCUDA)).cpu();
    EXPECT_TRUE(torch::allclose(got, expected, 1e-3, 1e-4)) << arch << ": max diff "
                                                            << (got - expected).abs().max().item<float>();
  }
}

TEST_F(CudaTest, EveryPrecisionTrainsOnTheGpu) {
  for (const char* precision : {"fp32", "bf16", "fp16"}) {
    spec::TrainJob job = testing::tiny_job();
    job.train.precision = *parse_enum(precision, spec::kPrecisionNames);
    auto r = run_training(job, gpu(), out(precision));
    ASSERT_TRUE(r.ok()) << precision << ": " << r.status().message();
    EXPECT_TRUE(r->completed);
    EXPECT_GT(r->top1, 50.0) << precision;  // chance is 10%
    EXPECT_EQ(r->host_syncs, job.train.epochs) << precision;
    EXPECT_EQ(r->device.rfind("cuda", 0), 0u);
  }
}

TEST_F(CudaTest, ACheckpointCrossesDevicesBothWays) {
  for (const auto& [first, second] : {std::pair<std::string, std::string>{"cuda", "cpu"}, {"cpu", "cuda"}}) {
    spec::TrainJob job = testing::tiny_job();
    job.train.epochs = 2;
    spec::RunOptions a = testing::cpu_run();
    a.device = first;
    a.stop_after = 1;
    const std::string dir = out(first + "_to_" + second);
    auto partial = run_training(job, a, dir);
    ASSERT_TRUE(partial.ok()) << partial.status().message();
    spec::RunOptions b = testing::cpu_run();
    b.device = second;
    b.resume = dir + "/checkpoint.pt";
    auto resumed = run_training(job, b, dir);
    ASSERT_TRUE(resumed.ok()) << first << " -> " << second << ": " << resumed.status().message();
    EXPECT_TRUE(resumed->completed);
    EXPECT_EQ(resumed->epochs.size(), 2u);
    EXPECT_GT(resumed->top1, 30.0);
    // model.pt loads on the CPU, as export and the report need it.
    auto net = load_model(dir + "/model.pt");
    ASSERT_TRUE(net.ok()) << net.status().message();
  }
}

TEST_F(CudaTest, DistilsOnTheGpu) {
  spec::TrainJob teacher = testing::tiny_job();
  ASSERT_TRUE(run_training(teacher, gpu(), out("teacher")).ok());
  spec::TrainJob student = testing::tiny_job();
  student.model = *spec::cull(student.model, {"stem", "s1"});
  student.train.kd.teacher = out("teacher") + "/model.pt";
  for (const char* precision : {"fp32", "bf16", "fp16"}) {
    student.train.precision = *parse_enum(precision, spec::kPrecisionNames);
    auto r = run_training(student, gpu(), out(std::string("student_") + precision));
    ASSERT_TRUE(r.ok()) << precision << ": " << r.status().message();
    EXPECT_GT(r->top1, 30.0) << precision;
  }
}

}  // namespace
}  // namespace deepreduce::train
