// strategy: senet — SENet (Kundu et al., ICLR 2023): per-layer ReLU budgets
// from a measured sensitivity. For each budget a mask phase starts from the
// trained baseline, distilled from it: it measures each ReLU site's
// sensitivity, gives each site a share of its units in proportion to it
// (the shares meeting the budget), trains under a random mask of those
// shares for an epoch and then, after every epoch, keeps each site's units
// where the student's post-mask output differs most from the teacher's
// post-ReLU output, summed over the epoch (train/methods/senet.cpp). α is
// set, not trained; the phase trains with SGD as SENet's stage 1 does. A
// fine-tuning then trains under the mask with logit KD and attention
// transfer on the post-ReLU maps (SENet's stage 2).
//
// strategy: senet_uniform — the ablation deepreduce shipped first: every
// site keeps the same share, its units chosen before every epoch by
// |teacher - student| on 8 batches; Adam; the fine-tuning distils logits only.
// (search/mask_planner.cpp plans the trials of both.)
#include "search/mask_planner.h"

#include <fmt/format.h>

namespace deepreduce::search {
namespace {

Result<nlohmann::json> read_senet(const ConfigReader& r, const YAML::Node& sr, SweepConfig& c) {
  MaskedOptions o;
  o.method = spec::LinearizeMethod::kSenet;
  o.chain = false;
  o.mask_epochs = 20;
  o.mask_optimizer = spec::OptimizerKind::kSgd;
  o.mask_lr = 0.05;
  o.finetune_lr = 0.01;
  o.at_weight = 1000;
  DR_RETURN_IF_ERROR(read_masked_options(r, sr, c, o));
  if (sr["at_weight"]) {
    DR_RETURN_IF_ERROR(r.scalar(sr["at_weight"], "search.at_weight", "a number > 0", o.at_weight));
    if (!(o.at_weight > 0 && o.at_weight <= 1e9))
      return r.error(sr["at_weight"], "search.at_weight",
                     fmt::format("expected a number > 0: SENet's fine-tuning distils the activation maps (strategy "
                                 "senet_uniform is the ablation without), got {:g}",
                                 o.at_weight));
  }
  return to_json(o);
}

Result<nlohmann::json> read_uniform(const ConfigReader& r, const YAML::Node& sr, SweepConfig& c) {
  MaskedOptions o;
  o.method = spec::LinearizeMethod::kSenetUniform;
  o.chain = false;
  o.mask_epochs = 20;
  DR_RETURN_IF_ERROR(read_masked_options(r, sr, c, o));
  return to_json(o);
}

}  // namespace

StrategyDef senet_strategy_def() {
  StrategyDef d;
  d.name = "senet";
  d.method = "SENet";
  d.presentation = masked_presentation({d.method, "#8c564b", "filled-diamond"});
  d.summary = "SENet: per-layer ReLU budgets from a measured sensitivity, each layer's units chosen by |teacher - "
              "student| summed over every epoch (SGD); each budget fine-tuned under its mask with KD and attention "
              "transfer";
  d.keys = masked_keys();
  d.keys.push_back("at_weight");
  d.read = read_senet;
  d.load = load_masked;
  d.make = make_masked;
  d.warnings = masked_warnings;
  return d;
}

StrategyDef senet_uniform_strategy_def() {
  StrategyDef d;
  d.name = "senet_uniform";
  d.method = "SENet-style linearization";
  d.presentation = masked_presentation({d.method, "#e377c2", "filled-diamond"});
  d.summary = "SENet-style linearization, an ablation of SENet: every ReLU layer keeps the same share, its units chosen by |teacher - student| "
              "before every epoch (Adam); each budget fine-tuned under its mask with KD";
  d.keys = masked_keys();
  d.read = read_uniform;
  d.load = load_masked;
  d.make = make_masked;
  d.warnings = masked_warnings;
  return d;
}

}  // namespace deepreduce::search
