// A training method: what one technique (KD, SNL's mask phase, SENet's
// per-layer budgets, pruning's fine-tuning, ...) changes in the training
// session (train/session.h), and nothing else.
//
// The session runs the plain steps: it builds the network and the optimizer,
// trains epochs of steps, evaluates, writes checkpoints and the result. A
// method implements only the hooks where its technique differs; every hook has
// a default that changes nothing. The session calls the methods of a job in
// registry order (train/methods/registry.h) and names none of them.
//
// Contract:
//  - Hooks run on the session's thread, in the order declared below.
//  - A method's state that must survive a stop (SNL's λ and lowest count) is
//    what state() returns; restore() receives it back on resume, so a resumed
//    run ends with the same weights as one that never stopped.
//  - Loss terms are fp32 scalars on the session's device.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "nn/model.h"
#include "spec/job.h"
#include "spec/result.h"
#include "train/dataset.h"

namespace deepreduce::train {

// How batches meet the network: the device, the autocast dtype (none for
// fp32), the memory format of the inputs.
struct Placement {
  torch::Device device = torch::kCPU;
  std::optional<torch::ScalarType> autocast;
  torch::MemoryFormat format = torch::MemoryFormat::Contiguous;
  torch::Tensor to_device(const torch::Tensor& images) const {
    auto x = images.to(device, /*non_blocking=*/true);
    return format == torch::MemoryFormat::Contiguous ? x : x.contiguous(format);
  }
};

// What a method sees of the session. The network exists before any hook
// runs; `teacher` is the job's KD teacher (train.kd.teacher), null without one.
struct SessionContext {
  const spec::TrainJob& job;
  const spec::RunOptions& run;
  const spec::DatasetDef& dataset;
  const Placement& place;
  nn::Network& net;
  nn::Network* teacher = nullptr;
  std::shared_ptr<const Dataset> train_data;  // as the model sees it (padded)
  std::string out_dir;
};

// One training step as the loss hooks see it (after the forward passes).
struct Step {
  const torch::Tensor& labels;
  const torch::Tensor& logits;          // fp32
  const torch::Tensor& teacher_logits;  // fp32; undefined without a teacher
  // What every ReLU site saw in this step's forward passes, when a method of
  // the session asks for it (Method::records_sites); empty otherwise.
  const nn::SiteRecord& student_sites;
  const nn::SiteRecord& teacher_sites;
};

// Where a parameter goes in the optimizer.
struct ParamPlace {
  enum Kind { kWeights, kFrozen, kOwnGroup } kind = kWeights;
  double lr = 0;  // kOwnGroup: its peak learning rate, scaled by the schedule like the weights'
};

class Method {
 public:
  virtual ~Method() = default;
  // The registry name ("kd", "snl", ...).
  virtual const char* name() const = 0;

  // 1. After the network is built (and its initial weights loaded), before the
  //    optimizer exists: set its weights (pruning), check what it needs.
  virtual Status prepare(SessionContext& ctx) { return Status(); }
  // 2. Which optimizer group a parameter joins; the first method that does not
  //    answer kWeights decides.
  virtual ParamPlace place_parameter(const std::string& name) const { return {}; }
  // 3. Resuming: what state() returned when the checkpoint was written.
  virtual void restore(const nlohmann::json& state) {}
  // Whether the loss hooks need every ReLU site's input and output (a memory cost).
  virtual bool records_sites() const { return false; }
  // 4. Before each epoch's first step.
  virtual Status epoch_start(SessionContext& ctx, int64_t epoch) { return Status(); }
  // 5. The loss of a step. task_loss replaces cross-entropy (KD does; at most
  //    one method of a session answers); extra_loss adds a term (a penalty).
  virtual std::optional<torch::Tensor> task_loss(const Step& step) { return std::nullopt; }
  virtual std::optional<torch::Tensor> extra_loss(const Step& step) { return std::nullopt; }
  // Whether the run may end after any epoch (done() below): the session then
  // evaluates every epoch as if it were the last.
  virtual bool may_end_early() const { return false; }
  // 6. After each epoch's evaluation, before its checkpoint: add to its record.
  virtual void epoch_end(SessionContext& ctx, spec::EpochRecord& record) {}
  // Whether the method has reached its goal: the run ends here, complete.
  virtual bool done() const { return false; }
  // What a checkpoint keeps of the method: JSON members merged into the
  // checkpoint's state (an object; keys unique across methods).
  virtual nlohmann::json state() const { return nullptr; }
  // 7. A run that completed, before model.pt and result.json are written:
  //    what the method leaves beside the model (a mask file) and in the result.
  virtual Status finish(SessionContext& ctx, spec::TrialResult& result) { return Status(); }
};

}  // namespace deepreduce::train
