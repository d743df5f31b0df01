// ModelSpec: a network as a value, and the architecture tables it is built from.
//
// Everything here is free of LibTorch: the store, the coordinator and the search
// reason about networks (their ReLU sites, their counts) without building them.
// The builder in nn/model.h turns a valid spec into a LibTorch module.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace deepreduce::nn {

// How the blocks of an architecture are made.
enum class BlockKind {
  kBasic,               // ResNet basic block: conv3x3-BN-ReLU(relu1)-conv3x3-BN, + shortcut, ReLU(relu2)
  kDepthwiseSeparable,  // MobileNetV1: dw3x3-BN-ReLU(dw), pw1x1-BN-ReLU(pw)
};

// The shortcut of a basic block whose shape changes.
enum class Shortcut {
  kNone,        // no residual path (MobileNetV1)
  kProjection,  // 1x1 conv (stride s) + BN (ResNet18/34, torchvision's "option B")
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
  BlockKind block;
  Shortcut shortcut;
  int64_t stem_width;
  std::vector<StageDef> stages;
};

// The registry: every architecture deepreduce knows, in a stable order.
const std::vector<ArchDef>& arch_registry();
// The names of the registered architectures, in registry order.
std::vector<std::string> arch_names();
// The architecture called `name`, or NotFound listing the known names.
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

// One block of a resolved network: everything the counts, the builder, the
// pruning and the exporter need to know about it, computed once by resolve().
struct ResolvedBlock {
  std::string name;    // "s2.b1": the key of ModelSpec::widths and the prefix of its ReLU sites
  std::string module;  // "s2_b1": the builder's module (and the weights' name prefix)
  std::string stage;   // "s2"
  int64_t index;       // 1 in "s2.b1"
  int64_t in;          // input channels
  int64_t inner;       // channels of the first ReLU: a basic block's conv1 outputs (pruned), a
                       // depthwise-separable block's depthwise channels (= in)
  int64_t out;         // output channels: the stage width, or a pruned pointwise conv's
  int64_t full;        // the unpruned width of the conv ModelSpec::widths narrows (the stage width)
  int64_t stride;      // of its first conv (and its shortcut)
  int64_t in_size;     // spatial size in and out (square)
  int64_t out_size;
  bool projection;     // a 1x1 conv + BN shortcut (basic blocks whose shape changes, projection archs)
  std::string site1;   // "s2.b1.relu1" or "s2.b1.dw": the first ReLU, `inner` channels at out_size
  std::string site2;   // "s2.b1.relu2" or "s2.b1.pw": the second, `out` channels at out_size
};

// The concrete shape of a valid spec's network.
struct ResolvedArch {
  const ArchDef* def;
  int64_t stem_width;
  int64_t stem_stride;
  int64_t stem_size;     // spatial size after the stem
  std::vector<ResolvedStage> stages;
  std::vector<ResolvedBlock> blocks;  // in forward order
  int64_t out_channels;  // what the classifier sees
};

// Precondition for the *_unchecked form: validate(spec).ok().
Result<ResolvedArch> resolve(const ModelSpec& spec);
ResolvedArch resolve_unchecked(const ModelSpec& spec);

// The names of a network's blocks in forward order: "s1.b0", "s1.b1", ...
std::vector<std::string> block_names(const ResolvedArch& arch);
// A block's inner width (see ModelSpec::widths): the pruned width, else `full`.
int64_t inner_width(const ModelSpec& spec, const std::string& block, int64_t full);

// max(1, int(width * alpha)), the width rule of every architecture.
int64_t scale_width(int64_t width, double alpha);

// Stage names of an architecture in order: "stem", "s1", ..., "sN".
std::vector<std::string> stage_names(const ArchDef& def);

// The names of a network's ReLU sites in forward order: "stem", then per block
// "sK.bJ.relu1", "sK.bJ.relu2" (basic blocks) or "sK.bJ.dw", "sK.bJ.pw"
// (depthwise-separable blocks), K from 1, J from 0.
std::vector<std::string> site_names(const ResolvedArch& arch);
// The site's two names within a block: {"relu1", "relu2"} or {"dw", "pw"}.
std::pair<const char*, const char*> block_site_suffixes(BlockKind kind);

}  // namespace deepreduce::nn
