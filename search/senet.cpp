// strategy: senet — learned linearization with per-layer budgets, in the
// manner of SENet (Kundu et al., ICLR 2023): every ReLU layer keeps the same
// share of its ReLUs (the budget over all of them), so each budget is met
// exactly from the first epoch, and which units of a layer keep theirs is
// decided again before every epoch: those where the student's input differs
// most from the teacher's output at the same site (|teacher - student|).
// Each budget's mask phase starts from the trained baseline, distilled from
// it; once its mask is stored, a fine-tuning trains under it, as with SNL.
// (A simplification of SENet, which also learns the per-layer shares; here
// they are uniform. search/mask_planner.cpp plans the trials.)
#include "search/mask_planner.h"

namespace deepreduce::search {
namespace {

Result<nlohmann::json> read(const ConfigReader& r, const YAML::Node& sr, SweepConfig& c) {
  MaskedOptions o;
  o.method = spec::LinearizeMethod::kSenet;
  o.chain = false;
  o.mask_epochs = 20;
  DR_RETURN_IF_ERROR(read_masked_options(r, sr, c, o));
  return to_json(o);
}

}  // namespace

StrategyDef senet_strategy_def() {
  StrategyDef d;
  d.name = "senet";
  d.method = "SENet-style linearization";
  d.presentation = masked_presentation({d.method, "#8c564b", "filled-diamond"});
  d.summary = "per-layer budgets: each ReLU layer keeps the same share, its units chosen by |teacher - student| "
              "before every epoch; each budget fine-tuned under its mask";
  d.keys = masked_keys();
  d.read = read;
  d.load = load_masked;
  d.make = make_masked;
  d.warnings = masked_warnings;
  return d;
}

}  // namespace deepreduce::search
