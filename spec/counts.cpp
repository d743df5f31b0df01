#include "spec/counts.h"

namespace deepreduce::nn {
namespace {

// Walks the resolved blocks in forward order, accumulating counts. This
// mirrors the architecture tables, not the LibTorch builder: the two are
// tested against each other.
Counts walk(const ModelSpec& spec) {
  const ResolvedArch arch = resolve_unchecked(spec);
  Counts c;
  auto site = [&](const std::string& name, const std::string& stage, int64_t ch, int64_t hw) {
    ReluSite s{name, stage, ch, hw, hw, spec.relu_off.count(name) == 0};
    c.sites.push_back(s);
  };
  auto conv = [&](int64_t cin, int64_t cout, int64_t k, int64_t groups, int64_t hw_out) {
    c.macs += cout * hw_out * hw_out * (cin / groups) * k * k;
    c.params += cout * (cin / groups) * k * k;
  };
  auto bn = [&](int64_t ch) { c.params += 2 * ch; };

  conv(spec.in_channels, arch.stem_width, 3, 1, arch.stem_size);
  bn(arch.stem_width);
  site("stem", "stem", arch.stem_width, arch.stem_size);

  for (const auto& b : arch.blocks) {
    const int64_t ho = b.out_size;
    if (arch.def->block == BlockKind::kBasic) {
      conv(b.in, b.inner, 3, 1, ho);
      bn(b.inner);
      site(b.site1, b.stage, b.inner, ho);
      conv(b.inner, b.out, 3, 1, ho);
      bn(b.out);
      if (b.projection) {
        conv(b.in, b.out, 1, 1, ho);
        bn(b.out);
      }
    } else {
      conv(b.in, b.in, 3, b.in, ho);  // depthwise
      bn(b.in);
      site(b.site1, b.stage, b.inner, ho);
      conv(b.in, b.out, 1, 1, ho);  // pointwise
      bn(b.out);
    }
    site(b.site2, b.stage, b.out, ho);
  }
  const int64_t cin = arch.out_channels;
  // Global average pooling, then the classifier.
  c.macs += cin * spec.classes;
  c.params += cin * spec.classes + spec.classes;

  for (const auto& name : stage_names(*arch.def)) c.stages.push_back({name});
  for (const auto& s : c.sites) {
    for (auto& sc : c.stages) {
      if (sc.stage != s.stage) continue;
      sc.relus_all += s.relus();
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
  for (const auto& s : c.sites) n += s.active;
  return n;
}

}  // namespace deepreduce::nn
