// A network and a task small enough to train in a second on one core: the
// shared starting point of the training tests.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <map>
#include <string>

#include "train/checkpoint.h"
#include "spec/job.h"

namespace deepreduce::train::testing {

inline spec::TrainJob tiny_job() {
  spec::TrainJob job;
  job.model.arch = "resnet18";
  job.model.alpha = 0.125;
  job.model.blocks = {1, 1, 1, 1};
  job.data.dataset = "synthetic";
  job.data.train_subset = 640;
  job.data.test_subset = 200;
  job.train.epochs = 4;
  job.train.batch_size = 32;
  job.train.lr = 0.05;
  job.train.seed = 5;
  return job;
}

inline spec::RunOptions cpu_run() {
  spec::RunOptions r;
  r.threads = 2;
  return r;
}

// Every parameter and buffer of a saved model, by name.
inline std::map<std::string, torch::Tensor> weights(const std::string& model_pt) {
  auto net = load_model(model_pt);
  EXPECT_TRUE(net.ok()) << net.status().message();
  std::map<std::string, torch::Tensor> w;
  if (!net.ok()) return w;
  for (const auto& p : (*net)->named_parameters()) w[p.key()] = p.value().clone();
  for (const auto& b : (*net)->named_buffers()) w[b.key()] = b.value().clone();
  return w;
}

}  // namespace deepreduce::train::testing
