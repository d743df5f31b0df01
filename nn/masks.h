// Learned linearization on a built network: its ReLU gates' masks
// (nn/model.h) read, written, penalised, counted and binarised.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "nn/model.h"
#include "spec/relu_mask.h"
#include "spec/result.h"

namespace deepreduce::nn {

// The network's gates with a learnable α, in forward order.
std::vector<ReluGate> learnable_gates(Network& net);
// Σ |α| over every learnable gate (SNL's L1 term); 0 without any.
torch::Tensor alpha_l1(Network& net);
// The ReLUs whose α is above `threshold`: the count the mask phase drives
// down (units x ReLUs per unit).
int64_t alive_relus(Network& net, double threshold);
// α binarised (above `threshold` keeps the ReLU) and, where that keeps more
// than `budget` ReLUs, cut to the budget: the units of largest α stay (ties
// by forward order), a channel only where its whole cost still fits. Every
// active site is listed.
// `outcome`, when given, gets what the binarisation found: the ReLUs alive
// above the threshold, those cut to the budget, the range of the α kept and
// the largest α made linear.
spec::MaskValues binarize(Network& net, double threshold, int64_t budget, spec::MaskOutcome* outcome = nullptr);

// SENet-style per-layer budgets: every learnable gate keeps the same share
// of its ReLUs (budget / all of them), `budget` in all (exactly, per pixel;
// at most, per channel): in each site the units of largest `importance`
// (per site, shaped like its α) get α = 1, the others α = 0.
Status set_top_k(Network& net, const std::map<std::string, torch::Tensor>& importance, int64_t budget);
// How many units each learnable site keeps when site s keeps the share
// shares[s] of its units (empty: every site budget / all), `budget` ReLUs in
// all at most: quotas rounded down, the remainders handed out largest first
// while they fit.
Result<std::map<std::string, int64_t>> site_units(Network& net, const std::map<std::string, double>& shares,
                                                  int64_t budget);
// Each site keeps units[site] units of largest `importance`.
Status set_top_k(Network& net, const std::map<std::string, torch::Tensor>& importance,
                 const std::map<std::string, int64_t>& units);

// Writes fixed mask values into a network built from a spec whose masks they
// are: every masked site's buffer, checked against the spec (sites, shapes,
// kept counts, digest).
Status apply_mask(Network& net, const spec::MaskValues& values);
// The fixed mask values a network holds (its masked sites' buffers).
spec::MaskValues mask_values(Network& net);

}  // namespace deepreduce::nn
