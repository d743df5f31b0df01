// ModelSpec: a network as a value, and the architecture tables it is built from.
//
// Everything here is free of LibTorch: the store, the coordinator and the search
// reason about networks (their ReLU sites, their counts) without building them.
// The builder in nn/model.h turns a valid spec into a LibTorch module.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "spec/blocks.h"
#include "spec/relu_mask.h"

namespace deepreduce::spec {

// The shortcut of a residual block whose shape changes.
enum class Shortcut {
  kNone,        // no residual path (MobileNetV1)
  kProjection,  // a 1x1 conv (stride s), with BN in a post-activation block (ResNet18/34: torchvision's "option B")
  kZeroPad,     // stride-s subsampling and zero-padded channels, no parameters (CIFAR ResNet "option A")
};

// One stage: the blocks that share one output resolution. Its first block has `stride`.
struct StageDef {
  int64_t width;
  int64_t blocks;
  int64_t stride;
};

// One row of the model zoo: an architecture as data.
struct ArchDef {
  std::string name;
  std::string summary;
  const BlockKindDef* block;  // spec/blocks.h
  Shortcut shortcut;
  int64_t stem_width;
  std::vector<StageDef> stages;
  // The stem: a 3x3 conv, then (usually) BN and the "stem" ReLU site. A
  // pre-activation network's stem is the conv alone: its first block begins with BN-ReLU.
  bool stem_bn_relu = true;
  // Pre-activation networks end with BN and a ReLU site ("head") before the pool.
  bool head_bn_relu = false;
};

// The registry: every architecture deepreduce knows, in a stable order.
const std::vector<ArchDef>& arch_registry();
// The names of the registered architectures, in registry order.
std::vector<std::string> arch_names();
// The architecture called `name`, or NotFound listing the known names.
// Besides the registry's, any Wide ResNet "wrnD-K" (D = 6n + 4 >= 10, K >= 1)
// is found: three pre-activation stages of (D-4)/6 blocks, widths 16K, 32K, 64K.
Result<const ArchDef*> find_arch(const std::string& name);

// A network as a value. The default is the all-ReLU baseline of ResNet18 for
// CIFAR-10. Two equal specs build identical networks (up to initialisation).
struct ModelSpec {
  std::string arch = "resnet18";
  int64_t classes = 10;
  int64_t in_channels = 3;
  int64_t input_size = 32;  // square inputs, input_size x input_size
  double alpha = 1.0;       // width multiplier: every width becomes max(1, int(width * alpha))
  double rho = 1.0;         // resolution multiplier, a power of 1/2: the stem's stride is 1/rho
  std::vector<int64_t> blocks;  // blocks per stage; empty means the architecture's own
  // The ReLU plan, stored as the sites whose ReLU is an identity. Empty is the
  // all-ReLU baseline, so a default spec is the baseline whatever its depth;
  // `active_sites` gives the plan as the set of active sites.
  std::set<std::string> relu_off;
  // Channel pruning, by block or stage name. A block ("s2.b1"): its inner
  // width, a basic block's conv1 outputs (= conv2 inputs, the relu1 site), a
  // depthwise-separable block's pointwise outputs (= the next block's
  // depthwise channels). A stage of a residual network ("s2"): the output
  // channels of every block of the stage and of its shortcut, coupled as the
  // residual adds require (the relu2 sites); pruning s1 prunes the stem too
  // when s1's first shortcut is an identity. Absent keys keep the
  // architecture's width.
  std::map<std::string, int64_t> widths;
  // Partial ReLU sites (learned linearization, spec/relu_mask.h): a keep mask
  // per site, learnable (the mask phase) or fixed. None: every active site is
  // a whole ReLU.
  std::optional<ReluMasks> masks;

