// ReLU plans: which ReLU sites of a network are active.
//
// Each helper takes a spec and returns it with its plan changed, so helpers
// compose: thin(cull(baseline, {"stem", "s1"}), {"s2"}). Stage names are
// "stem", "s1", ... "sN"; an unknown one is an error that lists the valid ones.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "spec/model_spec.h"

namespace deepreduce::spec {

// The active sites of a valid spec (every site not in relu_off).
Result<std::set<std::string>> active_sites(const ModelSpec& spec);

// Every ReLU active (the baseline plan).
ModelSpec all_relus(ModelSpec spec);
// Every ReLU an identity (the "no ReLUs" network of the criticality study).
Result<ModelSpec> no_relus(ModelSpec spec);
// Culling (paper Sec. 3.2): every site of the given stages off, the rest unchanged.
Result<ModelSpec> cull(ModelSpec spec, const std::vector<std::string>& stages);
// Thinning (paper Sec. 3.3): in each block of the given stages, one of the
// block's two ReLUs off, halving the stage's ReLUs. Which one:
//   second (the default, as the paper's figures): the ReLU after the residual
//          add (basic blocks) or after the pointwise conv (MobileNet);
//   first: the ReLU inside the block, after its first conv (depthwise conv).
// The paper's code offers both. The stem has a single ReLU: it can be culled,
// not thinned.
enum class ThinPosition { kFirst, kSecond };
Result<ThinPosition> parse_thin_position(const std::string& name);  // "first" | "second"
Result<ModelSpec> thin(ModelSpec spec, const std::vector<std::string>& stages,
                       ThinPosition position = ThinPosition::kSecond);
// ReLUs only in `stage` (criticality profiling, paper Sec. 3.1).
Result<ModelSpec> only(ModelSpec spec, const std::string& stage);
// Exactly the listed sites active.
Result<ModelSpec> keep_sites(ModelSpec spec, const std::vector<std::string>& sites);

// A short human summary of the plan: "all", "none", or e.g. "cull stem,s1 thin s3"
// ("thin-first s3" when the first ReLUs are the ones off), with "s2:3/4" for a
// stage with 3 of its 4 sites active in another pattern.
std::string plan_summary(const ModelSpec& spec);

}  // namespace deepreduce::spec
