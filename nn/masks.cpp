#include "nn/masks.h"

#include <algorithm>
#include <map>
#include <numeric>

namespace deepreduce::nn {
namespace {

std::vector<ReluGate> gates(Network& net) {
  std::vector<ReluGate> out;
  for (const auto& m : net->modules(/*include_self=*/false))
    if (auto g = std::dynamic_pointer_cast<ReluGateImpl>(m)) out.push_back(ReluGate(g));
  return out;
}

int64_t per_unit(const ReluGateImpl& g) {
  return relus_per_unit(g.granularity(), g.shape()[1], g.shape()[2]);
}

}  // namespace

std::vector<ReluGate> learnable_gates(Network& net) {
  std::vector<ReluGate> out;
  for (auto& g : gates(net))
    if (g->alpha().defined()) out.push_back(g);
  return out;
}

torch::Tensor alpha_l1(Network& net) {
  torch::Tensor sum;
  for (auto& g : learnable_gates(net)) {
    torch::Tensor s = g->alpha().abs().sum();
    sum = sum.defined() ? sum + s : s;
  }
  return sum.defined() ? sum : torch::zeros({});
}

int64_t alive_relus(Network& net, double threshold) {
  torch::NoGradGuard no_grad;
  int64_t n = 0;
  for (auto& g : learnable_gates(net)) n += g->alpha().gt(threshold).sum().item<int64_t>() * per_unit(*g);
  return n;
}

spec::MaskValues binarize(Network& net, double threshold, int64_t budget, spec::MaskOutcome* outcome) {
  torch::NoGradGuard no_grad;
  spec::MaskValues m;
  struct Unit {
    float alpha;
    size_t site;
    int64_t index;
  };
  std::vector<Unit> alive;
  std::vector<int64_t> costs;
  float dropped_max = 0;  // the largest α at or below the threshold
  for (auto& g : learnable_gates(net)) {
    m.granularity = g->granularity();
    spec::SiteMask s;
    s.site = g->name();
    s.channels = g->shape()[0];
    s.height = g->shape()[1];
    s.width = g->shape()[2];
    const torch::Tensor a = g->alpha().detach().to(torch::kCPU, torch::kFloat).contiguous().flatten();
    const float* v = a.data_ptr<float>();
    s.keep.assign(static_cast<size_t>(a.numel()), 0);
    for (int64_t i = 0; i < a.numel(); ++i) {
      if (v[i] > threshold)
        alive.push_back({v[i], m.sites.size(), i});
      else
        dropped_max = std::max(dropped_max, v[i]);
    }
    costs.push_back(per_unit(*g));
    m.sites.push_back(std::move(s));
  }
  // Largest α first; ties in forward order, so the cut is deterministic.
  std::stable_sort(alive.begin(), alive.end(), [](const Unit& a, const Unit& b) { return a.alpha > b.alpha; });
  int64_t used = 0, alive_relus = 0, kept_units = 0;
  double kept_sum = 0;
  float kept_min = 1;
  for (const Unit& u : alive) {
    alive_relus += costs[u.site];
    if (used + costs[u.site] > budget) {
      dropped_max = std::max(dropped_max, u.alpha);
      continue;
    }
    used += costs[u.site];
    m.sites[u.site].keep[static_cast<size_t>(u.index)] = 1;
    ++kept_units;
    kept_sum += u.alpha;
    kept_min = std::min(kept_min, u.alpha);
  }
  if (outcome) {
    outcome->alive = alive_relus;
    outcome->cut = alive_relus - used;
    outcome->kept_alpha_min = kept_units ? kept_min : 0;
    outcome->kept_alpha_mean = kept_units ? kept_sum / static_cast<double>(kept_units) : 0;
    outcome->dropped_alpha_max = dropped_max;
  }
  return m;
}

Result<std::map<std::string, int64_t>> site_units(Network& net, const std::map<std::string, double>& shares,
                                                  int64_t budget) {
  auto gates = learnable_gates(net);
  int64_t all = 0;
  for (auto& g : gates) all += g->alpha().numel() * per_unit(*g);
  if (all == 0) return Status::invalid_argument("per-layer budgets: the network has no learnable mask");
  // Each site's quota in units, rounded down; what rounding left goes to the
  // sites with the largest remainders, one unit each, while it fits.
  std::vector<int64_t> units(gates.size());
  std::vector<std::pair<double, size_t>> remainders;
  int64_t used = 0;
  for (size_t i = 0; i < gates.size(); ++i) {
    double share = static_cast<double>(std::min(budget, all)) / static_cast<double>(all);
    if (!shares.empty()) {
      auto it = shares.find(gates[i]->name());
      if (it == shares.end()) return Status::internal("per-layer budgets: no share for site " + gates[i]->name());
      share = std::clamp(it->second, 0.0, 1.0);
    }
    const double quota = share * static_cast<double>(gates[i]->alpha().numel());
    units[i] = std::min(gates[i]->alpha().numel(), static_cast<int64_t>(quota));
    used += units[i] * per_unit(*gates[i]);
    remainders.push_back({quota - static_cast<double>(units[i]), i});
  }
  std::stable_sort(remainders.begin(), remainders.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (const auto& [rest, i] : remainders) {
    if (rest <= 0 || used + per_unit(*gates[i]) > budget || units[i] >= gates[i]->alpha().numel()) continue;
    ++units[i];
    used += per_unit(*gates[i]);
  }
  std::map<std::string, int64_t> out;
  for (size_t i = 0; i < gates.size(); ++i) out[gates[i]->name()] = units[i];
  return out;
}

Status set_top_k(Network& net, const std::map<std::string, torch::Tensor>& importance,
                 const std::map<std::string, int64_t>& units) {
  torch::NoGradGuard no_grad;
  for (auto& g : learnable_gates(net)) {
    auto it = importance.find(g->name());
    if (it == importance.end()) return Status::internal("per-layer budgets: no importance for site " + g->name());
    auto kept = units.find(g->name());
    if (kept == units.end()) return Status::internal("per-layer budgets: no unit count for site " + g->name());
    const torch::Tensor score = it->second.detach().to(torch::kCPU, torch::kFloat).contiguous().flatten();
    if (score.numel() != g->alpha().numel())
      return Status::internal("per-layer budgets: site " + g->name() + " has " + std::to_string(score.numel()) +
                              " scores for " + std::to_string(g->alpha().numel()) + " units");
    torch::Tensor keep = torch::zeros({score.numel()});
    if (kept->second > 0) {
      // Largest first; ties to the lower index (stable), so the choice is deterministic.
      const torch::Tensor order = std::get<1>(score.sort(/*stable=*/true, /*dim=*/0, /*descending=*/true));
      keep.index_fill_(0, order.slice(0, 0, kept->second), 1.0);
    }
    g->alpha().copy_(keep.view(g->alpha().sizes()).to(g->alpha().device(), g->alpha().scalar_type()));
  }
  return Status();
}

Status set_top_k(Network& net, const std::map<std::string, torch::Tensor>& importance, int64_t budget) {
  auto units = site_units(net, {}, budget);
  if (!units.ok()) return units.status();
  return set_top_k(net, importance, *units);
}

Status apply_mask(Network& net, const spec::MaskValues& values) {
  const spec::ModelSpec& spec = net->spec();
  if (!spec.masks || spec.masks->learnable)
    return Status::invalid_argument("mask: the network's spec has no fixed mask to hold these values");
  if (values.granularity != spec.masks->granularity)
    return Status::invalid_argument(std::string("mask: values per ") + granularity_name(values.granularity) +
                                    ", the spec's per " + granularity_name(spec.masks->granularity));
  if (mask_digest(values) != spec.masks->digest)
    return Status::corruption("mask: its values' digest is not the one the spec names (" + spec.masks->digest.substr(0, 12) + ")");
  std::map<std::string, const spec::SiteMask*> by_site;
  for (const auto& s : values.sites) by_site[s.site] = &s;
  torch::NoGradGuard no_grad;
  for (auto& g : gates(net)) {
    if (!g->mask().defined()) continue;
    auto it = by_site.find(g->name());
    if (it == by_site.end()) return Status::invalid_argument("mask: no values for site " + g->name());
    const spec::SiteMask& s = *it->second;
    if (s.channels != g->shape()[0] || s.height != g->shape()[1] || s.width != g->shape()[2])
      return Status::invalid_argument("mask: site " + g->name() + " has another shape in the values");
    std::vector<float> f(s.keep.begin(), s.keep.end());
    torch::Tensor t = torch::tensor(f).view(g->mask().sizes());
    g->mutable_mask().copy_(t.to(g->mask().device()));
  }
  return Status();
}

spec::MaskValues mask_values(Network& net) {
  torch::NoGradGuard no_grad;
  spec::MaskValues m;
  for (auto& g : gates(net)) {
    if (!g->mask().defined()) continue;
    m.granularity = g->granularity();
    spec::SiteMask s;
    s.site = g->name();
    s.channels = g->shape()[0];
    s.height = g->shape()[1];
    s.width = g->shape()[2];
    const torch::Tensor t = g->mask().detach().to(torch::kCPU, torch::kFloat).contiguous().flatten();
    const float* v = t.data_ptr<float>();
    for (int64_t i = 0; i < t.numel(); ++i) s.keep.push_back(v[i] > 0.5f ? 1 : 0);
    m.sites.push_back(std::move(s));
  }
  return m;
}

}  // namespace deepreduce::nn
