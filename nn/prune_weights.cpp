#include "nn/prune_weights.h"

#include <map>
#include <vector>

namespace deepreduce::nn {

torch::Tensor filter_importance(const torch::Tensor& weight, PruneCriterion criterion) {
  torch::NoGradGuard no_grad;
  const torch::Tensor w = weight.detach().to(torch::kCPU, torch::kDouble).flatten(1);
  if (criterion == PruneCriterion::kL1) return w.abs().sum(1);
  // FPGM: the filter nearest the geometric median has the smallest total
  // distance to the others; it is the most replaceable (He et al., Eq. 6).
  // Direct distances (compute mode 2), not the matrix-product shortcut: equal
  // filters must tie exactly for the ranking to be deterministic.
  return torch::cdist(w.unsqueeze(0), w.unsqueeze(0), 2.0, 2).squeeze(0).sum(1);
}

namespace {

// Which slices of which tensors a pruned block keeps: (tensor name, dim) -> indices.
using Slices = std::map<std::string, std::vector<std::pair<int64_t, torch::Tensor>>>;

torch::Tensor kept_by_score(const torch::Tensor& score, int64_t keep);

torch::Tensor kept_filters(const torch::Tensor& weight, int64_t keep, PruneCriterion criterion) {
  return kept_by_score(filter_importance(weight, criterion), keep);
}

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

Result<Network> prune_network(Network& source, const ModelSpec& target, PruneCriterion criterion) {
  DR_RETURN_IF_ERROR(validate(target));
  ModelSpec unpruned = target, src_spec = source->spec();
  unpruned.widths.clear();
  src_spec.widths.clear();
  if (unpruned != src_spec)
    return Status::invalid_argument("pruning: the pruned spec must be the source's network with narrower blocks");
  const ResolvedArch arch = resolve_unchecked(target);
  auto params = source->named_parameters(true);
  auto buffers = source->named_buffers(true);
  auto tensor = [&](const std::string& name) -> torch::Tensor {
    if (auto* p = params.find(name)) return *p;
    if (auto* b = buffers.find(name)) return *b;
    return {};
  };

  Slices slices;
  for (size_t i = 0; i < arch.blocks.size(); ++i) {
    const ResolvedBlock& block = arch.blocks[i];
    const int64_t src_width = inner_width(source->spec(), block.name, block.full);
    const int64_t keep = inner_width(target, block.name, block.full);
    if (keep == src_width) continue;
    if (keep > src_width)
      return Status::invalid_argument("pruning: block " + block.name + " has " + std::to_string(src_width) +
                                      " channels in the source, cannot grow to " + std::to_string(keep));
    const std::string& m = block.module;
    const bool basic = arch.def->block == BlockKind::kBasic;
    const std::string conv = m + (basic ? ".conv1" : ".pw_conv"), bn = m + (basic ? ".bn1" : ".pw_bn");
    const torch::Tensor kept = kept_filters(tensor(conv + ".weight"), keep, criterion);
    slices[conv + ".weight"].push_back({0, kept});
    for (const char* s : {".weight", ".bias", ".running_mean", ".running_var"}) slices[bn + s].push_back({0, kept});
    if (basic) {
      slices[m + ".conv2.weight"].push_back({1, kept});
    } else if (i + 1 < arch.blocks.size()) {
      // The next block sees only the kept channels: its depthwise filters and
      // BN go with them, and its pointwise conv loses those inputs.
      const std::string& n = arch.blocks[i + 1].module;
      slices[n + ".dw_conv.weight"].push_back({0, kept});
      for (const char* s : {".weight", ".bias", ".running_mean", ".running_var"})
        slices[n + ".dw_bn" + s].push_back({0, kept});
      slices[n + ".pw_conv.weight"].push_back({1, kept});
    } else {
      slices["fc.weight"].push_back({1, kept});
    }
  }

  // Coupled stages: one choice of channels for every block output of the
  // stage, its shortcut and (s1) the stem, ranked by the summed importance of
  // every filter that writes them; every layer that reads them loses the rest.
  if (arch.def->block == BlockKind::kBasic) {
    const ResolvedArch src_arch = resolve_unchecked(source->spec());
    const std::vector<std::string> kBn = {".weight", ".bias", ".running_mean", ".running_var"};
    for (size_t k = 0; k < arch.stages.size(); ++k) {
      const ResolvedStage& st = arch.stages[k];
      const int64_t src_out = src_arch.stages[k].out, keep = st.out;
      if (keep == src_out) continue;
      if (keep > src_out)
        return Status::invalid_argument("pruning: stage " + st.name + " has " + std::to_string(src_out) +
                                        " channels in the source, cannot grow to " + std::to_string(keep));
      const bool stem = k == 0 && arch.stem_width == st.out;  // the stem writes s1's channels
      std::vector<std::pair<std::string, std::string>> writers;  // (conv, bn)
      if (stem) writers.push_back({"stem_conv", "stem_bn"});
      for (const auto& b : arch.blocks)
        if (b.stage == st.name) {
          writers.push_back({b.module + ".conv2", b.module + ".bn2"});
          if (b.projection) writers.push_back({b.module + ".proj_conv", b.module + ".proj_bn"});
        }
      torch::Tensor score;
      for (const auto& [conv, bn] : writers) {
        const torch::Tensor w = tensor(conv + ".weight");
        if (!w.defined()) return Status::internal("pruning: the source has no tensor " + conv + ".weight");
        const torch::Tensor s = filter_importance(w, criterion);
        score = score.defined() ? score + s : s;
      }
      const torch::Tensor kept = kept_by_score(score, keep);
      for (const auto& [conv, bn] : writers) {
        slices[conv + ".weight"].push_back({0, kept});
        for (const auto& suffix : kBn) slices[bn + suffix].push_back({0, kept});
      }
      for (size_t i = 0; i < arch.blocks.size(); ++i) {
        const bool reads = i == 0 ? stem : arch.blocks[i - 1].stage == st.name;
        if (!reads) continue;
        slices[arch.blocks[i].module + ".conv1.weight"].push_back({1, kept});
        if (arch.blocks[i].projection) slices[arch.blocks[i].module + ".proj_conv.weight"].push_back({1, kept});
      }
      if (k + 1 == arch.stages.size()) slices["fc.weight"].push_back({1, kept});
    }
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
