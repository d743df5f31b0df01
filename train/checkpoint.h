// Model files and training checkpoints.
//
// model.pt holds a network's spec (canonical JSON) and weights, so a teacher or
// a result can be rebuilt from the file alone. checkpoint.pt holds everything a
// run needs to continue exactly: the job, the epoch reached, the model, the
// optimiser (momentum buffers), the metric history and torch's RNG state. The
// data order and augmentation are functions of (seed, epoch) and need no state.
// Files are written to a temporary name and renamed, so a crash leaves the
// previous file intact.
#pragma once

#include <torch/torch.h>

#include <string>

#include "common/files.h"
#include "common/status.h"
#include "nn/model.h"
#include "spec/job.h"

namespace deepreduce::train {

// `dataset`: what it was trained on (its normalisation), kept in the file.
Status save_model(const std::string& path, nn::Network& net, const std::string& dataset = "");
// Rebuilds the network from the file's spec and loads its weights onto
// `device`; `dataset`, when given, gets the dataset the file says it was
// trained on ("" for files written before it did).
Result<nn::Network> load_model(const std::string& path, torch::Device device = torch::kCPU,
                               std::string* dataset = nullptr);

struct Checkpoint {
  nlohmann::json job;      // to_json(TrainJob)
  int64_t epoch = 0;       // epochs completed
  nlohmann::json history;  // per-epoch records so far
  // What else the loop carries across epochs (a mask phase's L1 weight and
  // lowest count); null when nothing.
  nlohmann::json state = nullptr;
};

Status save_checkpoint(const std::string& path, const Checkpoint& meta, nn::Network& net,
                       torch::optim::Optimizer& optimizer);
// Reads the metadata only.
Result<Checkpoint> read_checkpoint_meta(const std::string& path);
// Loads weights, optimiser state and RNG state into objects built for the same
// job and already on `device`.
Status load_checkpoint_state(const std::string& path, nn::Network& net,
                             torch::optim::Optimizer& optimizer, torch::Device device);

using deepreduce::write_file_atomic;  // common/files.h

}  // namespace deepreduce::train
