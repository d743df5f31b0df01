// Channel pruning, the weights: rank a trained network's filters and move the
// survivors into the pruned network (shapes from nn/prune.h).
#pragma once

#include <torch/torch.h>

#include <string>

#include "common/status.h"
#include "nn/model.h"

namespace deepreduce::nn {

enum class PruneCriterion {
  kL1,    // L1 norm of each filter (Li et al., ICLR 2017): small norms go
  kFpgm,  // distance to the geometric median (He et al., CVPR 2019): filters
          // the others can replace (the smallest sum of distances) go
};
Result<PruneCriterion> parse_criterion(const std::string& name);  // l1 | fpgm

// Importance of each output filter of a conv weight [out, in, kh, kw]: higher
// is kept first.
torch::Tensor filter_importance(const torch::Tensor& weight, PruneCriterion criterion);

// A network of spec `target` (the source's spec with narrower widths) holding
// the source's weights: in each pruned block the `criterion`'s most important
// filters (in their original order) with their BN statistics and the matching
// input channels of the layer after; everything else copied as it is.
Result<Network> prune_network(Network& source, const ModelSpec& target, PruneCriterion criterion);

}  // namespace deepreduce::nn
