#include "spec/relu_plan.h"
#include <fmt/format.h>

#include <algorithm>

#include "common/format.h"
#include "spec/counts.h"

namespace deepreduce::spec {
namespace {

std::string join(const std::vector<std::string>& xs, const char* sep) { return fmt::format("{}", fmt::join(xs, sep)); }

Status check_stage(const ArchDef& def, const std::string& stage) {
  auto names = stage_names(def);
  if (std::find(names.begin(), names.end(), stage) == names.end())
    return Status::invalid_argument("unknown stage \"" + stage + "\" for " + def.name +
                                    "; stages are " + join(names, ", "));
  return Status();
}

// The first two sites of the spec's network, to show how sites are named.
std::vector<std::string> example_sites(const ModelSpec& spec) {
  std::vector<std::string> names = site_names(resolve_unchecked(spec));
  if (names.size() > 2) names.resize(2);
  return names;
}

}  // namespace

Result<std::set<std::string>> active_sites(const ModelSpec& spec) {
  auto sites = relu_sites(spec);
  if (!sites.ok()) return sites.status();
  std::set<std::string> active;
  for (const auto& s : *sites)
    if (s.active) active.insert(s.name);
  return active;
}

ModelSpec all_relus(ModelSpec spec) {
  spec.relu_off.clear();
  return spec;
}

Result<ModelSpec> no_relus(ModelSpec spec) {
  spec.relu_off.clear();
  DR_RETURN_IF_ERROR(validate(spec));
  for (const auto& n : site_names(resolve_unchecked(spec))) spec.relu_off.insert(n);
  return spec;
}

Result<ModelSpec> cull(ModelSpec spec, const std::vector<std::string>& stages) {
  auto sites = relu_sites(spec);
  if (!sites.ok()) return sites.status();
  const ArchDef& def = *resolve_unchecked(spec).def;
  for (const auto& stage : stages) {
    DR_RETURN_IF_ERROR(check_stage(def, stage).with_context("cull"));
    for (const auto& s : *sites)
      if (s.stage == stage) spec.relu_off.insert(s.name);
  }
  return spec;
}

Result<ThinPosition> parse_thin_position(const std::string& name) {
  if (name == "second") return ThinPosition::kSecond;
  if (name == "first") return ThinPosition::kFirst;
  return Status::invalid_argument("thin position: expected first or second, got \"" + name + "\"");
}

Result<ModelSpec> thin(ModelSpec spec, const std::vector<std::string>& stages, ThinPosition position) {
  DR_RETURN_IF_ERROR(validate(spec));
  const ResolvedArch arch = resolve_unchecked(spec);
  const ArchDef& def = *arch.def;
  for (const auto& stage : stages) {
    DR_RETURN_IF_ERROR(check_stage(def, stage).with_context("thin"));
    if (stage == "stem") {
      std::vector<std::string> thinnable = stage_names(def);
      thinnable.erase(thinnable.begin());
      return Status::invalid_argument(
          "thin: the stem has a single ReLU; it can be culled, not thinned (thin takes " +
          join(thinnable, ", ") + ")");
    }
    for (const auto& b : arch.blocks)
      if (b.stage == stage && !b.sites.empty())
        spec.relu_off.insert(position == ThinPosition::kSecond ? b.sites.back() : b.sites.front());
  }
  return spec;
}

Result<ModelSpec> only(ModelSpec spec, const std::string& stage) {
  spec.relu_off.clear();
  auto sites = relu_sites(spec);
  if (!sites.ok()) return sites.status();
  DR_RETURN_IF_ERROR(check_stage(*resolve_unchecked(spec).def, stage).with_context("only"));
  for (const auto& s : *sites)
    if (s.stage != stage) spec.relu_off.insert(s.name);
  return spec;
}

Result<ModelSpec> keep_sites(ModelSpec spec, const std::vector<std::string>& keep) {
  spec.relu_off.clear();
  auto sites = relu_sites(spec);
  if (!sites.ok()) return sites.status();
  std::set<std::string> wanted(keep.begin(), keep.end());
  for (const auto& s : *sites) {
    if (wanted.erase(s.name) == 0) spec.relu_off.insert(s.name);
  }
  if (!wanted.empty())
    return Status::invalid_argument("relu sites: \"" + *wanted.begin() + "\" is not a ReLU site of this " +
                                    spec.arch + " (sites are named like " + join(example_sites(spec), ", ") + ")");
  return spec;
}

std::string plan_summary(const ModelSpec& spec) {
  if (spec.masks) {
    // "learnable pixel mask", or "pixel mask 2,144" (the ReLUs it keeps), after the rest of the plan.
    ModelSpec unmasked = spec;
    unmasked.masks.reset();
    const std::string plan = plan_summary(unmasked);
    std::string mask = std::string(granularity_name(spec.masks->granularity)) + " mask";
    if (spec.masks->learnable) {
      mask = "learnable " + mask;
    } else if (auto c = count(spec); c.ok()) {
      mask += " " + with_commas(c->relus);
    }
    return (plan == "all" ? "" : plan + " ") + mask;
  }
  if (!spec.widths.empty()) {
    ModelSpec unpruned = spec;
    unpruned.widths.clear();
    const std::string plan = plan_summary(unpruned);
    size_t blocks = 0;
    for (const auto& [name, width] : spec.widths) blocks += name.find('.') != std::string::npos;
    const size_t stages = spec.widths.size() - blocks;
    return (plan == "all" ? "" : plan + " ") + "pruned " + std::to_string(blocks) + " blocks" +
           (stages ? ", " + std::to_string(stages) + " stage" + (stages > 1 ? "s" : "") : "");
  }
  auto counts = count(spec);
  if (!counts.ok()) return "invalid";
  const Counts& c = *counts;
  if (spec.relu_off.empty()) return "all";
  if (c.relus == 0) return "none";
  const ResolvedArch arch = resolve_unchecked(spec);
  std::vector<std::string> culled, thinned, thinned_first, other;
  for (const auto& sc : c.stages) {
    if (sc.sites_active == sc.sites) continue;
    if (sc.sites_active == 0) {
      culled.push_back(sc.stage);
      continue;
    }
    // Thinned: exactly the second (or the first) site of every block is off.
    bool second_off = true, first_off = true;
    for (const auto& b : arch.blocks) {
      if (b.stage != sc.stage) continue;
      if (b.sites.size() < 2) continue;
      const bool first = spec.relu_off.count(b.sites.front()) == 0, second = spec.relu_off.count(b.sites.back()) == 0;
      if (!(first && !second)) second_off = false;
      if (!(!first && second)) first_off = false;
    }
    if (second_off) {
      thinned.push_back(sc.stage);
    } else if (first_off) {
      thinned_first.push_back(sc.stage);
    } else {
      other.push_back(sc.stage + ":" + std::to_string(sc.sites_active) + "/" +
                      std::to_string(sc.sites));
    }
  }
  std::vector<std::string> parts;
  if (!culled.empty()) parts.push_back("cull " + join(culled, ","));
  if (!thinned.empty()) parts.push_back("thin " + join(thinned, ","));
  if (!thinned_first.empty()) parts.push_back("thin-first " + join(thinned_first, ","));
  if (!other.empty()) parts.push_back(join(other, " "));
  return join(parts, " ");
}

}  // namespace deepreduce::spec