  bool operator==(const ModelSpec& o) const;
  bool operator!=(const ModelSpec& o) const { return !(*this == o); }
};

// Checks every field; the message names the field, the value and the valid choices.
Status validate(const ModelSpec& spec);

// A stage of a spec after alpha, rho and the block override are applied.
struct ResolvedStage {
  std::string name;  // "s1", "s2", ...
  int64_t width;     // after alpha, before pruning
  int64_t blocks;
  int64_t stride;
  int64_t out = 0;   // its blocks' output channels: width, or the stage's pruned width
};

// A channel group: channels that every layer touching them must keep or lose
// together (a conv's outputs and what reads them; the outputs of every block
// a residual add joins). Channel pruning narrows groups by their key.
struct ChannelGroup {
  std::string key;     // the ModelSpec::widths key that narrows it ("s2", "s2.b1"); "" when none does
  int64_t full = 0;    // its width after alpha, unpruned
  int64_t width = 0;   // after pruning
};

// One layer of a resolved network, with concrete shapes.
struct ResolvedLayer {
  LayerKind kind = LayerKind::kConv;
  std::string name;  // the module's name in its block ("conv1"); the stem's and head's are top-level ("stem_conv")
  std::string path;  // the prefix of its weights: "s2_b1.conv1", "stem_conv"
  std::string site;  // kRelu: the site's name ("s2.b1.relu1", "stem")
  // The values it reads: -1 is its block's input, k the output of layers[k].
  std::vector<int> inputs;
  int64_t in_channels = 0, out_channels = 0;
  int64_t kernel = 0, stride = 1, groups = 1;  // kConv; kZeroPad: stride
  bool depthwise = false;                      // kConv: one filter per channel (groups = channels)
  int64_t in_size = 0, out_size = 0;           // spatial, square
  int group_in = -1, group_out = -1;           // ResolvedArch::groups; -1: the image
};

// A resolved block (and the stem and the head, blocks of their own): its
// layers in the order they are made, the order they run in, and what it
// outputs. Everything the counts, the builder, the pruning and the exporter
// need, computed once by resolve().
struct ResolvedBlock {
  std::string name;    // "s2.b1": the key of ModelSpec::widths and the prefix of its ReLU sites; "stem", "head"
  std::string module;  // "s2_b1": the builder's module (and the weights' name prefix); "" for the stem and head
  std::string stage;   // "s2"; the stem's is "stem", the head's the last stage
  int64_t index = 0;   // 1 in "s2.b1"
  int64_t in = 0;      // input channels
  int64_t inner = 0;   // the block's inner width (kInner), or its input's for kinds without one
  int64_t out = 0;     // output channels
  int64_t full = 0;    // the unpruned width of what ModelSpec::widths narrows by block name (the stage width)
  int64_t stride = 1;
  int64_t in_size = 0, out_size = 0;
  bool projection = false;  // has a shortcut conv
  std::vector<ResolvedLayer> layers;  // in the order their modules are made
  std::vector<int> order;             // the order they run in (dependencies first)
  int output = -1;                    // the layer whose value the block outputs (-1: its input)
  std::vector<std::string> sites;     // its ReLU sites in forward order
};

// The concrete shape of a valid spec's network.
struct ResolvedArch {
  const ArchDef* def;
  int64_t stem_width;
  int64_t stem_stride;
  int64_t stem_size;     // spatial size after the stem
  std::vector<ResolvedStage> stages;
  ResolvedBlock stem;                 // reads the image
  std::vector<ResolvedBlock> blocks;  // in forward order
  ResolvedBlock head;                 // the layers before the pool (none, or BN and the "head" ReLU site)
  std::vector<ChannelGroup> groups;
  int64_t out_channels;  // what the classifier sees
  int classifier_group;  // the group the classifier reads
};

// Whether mask values fit a spec's network: each of their sites is one of
// its ReLU sites, with that site's activation shape.
Status check_mask_values(const ModelSpec& spec, const MaskValues& values);

// Precondition for the *_unchecked form: validate(spec).ok().
Result<ResolvedArch> resolve(const ModelSpec& spec);
ResolvedArch resolve_unchecked(const ModelSpec& spec);

// The names of a network's blocks in forward order: "s1.b0", "s1.b1", ...
std::vector<std::string> block_names(const ResolvedArch& arch);
// A block's inner width (see ModelSpec::widths): the pruned width, else `full`.
int64_t inner_width(const ModelSpec& spec, const std::string& block, int64_t full);

// max(1, int(width * alpha)), the width rule of every architecture.
int64_t scale_width(int64_t width, double alpha);

// The ReLU stages of an architecture in order: "stem" (where the stem has a
// ReLU), "s1", ..., "sN". Counts per stage, culling, thinning and the
// criticality study name these.
std::vector<std::string> stage_names(const ArchDef& def);

// The names of a network's ReLU sites in forward order: "stem" (where the stem
// has one), then each block's ("sK.bJ.relu1", "sK.bJ.relu2" in basic and
// pre-activation blocks, "sK.bJ.dw", "sK.bJ.pw" in depthwise-separable ones;
// K from 1, J from 0), then "head" where the network has one.
std::vector<std::string> site_names(const ResolvedArch& arch);
// Every block (and the stem and head) in forward order.
std::vector<const ResolvedBlock*> all_blocks(const ResolvedArch& arch);

}  // namespace deepreduce::spec
