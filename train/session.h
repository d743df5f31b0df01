// A training session: one job trained into an output folder, in plain steps
// (set up, epochs of steps, evaluation, checkpoints, the result), with the
// job's methods (train/method.h, found in train/methods/registry.h) plugged
// in where their techniques differ. The session names no method.
//
// Deterministic on CPU for a given job and thread count: the weights depend on
// the seed, the batches on (seed, epoch). Stopped after any epoch and resumed
// from its checkpoint, a session ends with the same weights and metrics as one
// that never stopped.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "nn/model.h"
#include "spec/job.h"
#include "spec/result.h"
#include "train/amp.h"
#include "train/method.h"
#include "train/trainer.h"

namespace deepreduce::train {

class TrainingSession {
 public:
  TrainingSession(const spec::TrainJob& job, const spec::RunOptions& run, std::string out_dir, const TrainHooks& hooks);
  ~TrainingSession();

  // Everything before the first epoch: the device, the data, the network and
  // its initial weights, the teacher, the methods, the optimizer, and the
  // checkpoint to resume from. Failures are values naming what was wrong.
  Status set_up();
  // Trains the epochs left, writing a checkpoint after each. Ends early when
  // a method reached its goal, at stop_after or on a stop request.
  Status train();
  // The result. A completed run also writes what its methods leave beside the
  // model, model.pt and result.json.
  Result<spec::TrialResult> finish();

 private:
  struct Eval {
    double loss = 0, top1 = 0, top5 = 0;
  };
  Status place_on_device();
  Status build_network();
  Status load_teacher();
  Status build_optimizer();
  Status resume();
  // One epoch; false when a stop request cut it short (nothing recorded).
  Result<bool> run_epoch(int64_t epoch);
  Eval evaluate(const std::shared_ptr<const Dataset>& data);
  bool any_done() const;
  nlohmann::json methods_state() const;

  const spec::TrainJob& job_;
  const spec::RunOptions& run_;
  const std::string out_dir_;
  const TrainHooks& hooks_;
  std::string device_name_, precision_;
  Placement place_;
  const spec::DatasetDef* dataset_ = nullptr;
  std::shared_ptr<const Dataset> train_data_, val_data_, test_data_;
  nn::Network net_{nullptr};
  std::optional<nn::Network> teacher_;
  std::vector<std::unique_ptr<Method>> methods_;
  std::unique_ptr<SessionContext> ctx_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::vector<double> group_lr_;  // each optimizer group's peak learning rate
  std::optional<GradScaler> scaler_;  // fp16 only: its range underflows small gradients
  bool records_sites_ = false;
  spec::TrialResult result_;
  int64_t start_epoch_ = 0;
  int64_t images_trained_ = 0;
  double seconds_training_ = 0;
  bool stopped_ = false;
};

}  // namespace deepreduce::train
