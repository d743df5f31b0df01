#include "spec/model_spec.h"

#include <cmath>
#include <utility>
#include <sstream>

namespace deepreduce::nn {
namespace {

std::string join(const std::vector<std::string>& xs, const char* sep = ", ") {
  std::string out;
  for (size_t i = 0; i < xs.size(); ++i) {
    if (i) out += sep;
    out += xs[i];
  }
  return out;
}

std::string fmt_double(double x) {
  std::ostringstream os;
  os << x;
  return os.str();
}

}  // namespace

const std::vector<ArchDef>& arch_registry() {
  // The paper's tables as data. CIFAR-style: a 3x3 stem conv, no max-pool.
  static const std::vector<ArchDef> kRegistry = {
      {"resnet18", "ResNet18 [2,2,2,2], widths 64-128-256-512, projection shortcuts",
       BlockKind::kBasic, Shortcut::kProjection, 64,
       {{64, 2, 1}, {128, 2, 2}, {256, 2, 2}, {512, 2, 2}}},
      {"resnet34", "ResNet34 [3,4,6,3], widths 64-128-256-512, projection shortcuts",
       BlockKind::kBasic, Shortcut::kProjection, 64,
       {{64, 3, 1}, {128, 4, 2}, {256, 6, 2}, {512, 3, 2}}},
      {"resnet56", "CIFAR ResNet-56 [9,9,9], widths 16-32-64, zero-padding shortcuts (option A)",
       BlockKind::kBasic, Shortcut::kZeroPad, 16, {{16, 9, 1}, {32, 9, 2}, {64, 9, 2}}},
      // MobileNetV1's 13 depthwise-separable blocks, grouped by output resolution:
      // (64,1) | (128,2),(128,1) | (256,2),(256,1) | (512,2),(512,1)x5 | (1024,2),(1024,1).
      {"mobilenetv1", "MobileNetV1, 13 depthwise-separable blocks, stem width 32",
       BlockKind::kDepthwiseSeparable, Shortcut::kNone, 32,
       {{64, 1, 1}, {128, 2, 2}, {256, 2, 2}, {512, 6, 2}, {1024, 2, 2}}},
  };
  return kRegistry;
}

std::vector<std::string> arch_names() {
  std::vector<std::string> names;
  for (const auto& a : arch_registry()) names.push_back(a.name);
  return names;
}

Result<const ArchDef*> find_arch(const std::string& name) {
  for (const auto& a : arch_registry())
    if (a.name == name) return &a;
  return Status::not_found("unknown arch \"" + name + "\"; known: " + join(arch_names()));
}

std::vector<std::string> stage_names(const ArchDef& def) {
  std::vector<std::string> names = {"stem"};
  for (size_t i = 0; i < def.stages.size(); ++i) names.push_back("s" + std::to_string(i + 1));
  return names;
}

int64_t scale_width(int64_t width, double alpha) {
  // A small epsilon so that 64 * 0.3 = 19.2 -> 19 but 10 * 0.7 = 6.999.. -> 7.
  auto w = static_cast<int64_t>(static_cast<double>(width) * alpha + 1e-9);
  return w < 1 ? 1 : w;
}

bool ModelSpec::operator==(const ModelSpec& o) const {
  return arch == o.arch && classes == o.classes && in_channels == o.in_channels &&
         input_size == o.input_size && alpha == o.alpha && rho == o.rho && blocks == o.blocks &&
         relu_off == o.relu_off && widths == o.widths;
}

namespace {

// rho = 2^-k for k in 0..5 (a stem stride of 1 to 32), or 0 if it is not.
int64_t stem_stride_for(double rho) {
  for (int64_t k = 0, s = 1; k <= 5; ++k, s *= 2)
    if (std::fabs(rho * static_cast<double>(s) - 1.0) < 1e-9) return s;
  return 0;
}

}  // namespace

Status validate(const ModelSpec& spec) {
  auto arch = find_arch(spec.arch);
  if (!arch.ok()) return Status::invalid_argument("arch: " + arch.status().message());
  const ArchDef& def = **arch;
  if (spec.classes < 2)
    return Status::invalid_argument("classes: expected an integer >= 2, got " +
                                    std::to_string(spec.classes));
  if (spec.in_channels < 1)
    return Status::invalid_argument("in_channels: expected an integer >= 1, got " +
                                    std::to_string(spec.in_channels));
  if (!(spec.alpha > 0.0 && spec.alpha <= 4.0))
    return Status::invalid_argument("alpha: expected a width multiplier in (0, 4], got " +
                                    fmt_double(spec.alpha));
  const int64_t stem_stride = stem_stride_for(spec.rho);
  if (stem_stride == 0)
    return Status::invalid_argument(
        "rho: expected a power of 1/2 (1, 0.5, 0.25, 0.125, 0.0625, 0.03125), got " +
        fmt_double(spec.rho));
  if (!spec.blocks.empty()) {
    if (spec.blocks.size() != def.stages.size()) {
      std::ostringstream os;
      os << "blocks: " << def.name << " has " << def.stages.size()
         << " stages, so expected " << def.stages.size() << " block counts (default ";
      for (size_t i = 0; i < def.stages.size(); ++i) os << (i ? "," : "") << def.stages[i].blocks;
      os << "), got " << spec.blocks.size();
      return Status::invalid_argument(os.str());
    }
    for (size_t i = 0; i < spec.blocks.size(); ++i)
      if (spec.blocks[i] < 1 || spec.blocks[i] > 64)
        return Status::invalid_argument("blocks: stage s" + std::to_string(i + 1) +
                                        ": expected 1..64 blocks, got " +
                                        std::to_string(spec.blocks[i]));
  }
  // Every stride-2 layer must see at least 2x2 pixels, so the input must be at
  // least the product of all strides.
  int64_t total_stride = stem_stride;
  for (const auto& st : def.stages) total_stride *= st.stride;
  if (spec.input_size < total_stride)
    return Status::invalid_argument(
        "input_size: " + std::to_string(spec.input_size) + " is too small for " + def.name +
        " at rho " + fmt_double(spec.rho) + ": its strides downsample by " +
        std::to_string(total_stride) + ", so the input must be at least " +
        std::to_string(total_stride) + "x" + std::to_string(total_stride));
  if (spec.input_size > 4096)
    return Status::invalid_argument("input_size: expected at most 4096, got " +
                                    std::to_string(spec.input_size));
  if (!spec.widths.empty()) {
    const ResolvedArch r = resolve_unchecked(spec);
    for (const auto& [block, width] : spec.widths) {
      int64_t full = 0;
      for (const auto& blk : r.blocks)
        if (block == blk.name) full = blk.full;
      for (const auto& st : r.stages)
        if (block == st.name) {
          if (def.block != BlockKind::kBasic)
            return Status::invalid_argument("widths: " + block + ": " + def.name +
                                            " has no residual stages to prune as a whole; its blocks' pointwise "
                                            "outputs are pruned by block (s2.b0)");
          full = st.width;
        }
      if (full == 0)
        return Status::invalid_argument("widths: \"" + block + "\" is not a block or stage of this " + def.name +
                                        " (blocks are named like s1.b0, s2.b1; stages s1, s2)");
      if (width < 1 || width > full)
        return Status::invalid_argument("widths: " + block + ": expected 1.." + std::to_string(full) +
                                        " channels (its unpruned width), got " + std::to_string(width));
    }
    // A zero-padding shortcut only widens: each stage keeps at least the channels of the one before.
    if (def.shortcut == Shortcut::kZeroPad)
      for (size_t i = 1; i < r.stages.size(); ++i)
        if (r.stages[i].out < r.stages[i - 1].out)
          return Status::invalid_argument("widths: " + r.stages[i].name + ": " + std::to_string(r.stages[i].out) +
                                          " channels, fewer than " + r.stages[i - 1].name + "'s " +
                                          std::to_string(r.stages[i - 1].out) + ": " + def.name +
                                          "'s zero-padding shortcuts cannot narrow");
  }
  if (!spec.relu_off.empty()) {
    auto names = site_names(resolve_unchecked(spec));
    std::set<std::string> known(names.begin(), names.end());
    for (const auto& s : spec.relu_off)
      if (!known.count(s))
        return Status::invalid_argument(
            "relu plan: \"" + s + "\" is not a ReLU site of this " + def.name +
            " (sites are named like " + names.front() + ", " + names[1] + ", " + names[2] +
            " ... " + names.back() + ")");
  }
  return Status();
}

ResolvedArch resolve_unchecked(const ModelSpec& spec) {
  const ArchDef* def = *find_arch(spec.arch);
  // Output size of a conv with kernel k, padding (k-1)/2 and stride s; also
  // of a stride-s subsampling x[..., ::s, ::s].
  auto out_size = [](int64_t in, int64_t stride) { return (in - 1) / stride + 1; };
  ResolvedArch r{def, scale_width(def->stem_width, spec.alpha), stem_stride_for(spec.rho), 0, {}, {}, 0};
  r.stem_size = out_size(spec.input_size, r.stem_stride);
  for (size_t i = 0; i < def->stages.size(); ++i) {
    const auto& st = def->stages[i];
    ResolvedStage rs{"s" + std::to_string(i + 1), scale_width(st.width, spec.alpha),
                     spec.blocks.empty() ? st.blocks : spec.blocks[i], st.stride};
    // A stage's pruned outputs (residual networks only; validate() refuses the rest).
    rs.out = def->block == BlockKind::kBasic ? inner_width(spec, rs.name, rs.width) : rs.width;
    r.stages.push_back(rs);
  }
  // The stem feeds s1's identity shortcut: its outputs are s1's channels.
  if (def->block == BlockKind::kBasic && !r.stages.empty() && r.stages[0].stride == 1 &&
      r.stem_width == r.stages[0].width)
    r.stem_width = r.stages[0].out;
  auto [a, b] = block_site_suffixes(def->block);
  int64_t cin = r.stem_width, hw = r.stem_size;
  for (const auto& st : r.stages)
    for (int64_t j = 0; j < st.blocks; ++j) {
      ResolvedBlock blk;
      blk.name = st.name + ".b" + std::to_string(j);
      blk.module = st.name + "_b" + std::to_string(j);
      blk.stage = st.name;
      blk.index = j;
      blk.in = cin;
      blk.full = st.width;
      blk.stride = j == 0 ? st.stride : 1;
      blk.in_size = hw;
      blk.out_size = out_size(hw, blk.stride);
      const int64_t pruned = inner_width(spec, blk.name, st.width);
      if (def->block == BlockKind::kBasic) {
        blk.inner = pruned;
        blk.out = st.out;
        blk.projection = (blk.stride != 1 || cin != blk.out) && def->shortcut == Shortcut::kProjection;
      } else {
        blk.inner = cin;    // depthwise: one filter per input channel
        blk.out = pruned;   // a pruned pointwise conv narrows what the next block sees
        blk.projection = false;
      }
      blk.site1 = blk.name + "." + a;
      blk.site2 = blk.name + "." + b;
      cin = blk.out;
      hw = blk.out_size;
      r.blocks.push_back(std::move(blk));
    }
  r.out_channels = cin;
  return r;
}

std::pair<const char*, const char*> block_site_suffixes(BlockKind kind) {
  return kind == BlockKind::kBasic ? std::pair{"relu1", "relu2"} : std::pair{"dw", "pw"};
}

std::vector<std::string> site_names(const ResolvedArch& arch) {
  std::vector<std::string> names = {"stem"};
  for (const auto& blk : arch.blocks) {
    names.push_back(blk.site1);
    names.push_back(blk.site2);
  }
  return names;
}

std::vector<std::string> block_names(const ResolvedArch& arch) {
  std::vector<std::string> names;
  for (const auto& blk : arch.blocks) names.push_back(blk.name);
  return names;
}

int64_t inner_width(const ModelSpec& spec, const std::string& block, int64_t full) {
  auto it = spec.widths.find(block);
  return it == spec.widths.end() ? full : it->second;
}

Result<ResolvedArch> resolve(const ModelSpec& spec) {
  DR_RETURN_IF_ERROR(validate(spec));
  return resolve_unchecked(spec);
}

}  // namespace deepreduce::nn
