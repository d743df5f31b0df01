// Batches of a Dataset as tensors, with the standard CIFAR augmentation, built
// ahead of the training thread.
//
// A batch's contents depend only on (seed, epoch, batch index), never on
// timing, so a run is reproducible and a resumed epoch sees the same batches.
#pragma once

#include <torch/torch.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "train/dataset.h"

namespace deepreduce::train {

struct Batch {
  torch::Tensor images;  // float [B, C, H, W], normalised
  torch::Tensor labels;  // int64 [B]
};

struct LoaderOptions {
  int64_t batch_size = 128;
  bool shuffle = true;
  bool augment = true;  // pad 4 + random crop, horizontal flip (Krizhevsky / He et al.)
  bool flip = true;     // the flip half of the augmentation
  uint64_t seed = 0;
  int64_t epoch = 0;
  int prefetch = 4;     // batches built ahead; 0 builds each batch on the calling thread
  // Batches in page-locked memory, so that copies to a CUDA device are
  // asynchronous (to(device, non_blocking=true)). Needs CUDA.
  bool pin_memory = false;
  spec::Normalization norm;
};

class BatchLoader {
 public:
  // The dataset must outlive nothing: the loader shares ownership.
  BatchLoader(std::shared_ptr<const Dataset> data, LoaderOptions options);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // The next batch of the epoch, or nullopt after the last one.
  std::optional<Batch> next();
  int64_t batches() const { return batches_; }

 private:
  Batch make_batch(int64_t index, std::mt19937_64& rng);
  void produce();

  std::shared_ptr<const Dataset> data_;
  LoaderOptions options_;
  std::vector<int64_t> order_;
  int64_t batches_;
  int64_t consumed_ = 0;
  std::vector<std::array<float, 256>> lut_big_;  // byte -> normalised value, per channel

  std::mt19937_64 sync_rng_;  // for prefetch == 0
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Batch> queue_;
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace deepreduce::train
