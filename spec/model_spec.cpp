#include "spec/model_spec.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <mutex>
#include <numeric>
#include <utility>

namespace deepreduce::spec {
namespace {

std::string fmt_double(double x) { return fmt::format("{}", x); }

// Zagoruyko & Komodakis's CIFAR Wide ResNet: a 3x3 stem conv to 16 channels
// (no BN, no ReLU), three pre-activation stages of (depth-4)/6 blocks of
// widths 16k, 32k, 64k (stride 2 into the second and third), a final BN-ReLU.
ArchDef wide_resnet(int64_t depth, int64_t k) {
  const int64_t n = (depth - 4) / 6;
  return {fmt::format("wrn{}-{}", depth, k),
          fmt::format("Wide ResNet {}-{} [{},{},{}], widths {}-{}-{}, pre-activation blocks", depth, k, n, n, n,
                      16 * k, 32 * k, 64 * k),
          &preact_block(),
          Shortcut::kProjection,
          16,
          {{16 * k, n, 1}, {32 * k, n, 2}, {64 * k, n, 2}},
          /*stem_bn_relu=*/false,
          /*head_bn_relu=*/true};
}

// "wrnD-K" with D = 6n + 4 >= 10 and 1 <= K <= 64, else nullopt.
std::optional<std::pair<int64_t, int64_t>> parse_wide_resnet(const std::string& name) {
  if (name.rfind("wrn", 0) != 0) return std::nullopt;
  const size_t dash = name.find('-', 3);
  if (dash == std::string::npos || dash == 3 || dash + 1 == name.size() || name.size() > 12) return std::nullopt;
  for (size_t i = 3; i < name.size(); ++i)
    if (i != dash && !std::isdigit(static_cast<unsigned char>(name[i]))) return std::nullopt;
  const int64_t depth = std::stoll(name.substr(3, dash - 3)), k = std::stoll(name.substr(dash + 1));
  if (depth < 10 || (depth - 4) % 6 != 0 || depth > 400 || k < 1 || k > 64) return std::nullopt;
  return std::make_pair(depth, k);
}

}  // namespace

const std::vector<ArchDef>& arch_registry() {
  // The paper's tables as data. CIFAR-style: a 3x3 stem conv, no max-pool.
  static const std::vector<ArchDef> kRegistry = {
      {"resnet18", "ResNet18 [2,2,2,2], widths 64-128-256-512, projection shortcuts", &basic_block(),
       Shortcut::kProjection, 64, {{64, 2, 1}, {128, 2, 2}, {256, 2, 2}, {512, 2, 2}}},
      {"resnet34", "ResNet34 [3,4,6,3], widths 64-128-256-512, projection shortcuts", &basic_block(),
       Shortcut::kProjection, 64, {{64, 3, 1}, {128, 4, 2}, {256, 6, 2}, {512, 3, 2}}},
      {"resnet56", "CIFAR ResNet-56 [9,9,9], widths 16-32-64, zero-padding shortcuts (option A)", &basic_block(),
       Shortcut::kZeroPad, 16, {{16, 9, 1}, {32, 9, 2}, {64, 9, 2}}},
      // MobileNetV1's 13 depthwise-separable blocks, grouped by output resolution:
      // (64,1) | (128,2),(128,1) | (256,2),(256,1) | (512,2),(512,1)x5 | (1024,2),(1024,1).
      {"mobilenetv1", "MobileNetV1, 13 depthwise-separable blocks, stem width 32", &depthwise_separable_block(),
       Shortcut::kNone, 32, {{64, 1, 1}, {128, 2, 2}, {256, 2, 2}, {512, 6, 2}, {1024, 2, 2}}},
      // The backbone of SNL's and SENet's points above 100K ReLUs on CIFAR-100.
      wide_resnet(22, 8),
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
  if (auto wrn = parse_wide_resnet(name)) {
    // Other depths and widths of Wide ResNets, made once and kept (stable pointers).
    static std::mutex mu;
    static std::map<std::string, std::unique_ptr<ArchDef>> made;
    std::lock_guard<std::mutex> lock(mu);
    auto& def = made[name];
    if (!def) def = std::make_unique<ArchDef>(wide_resnet(wrn->first, wrn->second));
    return def.get();
  }
  return Status::not_found(fmt::format("unknown arch \"{}\"; known: {} (and any Wide ResNet wrnD-K, D = 6n+4)",
                                       name, fmt::join(arch_names(), ", ")));
}

std::vector<std::string> stage_names(const ArchDef& def) {
  std::vector<std::string> names;
  if (def.stem_bn_relu) names.push_back("stem");
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
         relu_off == o.relu_off && widths == o.widths && masks == o.masks;
}

namespace {

// rho = 2^-k for k in 0..5 (a stem stride of 1 to 32), or 0 if it is not.
int64_t stem_stride_for(double rho) {
  for (int64_t k = 0, s = 1; k <= 5; ++k, s *= 2)
    if (std::fabs(rho * static_cast<double>(s) - 1.0) < 1e-9) return s;
  return 0;
}

// Output size of a conv with kernel k, padding (k-1)/2 and stride s; also of
// a stride-s subsampling x[..., ::s, ::s].
int64_t out_size(int64_t in, int64_t stride) { return (in - 1) / stride + 1; }

ResolvedLayer make_layer(LayerKind kind, const std::string& name, const std::string& path,
                         const std::string& site = "") {
  ResolvedLayer l;
  l.kind = kind;
  l.name = name;
  l.path = path;
  l.site = site;
  return l;
}

// Builds the resolved network: the layers of the stem, of every block (from
// its kind's description) and of the head, their channel groups (joined where
// a residual add requires), then every shape from the groups' widths.
class Resolver {
 public:
  explicit Resolver(const ModelSpec& spec) : spec_(spec), def_(*find_arch(spec.arch)) {}

  ResolvedArch run() {
    ResolvedArch r;
    r.def = def_;
    r.stem_stride = stem_stride_for(spec_.rho);
    r.stem_size = out_size(spec_.input_size, r.stem_stride);

    // The stem: conv (+ BN and the "stem" site), top-level modules.
    const int stem_group = new_group("", scale_width(def_->stem_width, spec_.alpha));
    r.stem.name = "stem";
    r.stem.stage = "stem";
    r.stem.in_size = spec_.input_size;
    r.stem.stride = r.stem_stride;
    {
      ResolvedLayer conv = make_layer(LayerKind::kConv, "stem_conv", "stem_conv");
      conv.inputs = {-1};
      conv.kernel = 3;
      conv.stride = r.stem_stride;
      conv.group_in = -1;
      conv.group_out = stem_group;
      r.stem.layers.push_back(conv);
      if (def_->stem_bn_relu) {
        ResolvedLayer bn = make_layer(LayerKind::kBatchNorm, "stem_bn", "stem_bn");
        bn.inputs = {0};
        ResolvedLayer relu = make_layer(LayerKind::kRelu, "stem_relu", "stem_relu", "stem");
        relu.inputs = {1};
        r.stem.layers.push_back(bn);
        r.stem.layers.push_back(relu);
      }
      r.stem.output = static_cast<int>(r.stem.layers.size()) - 1;
    }
    int current = stem_group;

    const BlockKindDef& kind = *def_->block;
    for (size_t i = 0; i < def_->stages.size(); ++i) {
      const StageDef& sd = def_->stages[i];
      ResolvedStage st{"s" + std::to_string(i + 1), scale_width(sd.width, spec_.alpha),
                       spec_.blocks.empty() ? sd.blocks : spec_.blocks[i], sd.stride};
      const int stage_group = kind.residual() ? new_group(st.name, st.width) : -1;
      stage_group_.push_back(stage_group);
      for (int64_t j = 0; j < st.blocks; ++j) {
        ResolvedBlock b;
        b.name = block_name(st.name, j);
        b.module = module_name(b.name);
        b.stage = st.name;
        b.index = j;
        b.stride = j == 0 ? st.stride : 1;
        b.full = st.width;
        // Whether the shape changes is a fact of the unpruned network: pruning
        // never adds or removes a shortcut.
        const bool reshaped = b.stride != 1 || protos_[find(current)].full != st.width;
        const int in = current;
        // What widths[block] narrows is keyed by the block's name; a residual
        // kind's output is its stage's.
        const int inner = uses_inner(kind) ? new_group(kind.pruned == Channels::kInner ? b.name : "", st.width) : -1;
        const int out =
            kind.residual() ? stage_group : new_group(kind.pruned == Channels::kOut ? b.name : "", st.width);
        instantiate(kind, reshaped, {in, inner, out}, b);
        inner_group_.push_back(inner);
        current = b.output < 0 ? in : value_group(b, b.output);
        blocks_.push_back(std::move(b));
      }
      r.stages.push_back(st);
    }

    // The head: BN and the "head" site before the pool (pre-activation networks).
    r.head.name = "head";
    r.head.stage = r.stages.empty() ? "stem" : r.stages.back().name;
    if (def_->head_bn_relu) {
      ResolvedLayer bn = make_layer(LayerKind::kBatchNorm, "head_bn", "head_bn");
      bn.inputs = {-1};
      ResolvedLayer relu = make_layer(LayerKind::kRelu, "head_relu", "head_relu", "head");
      relu.inputs = {0};
      r.head.layers = {bn, relu};
      r.head.output = 1;
    }

    // Groups joined by the adds, numbered in order of first appearance.
    std::map<int, int> number;
    for (size_t g = 0; g < protos_.size(); ++g) {
      const int root = find(static_cast<int>(g));
      if (!number.count(root)) {
        number[root] = static_cast<int>(r.groups.size());
        r.groups.push_back({"", protos_[root].full, 0});
      }
      auto& group = r.groups[number[root]];
      if (group.key.empty()) group.key = protos_[g].key;
    }
    for (auto& g : r.groups) g.width = g.key.empty() ? g.full : inner_width(spec_, g.key, g.full);
    auto group_of = [&](int g) { return g < 0 ? -1 : number[find(g)]; };
    auto width_of = [&](int g) { return g < 0 ? spec_.in_channels : r.groups[g].width; };

    // Shapes: every layer's channels from its groups, sizes from its inputs.
    std::vector<ResolvedBlock*> walk = {&r.stem};
    for (auto& b : blocks_) walk.push_back(&b);
    walk.push_back(&r.head);
    int64_t size = spec_.input_size;
    int last = group_of(stem_group);
    for (ResolvedBlock* b : walk) {
      if (b == &r.head) {
        for (auto& l : b->layers) l.group_in = l.group_out = last;
      }
      b->in_size = size;
      std::vector<int64_t> sizes(b->layers.size());
      b->order = run_order(*b);
      for (int k : b->order) {
        auto& l = b->layers[k];
        l.group_in = l.inputs[0] < 0 ? (b == &r.stem ? -1 : last) : b->layers[l.inputs[0]].group_out;
        if (l.kind == LayerKind::kConv || l.kind == LayerKind::kZeroPad) {
          l.group_out = group_of(l.group_out);
        } else {
          l.group_out = l.group_in;
        }
        l.in_size = l.inputs[0] < 0 ? size : sizes[l.inputs[0]];
        l.out_size = l.stride > 1 ? out_size(l.in_size, l.stride) : l.in_size;
        sizes[k] = l.out_size;
        l.in_channels = width_of(l.group_in);
        l.out_channels = width_of(l.group_out);
        if (l.depthwise) l.groups = l.in_channels;
        if (l.kind == LayerKind::kRelu) b->sites.push_back(l.site);
      }
      b->out_size = b->output < 0 ? size : sizes[b->output];
      b->out = b->output < 0 ? width_of(last) : b->layers[b->output].out_channels;
      b->in = b == &r.stem ? spec_.in_channels : width_of(last);
      if (b->output >= 0) last = b->layers[b->output].group_out;
      size = b->out_size;
    }
    for (size_t i = 0; i < blocks_.size(); ++i)
      blocks_[i].inner = inner_group_[i] < 0 ? blocks_[i].in : r.groups[group_of(inner_group_[i])].width;
    for (size_t i = 0; i < r.stages.size(); ++i)
      r.stages[i].out = stage_group_[i] < 0 ? r.stages[i].width : r.groups[group_of(stage_group_[i])].width;
    r.stem_width = r.stem.out;
    r.blocks = std::move(blocks_);
    r.out_channels = r.groups[last].width;
    r.classifier_group = last;
    return r;
  }

 private:
  struct Proto {
    std::string key;
    int64_t full;
  };
  int new_group(const std::string& key, int64_t full) {
    protos_.push_back({key, full});
    parent_.push_back(static_cast<int>(parent_.size()));
    return static_cast<int>(protos_.size()) - 1;
  }
  int find(int g) {
    while (parent_[g] != g) g = parent_[g] = parent_[parent_[g]];
    return g;
  }
  void join(int a, int b) {
    a = find(a);
    b = find(b);
    if (a != b) parent_[std::max(a, b)] = std::min(a, b);
  }
  static bool uses_inner(const BlockKindDef& kind) {
    return std::any_of(kind.layers.begin(), kind.layers.end(),
                       [](const LayerDef& l) { return l.kind == LayerKind::kConv && l.writes == Channels::kInner; });
  }
  // The (unjoined) group of the value layer k writes, for the blocks being built.
  int value_group(const ResolvedBlock& b, int k) const { return b.layers[k].group_out; }

  // The kind's layers present in this block, named and wired.
  void instantiate(const BlockKindDef& kind, bool reshaped, std::array<int, 3> sets, ResolvedBlock& b) {
    auto present = [&](Presence p) {
      if (p == Presence::kAlways) return true;
      if (!reshaped) return false;
      return (p == Presence::kProjection && def_->shortcut == Shortcut::kProjection) ||
             (p == Presence::kZeroPad && def_->shortcut == Shortcut::kZeroPad);
    };
    std::map<std::string, int> index;
    std::string shortcut = kind.identity;
    for (const auto& d : kind.layers) {
      if (!present(d.presence)) continue;
      index[d.name] = static_cast<int>(b.layers.size());
      if (d.presence != Presence::kAlways) shortcut = d.name;
      ResolvedLayer l = make_layer(d.kind, d.name, b.module + "." + d.name);
      if (d.kind == LayerKind::kRelu) l.site = site_name(b.name, d.site);
      if (d.kind == LayerKind::kConv) {
        l.kernel = d.kernel;
        l.depthwise = d.depthwise;  // groups = channels, set once channels are known
        b.projection |= d.presence == Presence::kProjection;
      }
      if (d.strided) l.stride = b.stride;
      b.layers.push_back(std::move(l));
    }
    auto value = [&](const std::string& name) {
      const std::string& v = name == "shortcut" ? shortcut : name;
      return v == "in" ? -1 : index.at(v);
    };
    // Wiring, and the (unjoined) group each value belongs to.
    std::vector<int> group(b.layers.size(), -2);
    auto set_of = [&](Channels c) { return sets[static_cast<int>(c)]; };
    std::function<int(int)> group_of_value = [&](int v) -> int {
      if (v < 0) return set_of(Channels::kIn);
      if (group[v] != -2) return group[v];
      const auto& l = b.layers[v];
      const LayerDef& d = *std::find_if(kind.layers.begin(), kind.layers.end(),
                                        [&](const LayerDef& x) { return l.name == x.name; });
      int g;
      if (l.kind == LayerKind::kConv && !d.depthwise) {
        g = set_of(d.writes);
      } else if (l.kind == LayerKind::kZeroPad) {
        g = set_of(d.writes);
      } else {
        g = group_of_value(l.inputs[0]);
        // A residual add joins the groups of its two inputs.
        if (l.kind == LayerKind::kAdd) join(g, group_of_value(l.inputs[1]));
      }
      return group[v] = g;
    };
    for (const auto& d : kind.layers) {
      if (!present(d.presence)) continue;
      auto& l = b.layers[index[d.name]];
      l.inputs = {value(d.input)};
      if (*d.input2) l.inputs.push_back(value(d.input2));
    }
    for (size_t k = 0; k < b.layers.size(); ++k) b.layers[k].group_out = group_of_value(static_cast<int>(k));
    b.output = value(kind.output);
  }

  // Dependencies first; among ready layers, the description's order.
  static std::vector<int> run_order(const ResolvedBlock& b) {
    std::vector<int> order;
    std::vector<bool> done(b.layers.size(), false);
    while (order.size() < b.layers.size()) {
      for (size_t k = 0; k < b.layers.size(); ++k) {
        if (done[k]) continue;
        bool ready = true;
        for (int in : b.layers[k].inputs) ready &= in < 0 || done[in];
        if (!ready) continue;
        done[k] = true;
        order.push_back(static_cast<int>(k));
        break;
      }
    }
    return order;
  }

  const ModelSpec& spec_;
  const ArchDef* def_;
  std::vector<Proto> protos_;
  std::vector<int> parent_;
  std::vector<int> stage_group_;
  std::vector<ResolvedBlock> blocks_;
  std::vector<int> inner_group_;  // per block: its kInner group, -1 for kinds without one
};

}  // namespace

namespace {

// Masks name active sites and keep at most their units; a fixed mask names its values' digest.
Status validate_masks(const ModelSpec& spec) {
  const ReluMasks& m = *spec.masks;
  if (m.learnable) {
    if (!m.kept.empty() || !m.digest.empty())
      return Status::invalid_argument("masks: a learnable mask has no kept counts or digest (those are a fixed mask's)");
    return Status();
  }
  if (m.digest.size() != 64 || m.digest.find_first_not_of("0123456789abcdef") != std::string::npos)
    return Status::invalid_argument("masks.digest: expected the 64 hex digits of the mask's BLAKE2b");
  const ResolvedArch r = resolve_unchecked(spec);
  for (const auto& [site, kept] : m.kept) {
    const ResolvedLayer* layer = nullptr;
    for (const ResolvedBlock* b : all_blocks(r))
      for (const auto& l : b->layers)
        if (l.kind == LayerKind::kRelu && l.site == site) layer = &l;
    if (!layer) return Status::invalid_argument("masks.kept: \"" + site + "\" is not a ReLU site of this " + spec.arch);
    if (spec.relu_off.count(site))
      return Status::invalid_argument("masks.kept: " + site + " is off in the ReLU plan; a mask applies to active sites");
    const int64_t units = mask_units(m.granularity, layer->in_channels, layer->in_size, layer->in_size);
    if (kept < 0 || kept > units)
      return Status::invalid_argument(fmt::format("masks.kept: {}: expected 0..{} {}s, got {}", site, units,
                                                  granularity_name(m.granularity), kept));
  }
  return Status();
}

}  // namespace

Status validate(const ModelSpec& spec) {
  auto arch = find_arch(spec.arch);
  if (!arch.ok()) return Status::invalid_argument("arch: " + arch.status().message());
  const ArchDef& def = **arch;
  if (spec.classes < 2)
    return Status::invalid_argument("classes: expected an integer >= 2, got " + std::to_string(spec.classes));
  if (spec.in_channels < 1)
    return Status::invalid_argument("in_channels: expected an integer >= 1, got " + std::to_string(spec.in_channels));
  if (!(spec.alpha > 0.0 && spec.alpha <= 4.0))
    return Status::invalid_argument("alpha: expected a width multiplier in (0, 4], got " + fmt_double(spec.alpha));
  const int64_t stem_stride = stem_stride_for(spec.rho);
  if (stem_stride == 0)
    return Status::invalid_argument("rho: expected a power of 1/2 (1, 0.5, 0.25, 0.125, 0.0625, 0.03125), got " +
                                    fmt_double(spec.rho));
  if (!spec.blocks.empty()) {
    if (spec.blocks.size() != def.stages.size()) {
      std::vector<int64_t> defaults;
      for (const auto& st : def.stages) defaults.push_back(st.blocks);
      return Status::invalid_argument(fmt::format(
          "blocks: {} has {} stages, so expected {} block counts (default {}), got {}", def.name, def.stages.size(),
          def.stages.size(), fmt::join(defaults, ","), spec.blocks.size()));
    }
    for (size_t i = 0; i < spec.blocks.size(); ++i)
      if (spec.blocks[i] < 1 || spec.blocks[i] > 64)
        return Status::invalid_argument(
            fmt::format("blocks: stage s{}: expected 1..64 blocks, got {}", i + 1, spec.blocks[i]));
  }
  // Every stride-2 layer must see at least 2x2 pixels, so the input must be at
  // least the product of all strides.
  int64_t total_stride = stem_stride;
  for (const auto& st : def.stages) total_stride *= st.stride;
  if (spec.input_size < total_stride)
    return Status::invalid_argument(fmt::format(
        "input_size: {} is too small for {} at rho {}: its strides downsample by {}, so the input must be at least "
        "{}x{}",
        spec.input_size, def.name, fmt_double(spec.rho), total_stride, total_stride, total_stride));
  if (spec.input_size > 4096)
    return Status::invalid_argument("input_size: expected at most 4096, got " + std::to_string(spec.input_size));
  if (!spec.widths.empty()) {
    const ResolvedArch r = resolve_unchecked(spec);
    for (const auto& [key, width] : spec.widths) {
      const ChannelGroup* group = nullptr;
      for (const auto& g : r.groups)
        if (g.key == key) group = &g;
      if (!group) {
        for (const auto& st : r.stages)
          if (key == st.name)
            return Status::invalid_argument("widths: " + key + ": " + def.name +
                                            " has no residual stages to prune as a whole; its blocks' pointwise "
                                            "outputs are pruned by block (s2.b0)");
        return Status::invalid_argument("widths: \"" + key + "\" is not a block or stage of this " + def.name +
                                        " (blocks are named like s1.b0, s2.b1; stages s1, s2)");
      }
      if (width < 1 || width > group->full)
        return Status::invalid_argument(fmt::format("widths: {}: expected 1..{} channels (its unpruned width), got {}",
                                                    key, group->full, width));
    }
    // A zero-padding shortcut only widens: each stage keeps at least the channels of the one before.
    for (const auto& b : r.blocks)
      for (const auto& l : b.layers)
        if (l.kind == LayerKind::kZeroPad && l.out_channels < l.in_channels) {
          const std::string prev = b.stage == "s1" ? "stem" : "s" + std::to_string(std::stoi(b.stage.substr(1)) - 1);
          return Status::invalid_argument(fmt::format(
              "widths: {}: {} channels, fewer than {}'s {}: {}'s zero-padding shortcuts cannot narrow", b.stage,
              l.out_channels, prev, l.in_channels, def.name));
        }
  }
  if (spec.masks) DR_RETURN_IF_ERROR(validate_masks(spec));
  if (!spec.relu_off.empty()) {
    auto names = site_names(resolve_unchecked(spec));
    std::set<std::string> known(names.begin(), names.end());
    for (const auto& s : spec.relu_off)
      if (!known.count(s))
        return Status::invalid_argument("relu plan: \"" + s + "\" is not a ReLU site of this " + def.name +
                                        " (sites are named like " + names.front() + ", " + names[1] + ", " +
                                        names[2] + " ... " + names.back() + ")");
  }
  return Status();
}

ResolvedArch resolve_unchecked(const ModelSpec& spec) { return Resolver(spec).run(); }

Status check_mask_values(const ModelSpec& spec, const MaskValues& values) {
  DR_RETURN_IF_ERROR(validate(spec));
  std::map<std::string, const ResolvedLayer*> sites;
  const ResolvedArch r = resolve_unchecked(spec);
  for (const ResolvedBlock* b : all_blocks(r))
    for (const auto& l : b->layers)
      if (l.kind == LayerKind::kRelu) sites[l.site] = &l;
  for (const auto& s : values.sites) {
    auto it = sites.find(s.site);
    if (it == sites.end()) return Status::invalid_argument("mask: \"" + s.site + "\" is not a ReLU site of this " + spec.arch);
    const ResolvedLayer& l = *it->second;
    if (s.channels != l.in_channels || s.height != l.in_size || s.width != l.in_size)
      return Status::invalid_argument(fmt::format("mask: site {} is {}x{}x{} in the mask, {}x{}x{} in this network",
                                                  s.site, s.channels, s.height, s.width, l.in_channels, l.in_size,
                                                  l.in_size));
  }
  return Status();
}

std::vector<const ResolvedBlock*> all_blocks(const ResolvedArch& arch) {
  std::vector<const ResolvedBlock*> all = {&arch.stem};
  for (const auto& b : arch.blocks) all.push_back(&b);
  all.push_back(&arch.head);
  return all;
}

std::vector<std::string> site_names(const ResolvedArch& arch) {
  std::vector<std::string> names;
  for (const ResolvedBlock* b : all_blocks(arch)) names.insert(names.end(), b->sites.begin(), b->sites.end());
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

}  // namespace deepreduce::spec
