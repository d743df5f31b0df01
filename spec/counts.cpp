#include "spec/counts.h"

namespace deepreduce::spec {
namespace {

// Walks the resolved layers in forward order, accumulating counts. This reads
// the block descriptions, not the LibTorch builder: the two are tested against
// each other (tests/nn/measured_counts_test.cpp).
Counts walk(const ModelSpec& spec) {
  const ResolvedArch arch = resolve_unchecked(spec);
  Counts c;
  for (const ResolvedBlock* b : all_blocks(arch))
    for (int k : b->order) {
      const ResolvedLayer& l = b->layers[k];
      switch (l.kind) {
        case LayerKind::kConv: {
          const int64_t per_output = (l.in_channels / l.groups) * l.kernel * l.kernel;
          c.macs += l.out_channels * l.out_size * l.out_size * per_output;
          c.params += l.out_channels * per_output;
          break;
        }
        case LayerKind::kBatchNorm:
          c.params += 2 * l.out_channels;
          break;
        case LayerKind::kRelu:
          c.sites.push_back({l.site, b->stage, l.in_channels, l.in_size, l.in_size, spec.relu_off.count(l.site) == 0});
          if (spec.masks && !spec.masks->learnable)
            if (auto it = spec.masks->kept.find(l.site); it != spec.masks->kept.end())
              c.sites.back().kept = it->second * relus_per_unit(spec.masks->granularity, l.in_size, l.in_size);
          break;
        case LayerKind::kAdd:
        case LayerKind::kZeroPad:
          break;
      }
    }
  const int64_t cin = arch.out_channels;
  // Global average pooling, then the classifier.
  c.macs += cin * spec.classes;
  c.params += cin * spec.classes + spec.classes;

  for (const auto& name : stage_names(*arch.def)) c.stages.push_back({name});
  for (const auto& s : c.sites) {
    for (auto& sc : c.stages) {
      if (sc.stage != s.stage) continue;
      sc.relus_all += s.full();
      sc.sites += 1;
      if (s.active) {
        sc.relus += s.relus();
        sc.sites_active += 1;
      }
    }
    if (s.active) c.relus += s.relus();
  }
  return c;
}

}  // namespace

Result<std::vector<ReluSite>> relu_sites(const ModelSpec& spec) {
  DR_RETURN_IF_ERROR(validate(spec));
  return walk(spec).sites;
}

Result<Counts> count(const ModelSpec& spec) {
  DR_RETURN_IF_ERROR(validate(spec));
  return walk(spec);
}

int64_t relu_layers(const Counts& c) {
  int64_t n = 0;
  for (const auto& s : c.sites) n += s.active && s.relus() > 0;
  return n;
}

}  // namespace deepreduce::spec
