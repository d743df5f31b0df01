// Channel pruning, the shapes: which widths a pruned network has. Free of
// LibTorch, so plans and reports count a pruned network exactly before any
// weight exists. Which filters survive is decided on the trained weights
// (nn/prune_weights.h).
//
// What is pruned is what residual coupling allows (Li et al. 2017, Sec. 3.3):
// the inner channels of every ResNet basic block (conv1's outputs, conv2's
// inputs), and every MobileNetV1 pointwise layer's outputs together with the
// next depthwise layer.
#pragma once

#include "common/status.h"
#include "nn/spec.h"

namespace deepreduce::nn {

// Every prunable block loses `rate` of its inner channels: it keeps
// scale_width(width, 1 - rate) (at least 1). rate in [0, 1).
Result<ModelSpec> prune_rate(const ModelSpec& spec, double rate);

// The smallest uniform rate whose network has at most `fraction` of the
// spec's MACs, and that network. InvalidArgument when even one channel per
// block is above the target (the message gives the least reachable fraction).
struct PrunedShape {
  ModelSpec spec;
  double rate = 0;
};
Result<PrunedShape> prune_to_macs(const ModelSpec& spec, double fraction);

}  // namespace deepreduce::nn
