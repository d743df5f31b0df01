// Channel pruning, the shapes: which widths a pruned network has. Free of
// LibTorch, so plans and reports count a pruned network exactly before any
// weight exists. Which filters survive is decided on the trained weights
// (nn/prune_weights.h).
//
// Two scopes. kInner prunes what needs no coupling (Li et al. 2017, Sec. 3.3):
// the inner channels of every ResNet basic block (conv1's outputs, conv2's
// inputs). kCoupled also prunes each residual stage's output channels, the
// same channels in every block of the stage, its shortcut and (for s1) the
// stem, as FPGM and LFPC prune ResNet-56: the ReLUs after the residual adds
// go too. MobileNetV1 has no residual adds: both scopes prune every pointwise
// layer's outputs together with the next depthwise layer.
#pragma once

#include <string>

#include "common/status.h"
#include "spec/model_spec.h"

namespace deepreduce::spec {

enum class PruneScope { kInner, kCoupled };

// Which filters survive, decided on trained weights (nn/prune_weights.h).
enum class PruneCriterion {
  kL1,    // L1 norm of each filter (Li et al., ICLR 2017): small norms go
  kFpgm,  // distance to the geometric median (He et al., CVPR 2019): filters
          // the others can replace (the smallest sum of distances) go
};
Result<PruneCriterion> parse_criterion(const std::string& name);  // l1 | fpgm
const char* criterion_name(PruneCriterion criterion);
Result<PruneScope> parse_prune_scope(const std::string& name);  // "inner" | "coupled"
const char* prune_scope_name(PruneScope scope);

// Every prunable block (and, coupled, every residual stage) loses `rate` of
// its channels: it keeps scale_width(width, 1 - rate) (at least 1). rate in [0, 1).
Result<ModelSpec> prune_rate(const ModelSpec& spec, double rate, PruneScope scope = PruneScope::kCoupled);

// The smallest uniform rate whose network has at most `fraction` of the
// spec's MACs, and that network. InvalidArgument when even one channel per
// block is above the target (the message gives the least reachable fraction).
struct PrunedShape {
  ModelSpec spec;
  double rate = 0;
};
Result<PrunedShape> prune_to_macs(const ModelSpec& spec, double fraction, PruneScope scope = PruneScope::kCoupled);

}  // namespace deepreduce::spec
