// The LibTorch builder: one Network module for every registered architecture,
// built from a ModelSpec. A ReLU site that is off is an identity; nothing else
// about the network changes.
//
// Parameter names are stable and follow the site names ("stem.conv.weight",
// "s2_b1.conv1.weight", ...), so weights can move between specs that share
// structure (KD teachers, pruning).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "common/status.h"
#include "spec/model_spec.h"

namespace deepreduce::nn {

// One ReLU site: ReLU when active, identity when not.
class ReluGateImpl : public torch::nn::Module {
 public:
  ReluGateImpl(std::string name, bool active) : name_(std::move(name)), active_(active) {}
  torch::Tensor forward(torch::Tensor x);
  const std::string& name() const { return name_; }
  bool active() const { return active_; }

 private:
  std::string name_;
  bool active_;
};
TORCH_MODULE(ReluGate);

// A block of a stage. Subclasses: the ResNet basic block, the MobileNetV1
// depthwise-separable block.
class BlockImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor x) = 0;
};

class NetworkImpl : public torch::nn::Module {
 public:
  // Precondition: validate(spec).ok(); use build_model for a checked build.
  explicit NetworkImpl(const ModelSpec& spec);
  torch::Tensor forward(torch::Tensor x);
  const ModelSpec& spec() const { return spec_; }

 private:
  ModelSpec spec_;
  torch::nn::Conv2d stem_conv_{nullptr};
  torch::nn::BatchNorm2d stem_bn_{nullptr};
  ReluGate stem_relu_{nullptr};
  std::vector<std::shared_ptr<BlockImpl>> blocks_;
  torch::nn::Linear fc_{nullptr};
};
TORCH_MODULE(Network);

// Builds the spec's network with the torchvision initialisation (Kaiming-normal
// convs, BN weight 1 and bias 0). The weights depend on torch's global seed.
Result<Network> build_model(const ModelSpec& spec);

// Counts measured by running one forward pass with tracing on: the output
// tensors of active ReLU sites, the weight and output shapes of every conv and
// linear layer actually executed, and the parameters the module holds.
struct MeasuredCounts {
  int64_t relus = 0;
  int64_t macs = 0;
  int64_t params = 0;
  std::map<std::string, int64_t> site_relus;  // active sites only
};
MeasuredCounts measure_counts(Network& net);

}  // namespace deepreduce::nn
