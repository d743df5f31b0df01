#include "spec/prune.h"

#include <algorithm>

#include "spec/counts.h"

namespace deepreduce::spec {

Result<PruneScope> parse_prune_scope(const std::string& name) {
  if (name == "coupled") return PruneScope::kCoupled;
  if (name == "inner") return PruneScope::kInner;
  return Status::invalid_argument("pruning scope: expected coupled or inner, got \"" + name + "\"");
}

const char* prune_scope_name(PruneScope scope) { return scope == PruneScope::kCoupled ? "coupled" : "inner"; }

Result<PruneCriterion> parse_criterion(const std::string& name) {
  if (name == "l1") return PruneCriterion::kL1;
  if (name == "fpgm") return PruneCriterion::kFpgm;
  return Status::invalid_argument("pruning criterion: expected l1 or fpgm, got \"" + name + "\"");
}

const char* criterion_name(PruneCriterion criterion) { return criterion == PruneCriterion::kL1 ? "l1" : "fpgm"; }

Result<ModelSpec> prune_rate(const ModelSpec& spec, double rate, PruneScope scope) {
  DR_RETURN_IF_ERROR(validate(spec));
  if (!(rate >= 0 && rate < 1))
    return Status::invalid_argument("pruning rate: expected a number in [0, 1), got " + std::to_string(rate));
  ModelSpec out = spec;
  // Every channel group that has a key: blocks' (inner) always, residual
  // stages' (coupled) with that scope. Rates compose with an earlier pruning:
  // they apply to the current width.
  const ResolvedArch arch = resolve_unchecked(spec);
  for (const auto& g : arch.groups) {
    if (g.key.empty()) continue;
    const bool stage = std::any_of(arch.stages.begin(), arch.stages.end(), [&](const auto& st) { return st.name == g.key; });
    if (stage && scope != PruneScope::kCoupled) continue;
    const int64_t kept = scale_width(g.width, 1.0 - rate);
    if (kept < g.full) out.widths[g.key] = kept;
  }
  return out;
}

Result<PrunedShape> prune_to_macs(const ModelSpec& spec, double fraction, PruneScope scope) {
  auto full = count(spec);
  if (!full.ok()) return full.status();
  if (!(fraction > 0 && fraction < 1))
    return Status::invalid_argument("MACs target: expected a fraction of the baseline in (0, 1), got " +
                                    std::to_string(fraction));
  const double target = fraction * static_cast<double>(full->macs);
  auto macs_at = [&](double rate) { return count(*prune_rate(spec, rate, scope))->macs; };
  const double max_rate = 1.0 - 1e-9;
  if (static_cast<double>(macs_at(max_rate)) > target)
    return Status::invalid_argument(
        "MACs target " + std::to_string(fraction) + " is out of reach by channel pruning: one channel per block still " +
        "costs " + std::to_string(static_cast<double>(macs_at(max_rate)) / static_cast<double>(full->macs)) +
        " of the baseline's MACs" +
        (scope == PruneScope::kInner ? " (the stem, shortcuts and block outputs are not pruned)" : ""));
  // MACs fall monotonically with the rate: bisect for the smallest rate that meets the target.
  double lo = 0, hi = max_rate;
  for (int i = 0; i < 60; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (static_cast<double>(macs_at(mid)) <= target) hi = mid; else lo = mid;
  }
  return PrunedShape{*prune_rate(spec, hi, scope), hi};
}

}  // namespace deepreduce::spec
