// The training engine: one call trains one job (a trial of a search) and
// writes model.pt, checkpoint.pt and result.json into an output folder.
//
// Deterministic on CPU for a given job and thread count: the weights depend on
// the seed, the batches on (seed, epoch). Stopped after any epoch and resumed
// from its checkpoint, a run ends with the same weights and metrics as one that
// never stopped.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "train/options.h"

namespace deepreduce::train {

struct EpochRecord {
  int64_t epoch = 0;  // 1-based
  double lr = 0;
  double train_loss = 0;
  double train_top1 = 0;  // percent, on augmented batches
  double loss = 0;        // test loss
  double top1 = 0;        // test top-1, percent
  double top5 = 0;
  std::optional<double> val_top1, val_loss;  // on the validation split, when the job holds one out
  double seconds = 0;     // wall time of the epoch (training and evaluation)
  double images_per_second = 0;  // training images per second
};

struct TrainResult {
  double top1 = 0, top5 = 0, loss = 0;  // of the last epoch, on the test split
  std::optional<double> val_top1;        // of the last epoch, on the validation split (data.val_split)
  int64_t relus = 0, macs = 0, params = 0;
  std::vector<EpochRecord> epochs;
  double images_per_second = 0;  // over all training batches of this process
  bool completed = false;        // false when stopped early (stop_after or a stop request)
  // Host reads of the training loop's device-side sums (progress reports and
  // epoch ends): a handful per epoch, never one per batch.
  int64_t host_syncs = 0;
  std::string device;
};

// result.json's form, keys in the documented order.
nlohmann::ordered_json to_json(const TrainResult& r);
nlohmann::ordered_json to_json(const EpochRecord& e);
Result<EpochRecord> epoch_record_from_json(const nlohmann::json& j);

struct BatchProgress {
  int64_t epoch, epochs, batch, batches;
  double loss, top1, images_per_second;
};

struct TrainHooks {
  std::function<void(const BatchProgress&)> on_batch;  // after every training batch
  std::function<void(const EpochRecord&)> on_epoch;    // after each epoch's checkpoint is written
  const std::atomic<bool>* stop = nullptr;              // checked between batches: stop cleanly
};

// Trains `job` into `out_dir` (created if missing). Failures are values:
// a missing dataset, a bad teacher, a NaN loss ("epoch 3, batch 17: loss is
// nan ..."), a checkpoint from another job.
Result<TrainResult> run_training(const TrainJob& job, const RunOptions& run,
                                 const std::string& out_dir, const TrainHooks& hooks = {});

// Parses "cpu", "cuda", "cuda:N"; Unavailable when CUDA is asked for but absent.
Result<std::string> check_device(const std::string& device);

// The test images of a job exactly as training evaluates them (its subset,
// padded to the model's input, normalised): float [N, C, H, W] and int64 [N]
// labels. For checking an exported network against the stored accuracy.
Result<std::pair<torch::Tensor, torch::Tensor>> evaluation_set(const TrainJob& job);

}  // namespace deepreduce::train
