// The LibTorch builder: one Network module for every registered architecture,
// built from a ModelSpec through its resolved layers (spec/model_spec.h), the
// same lists the counts and the exporter walk. A ReLU site that is off is an
// identity; nothing else about the network changes.
//
// Parameter names are stable and follow the layers' names ("stem_conv.weight",
// "s2_b1.conv1.weight", ...), so weights can move between specs that share
// structure (KD teachers, pruning).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "spec/model_spec.h"

namespace deepreduce::nn {

// One ReLU site: ReLU when active, identity when not; with a mask
// (spec/relu_mask.h), partial: y = m * relu(x) + (1 - m) * x, m per pixel
// ({1, C, H, W}) or per channel ({1, C, 1, 1}). A learnable mask is the
// parameter "alpha" (SNL's α, initially 1); a fixed one the buffer "mask" (0 or 1).
class ReluGateImpl : public torch::nn::Module {
 public:
  // `shape`: the site's activation {C, H, W}; `masks` the spec's (null: none).
  ReluGateImpl(std::string name, bool active, const spec::ReluMasks* masks = nullptr, std::vector<int64_t> shape = {});
  torch::Tensor forward(torch::Tensor x);
  const std::string& name() const { return name_; }
  bool active() const { return active_; }
  // The learnable α, or the fixed mask; undefined when the site has none.
  const torch::Tensor& alpha() const { return alpha_; }
  const torch::Tensor& mask() const { return mask_; }
  torch::Tensor& mutable_mask() { return mask_; }
  const std::vector<int64_t>& shape() const { return shape_; }  // {C, H, W}
  spec::MaskGranularity granularity() const { return granularity_; }

 private:
  torch::Tensor gate(const torch::Tensor& x);
  std::string name_;
  bool active_;
  std::vector<int64_t> shape_;
  spec::MaskGranularity granularity_ = spec::MaskGranularity::kPixel;
  torch::Tensor alpha_, mask_;
};
TORCH_MODULE(ReluGate);

// The modules of a resolved block (spec/model_spec.h), made in its layers'
// order and run in their dependency order. The stem and the head are such
// graphs registered on the network itself; every other block is a BlockImpl.
class LayerGraph {
 public:
  // Makes the block's modules and registers them on `owner` under the layers' names.
  LayerGraph(torch::nn::Module& owner, const spec::ResolvedBlock& block, const spec::ModelSpec& spec);
  LayerGraph() = default;
  torch::Tensor forward(const torch::Tensor& x);

 private:
  struct Step {
    const spec::ResolvedLayer* layer;
    torch::nn::Conv2d conv{nullptr};
    torch::nn::BatchNorm2d bn{nullptr};
    ReluGate relu{nullptr};
  };
  std::shared_ptr<const spec::ResolvedBlock> block_;
  std::vector<Step> steps_;  // by layer index
};

// A block of a stage: its kind's layers (spec/blocks.h), nothing else.
class BlockImpl : public torch::nn::Module {
 public:
  BlockImpl(const spec::ResolvedBlock& block, const spec::ModelSpec& spec) : graph_(*this, block, spec) {}
  torch::Tensor forward(torch::Tensor x) { return graph_.forward(x); }

 private:
  LayerGraph graph_;
};
TORCH_MODULE(Block);

class NetworkImpl : public torch::nn::Module {
 public:
  // Precondition: validate(spec).ok(); use build_model for a checked build.
  explicit NetworkImpl(const spec::ModelSpec& spec);
  torch::Tensor forward(torch::Tensor x);
  const spec::ModelSpec& spec() const { return spec_; }

 private:
  spec::ModelSpec spec_;
  LayerGraph stem_;
  std::vector<Block> blocks_;
  LayerGraph head_;
  torch::nn::Linear fc_{nullptr};
};
TORCH_MODULE(Network);

// Builds the spec's network with the torchvision initialisation (Kaiming-normal
// convs, BN weight 1 and bias 0). The weights depend on torch's global seed.
Result<Network> build_model(const spec::ModelSpec& spec);

// Copies `from`'s parameters and buffers into `to`'s of the same name and
// shape (weights between networks that share structure: initial weights, a
// pruned network, α of an earlier mask phase); the others keep their values.
void copy_weights(Network& from, Network& to);

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

// By active ReLU site, the weights of the convs a forward pass
// executes after the previous site and before it: what feeds it (conv1 for a
// basic block's relu1; conv2, and a projection shortcut's conv where it runs
// between, for relu2).
std::map<std::string, std::vector<torch::Tensor>> convs_before_sites(Network& net);

// While one is installed on this thread (RecordSites), every ReLU gate of a
// forward pass stores what it saw, by site: its input and its output.
struct SiteRecord {
  std::map<std::string, torch::Tensor> in, out;
  // Keep the outputs in the autograd graph (a loss on them: attention
  // transfer); else they are detached.
  bool with_grad = false;
};
class RecordSites {
 public:
  explicit RecordSites(SiteRecord& record);
  ~RecordSites();
  RecordSites(const RecordSites&) = delete;
  RecordSites& operator=(const RecordSites&) = delete;
};

}  // namespace deepreduce::nn
