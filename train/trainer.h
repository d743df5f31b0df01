// The training engine: one call trains one job (a trial of a search) and
// writes model.pt, checkpoint.pt and result.json into an output folder.
//
// Deterministic on CPU for a given job and thread count: the weights depend on
// the seed, the batches on (seed, epoch). Stopped after any epoch and resumed
// from its checkpoint, a run ends with the same weights and metrics as one that
// never stopped.
#pragma once

#include <torch/torch.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "spec/job.h"
#include "spec/result.h"

namespace deepreduce::train {

struct BatchProgress {
  int64_t epoch, epochs, batch, batches;
  double loss, top1, images_per_second;
};

struct TrainHooks {
  std::function<void(const BatchProgress&)> on_batch;  // after every training batch
  std::function<void(const spec::EpochRecord&)> on_epoch;    // after each epoch's checkpoint is written
  const std::atomic<bool>* stop = nullptr;              // checked between batches: stop cleanly
};

// Trains `job` into `out_dir` (created if missing). Failures are values:
// a missing dataset, a bad teacher, a NaN loss ("epoch 3, batch 17: loss is
// nan ..."), a checkpoint from another job.
Result<spec::TrialResult> run_training(const spec::TrainJob& job, const spec::RunOptions& run,
                                 const std::string& out_dir, const TrainHooks& hooks = {});

// Parses "cpu", "cuda", "cuda:N"; Unavailable when CUDA is asked for but absent.
Result<std::string> check_device(const std::string& device);

// The test images of a job exactly as training evaluates them (its subset,
// padded to the model's input, normalised): float [N, C, H, W] and int64 [N]
// labels. For checking an exported network against the stored accuracy.
Result<std::pair<torch::Tensor, torch::Tensor>> evaluation_set(const spec::TrainJob& job);

}  // namespace deepreduce::train
