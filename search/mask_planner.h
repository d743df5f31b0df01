// What the learned-linearization strategies share (search/linearize.cpp,
// search/senet.cpp): for each seed and ReLU budget, a mask phase that finds
// which ReLUs stay, then a fine-tuning under the mask it stored. A strategy of
// this kind is its options and their reader; MaskedStrategy plans the trials.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "search/registry.h"

namespace deepreduce::search {

struct MaskedOptions {
  spec::LinearizeMethod method = spec::LinearizeMethod::kSnl;  // train.linearize.method of the mask phases
  // Each mask phase starts from the next larger budget's (search.start:
  // previous_budget, deepreduce's variant); else every one starts from the
  // trained baseline (SNL's scripts do this).
  bool chain = false;
  spec::MaskGranularity granularity = spec::MaskGranularity::kPixel;
  std::vector<int64_t> budgets;  // descending
  double lambda = 1e-5;          // snl: the initial L1 weight
  double lambda_growth = 1.1;
  int64_t patience = 5;
  double threshold = 0.01;
  int64_t mask_epochs = 500;     // snl: the mask phase's cap; senet: its epochs
  double mask_lr = 1e-3;         // Adam
  double alpha_lr = 0;           // snl: 0 is mask_lr
  int64_t finetune_epochs = 100;
  double finetune_lr = 1e-3;     // SGD, momentum 0.9, weight decay 5e-4, cosine
  // The mask phase's optimizer: Adam at mask_lr, constant, no weight decay
  // (SNL's), or SGD at mask_lr, momentum 0.9, weight decay 5e-4, cosine
  // (SENet's stage 1).
  spec::OptimizerKind mask_optimizer = spec::OptimizerKind::kAdam;
  // > 0: the fine-tuning distils activation maps beside the logits
  // (train.kd.at_weight; SENet's stage 2).
  double at_weight = 0;
};
nlohmann::json to_json(const MaskedOptions& o);
Result<MaskedOptions> masked_options_from_json(const nlohmann::json& j);

// The keys every strategy of this kind reads (the method-specific ones aside).
std::vector<std::string> masked_keys();
// Reads them from a search entry; each checked where it is written.
Status read_masked_options(const ConfigReader& r, const YAML::Node& search, const SweepConfig& config,
                           MaskedOptions& o);

// The presentation of a strategy of this kind: one series in `style`, and
// its options' budgets as rows of the report's per-budget table.
Presentation masked_presentation(SeriesStyle style);

std::unique_ptr<Strategy> masked_strategy(const SweepConfig& config, MaskedOptions options);
// StrategyDef::load and ::make of every strategy of this kind: its stored
// options checked, and masked_strategy() over them.
Status load_masked(const nlohmann::json& options, SweepConfig& config);
// StrategyDef::warnings of every strategy of this kind.
std::vector<std::string> masked_warnings(const nlohmann::json& options);
Result<std::unique_ptr<Strategy>> make_masked(const SweepConfig& config, const nlohmann::json& options);

}  // namespace deepreduce::search
