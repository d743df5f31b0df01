// strategy: linearize — learned ReLU linearization as SNL does it (Cho et
// al., ICML 2022): which individual ReLUs stay is learned, not which stages.
//
// For each ReLU budget a mask phase trains a learnable mask α per pixel (or
// channel) of every ReLU site, from the trained all-ReLU baseline and
// distilled from it, with an L1 penalty on α that grows until at most the
// budget's ReLUs keep α above the threshold; then the mask is binarised and
// cut to the budget exactly. As in SNL's scripts, every budget's mask phase
// starts from the trained baseline (`start: baseline`). `start:
// previous_budget` is deepreduce's own variant: each smaller budget's phase
// starts from the next larger one's weights and α, a chain of trial
// dependencies distributed like KD teachers. Once a mask exists, a
// fine-tuning trains the network under it (its spec names the mask by its
// kept counts and digest, so its id is what it is). With train.seeds every
// seed has its own phases from its own baseline. (search/mask_planner.cpp
// plans the trials.)
#include "search/mask_planner.h"

namespace deepreduce::search {
namespace {

Result<nlohmann::json> read(const ConfigReader& r, const YAML::Node& sr, SweepConfig& c) {
  MaskedOptions o;
  o.method = spec::LinearizeMethod::kSnl;
  o.chain = false;
  if (sr["start"]) {
    auto parse = [](const std::string& text) -> Result<bool> {
      if (text == "baseline") return false;
      if (text == "previous_budget") return true;
      return Status::invalid_argument(text);
    };
    DR_RETURN_IF_ERROR(r.choice(sr["start"], "search.start",
                                "baseline (SNL: every budget's mask phase from the trained baseline) or previous_budget "
                                "(each from the next larger budget's)",
                                parse, o.chain));
  }
  DR_RETURN_IF_ERROR(read_masked_options(r, sr, c, o));
  return to_json(o);
}

}  // namespace

StrategyDef linearize_strategy_def() {
  StrategyDef d;
  d.name = "linearize";
  d.method = "learned linearization";
  d.presentation = masked_presentation({d.method, "#9467bd", "filled-diamond"});
  d.summary = "SNL: per-pixel (or per-channel) ReLU masks learned under a growing L1 penalty, every budget from the "
              "trained baseline (or from the next larger budget's: start: previous_budget), each fine-tuned under its mask";
  d.keys = masked_keys();
  for (const char* k : {"start", "lambda", "lambda_growth", "patience", "threshold", "alpha_lr"}) d.keys.push_back(k);
  d.read = read;
  d.load = load_masked;
  d.make = make_masked;
  d.warnings = masked_warnings;
  return d;
}

}  // namespace deepreduce::search
