#include "nn/prune_weights.h"

#include <map>
#include <vector>

namespace deepreduce::nn {

torch::Tensor filter_importance(const torch::Tensor& weight, spec::PruneCriterion criterion) {
  torch::NoGradGuard no_grad;
  const torch::Tensor w = weight.detach().to(torch::kCPU, torch::kDouble).flatten(1);
  if (criterion == spec::PruneCriterion::kL1) return w.abs().sum(1);
  // FPGM: the filter nearest the geometric median has the smallest total
  // distance to the others; it is the most replaceable (He et al., Eq. 6).
  // Direct distances (compute mode 2), not the matrix-product shortcut: equal
  // filters must tie exactly for the ranking to be deterministic.
  return torch::cdist(w.unsqueeze(0), w.unsqueeze(0), 2.0, 2).squeeze(0).sum(1);
}

namespace {

// Which slices of which tensors a pruned block keeps: (tensor name, dim) -> indices.
using Slices = std::map<std::string, std::vector<std::pair<int64_t, torch::Tensor>>>;

torch::Tensor kept_by_score(const torch::Tensor& score, int64_t keep) {
  // The highest scores; ties to the lower index, so the choice is deterministic.
  std::vector<int64_t> order(score.size(0));
  for (int64_t i = 0; i < score.size(0); ++i) order[i] = i;
  auto acc = score.accessor<double, 1>();
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return acc[a] > acc[b]; });
  order.resize(keep);
  std::sort(order.begin(), order.end());
  return torch::tensor(order, torch::kLong);
}

}  // namespace

Result<Network> prune_network(Network& source, const spec::ModelSpec& target, spec::PruneCriterion criterion) {
  DR_RETURN_IF_ERROR(validate(target));
  spec::ModelSpec unpruned = target, src_spec = source->spec();
  unpruned.widths.clear();
  src_spec.widths.clear();
  if (unpruned != src_spec)
    return Status::invalid_argument("pruning: the pruned spec must be the source's network with narrower blocks");
  const spec::ResolvedArch src = resolve_unchecked(source->spec()), dst = resolve_unchecked(target);
  auto params = source->named_parameters(true);
  auto buffers = source->named_buffers(true);
  auto tensor = [&](const std::string& name) -> torch::Tensor {
    if (auto* p = params.find(name)) return *p;
    if (auto* b = buffers.find(name)) return *b;
    return {};
  };

  // Every channel group that narrows: one choice of channels, ranked by the
  // summed importance of every filter that writes them (a block's inner conv;
  // for a residual stage every block's output conv, its shortcut and, where
  // the first shortcut is an identity, the stem), and every layer that
  // touches them keeps those: writers' filters, depthwise filters, BN
  // statistics, readers' input channels, the classifier's columns.
  Slices slices;
  const std::vector<std::string> kBn = {".weight", ".bias", ".running_mean", ".running_var"};
  for (size_t g = 0; g < dst.groups.size(); ++g) {
    const int gi = static_cast<int>(g);
    const int64_t have = src.groups[g].width, keep = dst.groups[g].width;
    if (keep == have) continue;
    const std::string& key = dst.groups[g].key;
    if (keep > have)
      return Status::invalid_argument("pruning: " + key + " has " + std::to_string(have) +
                                      " channels in the source, cannot grow to " + std::to_string(keep));
    torch::Tensor score;
    for (const spec::ResolvedBlock* b : all_blocks(src))
      for (const auto& l : b->layers)
        if (l.kind == spec::LayerKind::kConv && !l.depthwise && l.group_out == gi) {
          const torch::Tensor w = tensor(l.path + ".weight");
          if (!w.defined()) return Status::internal("pruning: the source has no tensor " + l.path + ".weight");
          const torch::Tensor s = filter_importance(w, criterion);
          score = score.defined() ? score + s : s;
        }
    if (!score.defined()) return Status::internal("pruning: nothing writes the channels of " + key);
    const torch::Tensor kept = kept_by_score(score, keep);
    for (const spec::ResolvedBlock* b : all_blocks(src))
      for (const auto& l : b->layers) {
        if (l.kind == spec::LayerKind::kConv) {
          if (l.group_out == gi) slices[l.path + ".weight"].push_back({0, kept});  // filters (depthwise: its channels)
          if (!l.depthwise && l.group_in == gi) slices[l.path + ".weight"].push_back({1, kept});
        } else if (l.kind == spec::LayerKind::kBatchNorm && l.group_out == gi) {
          for (const auto& suffix : kBn) slices[l.path + suffix].push_back({0, kept});
        }
      }
    if (gi == src.classifier_group) slices["fc.weight"].push_back({1, kept});
  }

  auto built = build_model(target);
  if (!built.ok()) return built.status();
  Network net = *built;
  net->to(source->parameters().front().device());
  torch::NoGradGuard no_grad;
  auto copy_into = [&](const std::string& name, torch::Tensor& dst) -> Status {
    torch::Tensor src = tensor(name);
    if (!src.defined()) return Status::internal("pruning: the source has no tensor " + name);
    if (auto it = slices.find(name); it != slices.end())
      for (const auto& [dim, idx] : it->second) src = src.index_select(dim, idx.to(src.device()));
    if (src.sizes() != dst.sizes())
      return Status::internal("pruning: " + name + " has shape " + std::to_string(src.numel()) +
                              " elements after slicing, the pruned network expects " + std::to_string(dst.numel()));
    dst.copy_(src);
    return Status();
  };
  for (auto& p : net->named_parameters(true)) DR_RETURN_IF_ERROR(copy_into(p.key(), p.value()));
  for (auto& b : net->named_buffers(true)) DR_RETURN_IF_ERROR(copy_into(b.key(), b.value()));
  return net;
}

}  // namespace deepreduce::nn
