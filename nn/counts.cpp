#include "nn/counts.h"

namespace deepreduce::nn {
namespace {

// Output size of a conv with kernel k, padding (k-1)/2 and stride s; also of a
// stride-s subsampling x[..., ::s, ::s].
int64_t out_size(int64_t in, int64_t stride) { return (in - 1) / stride + 1; }

// Walks the network in forward order, accumulating counts. This mirrors the
// architecture tables, not the LibTorch builder: the two are tested against
// each other.
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

  int64_t hw = out_size(spec.input_size, arch.stem_stride);
  conv(spec.in_channels, arch.stem_width, 3, 1, hw);
  bn(arch.stem_width);
  site("stem", "stem", arch.stem_width, hw);

  int64_t cin = arch.stem_width;
  auto [a, b] = block_site_suffixes(arch.def->block);
  for (const auto& st : arch.stages) {
    for (int64_t j = 0; j < st.blocks; ++j) {
      const int64_t stride = j == 0 ? st.stride : 1;
      const std::string block = st.name + ".b" + std::to_string(j);
      const std::string prefix = block + ".";
      const int64_t ho = out_size(hw, stride);
      int64_t cout = st.width;
      if (arch.def->block == BlockKind::kBasic) {
        const int64_t inner = inner_width(spec, block, st.width);
        conv(cin, inner, 3, 1, ho);
        bn(inner);
        site(prefix + a, st.name, inner, ho);
        conv(inner, cout, 3, 1, ho);
        bn(cout);
        if ((stride != 1 || cin != cout) && arch.def->shortcut == Shortcut::kProjection) {
          conv(cin, cout, 1, 1, ho);
          bn(cout);
        }
        site(prefix + b, st.name, cout, ho);
      } else {
        cout = inner_width(spec, block, st.width);  // pruned pointwise outputs
        conv(cin, cin, 3, cin, ho);  // depthwise
        bn(cin);
        site(prefix + a, st.name, cin, ho);
        conv(cin, cout, 1, 1, ho);  // pointwise
        bn(cout);
        site(prefix + b, st.name, cout, ho);
      }
      cin = cout;
      hw = ho;
    }
  }
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
