// Channel pruning, the weights: rank a trained network's filters and move the
// survivors into the pruned network (shapes from spec/prune.h).
#pragma once

#include <torch/torch.h>

#include <string>

#include "common/status.h"
#include "nn/model.h"
#include "spec/prune.h"

namespace deepreduce::nn {

// Importance of each output filter of a conv weight [out, in, kh, kw]: higher
// is kept first.
torch::Tensor filter_importance(const torch::Tensor& weight, spec::PruneCriterion criterion);

// A network of spec `target` (the source's spec with narrower widths) holding
// the source's weights: in each pruned block the `criterion`'s most important
// filters (in their original order) with their BN statistics and the matching
// input channels of the layer after; everything else copied as it is.
Result<Network> prune_network(Network& source, const spec::ModelSpec& target, spec::PruneCriterion criterion);

}  // namespace deepreduce::nn
