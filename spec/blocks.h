// Block kinds, described once. A block kind lists its layers (convolutions,
// batch norms, ReLU sites, the residual add, shortcuts) with their kernels and
// strides and which of the block's channel sets each reads and writes; any
// number of ReLU sites. Everything that walks a network reads these lists,
// resolved to concrete shapes by resolve() (spec/model_spec.h): the exact
// counts, the LibTorch builder, weight transfer and the pruning slice maps,
// and the ONNX exporter. Layer, module and site names are made here alone.
//
// A new block kind (bottleneck, inverted residual, ...) is one description in
// blocks.cpp and its entry in block_kinds(); nothing that walks networks
// changes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace deepreduce::spec {

// The channel sets of a block. kIn is what the block reads (the previous
// block's kOut, or the stem's); kInner its own inner width (what ModelSpec::widths
// narrows by block name, for kinds that have one); kOut what it writes. In a
// residual kind every block of a stage shares kOut (the adds couple them).
enum class Channels { kIn, kInner, kOut };

enum class LayerKind {
  kConv,       // kernel x kernel, padding kernel/2, no bias
  kBatchNorm,  // over its input's channels
  kRelu,       // a ReLU site: ReLU when active, identity when not
  kAdd,        // the residual add of its two inputs
  kZeroPad,    // CIFAR ResNet's option-A shortcut: stride-s subsampling, then zero-padded channels
};
const char* layer_kind_name(LayerKind kind);

// When a layer of a description exists.
enum class Presence {
  kAlways,
  kProjection,  // the block's shape changes and the architecture's shortcut is a projection
  kZeroPad,     // the block's shape changes and the architecture's shortcut is option A
};

// One layer of a block kind. Inputs name values of the block: "in" (what the
// block reads), "shortcut" (the shortcut's value: the last present shortcut
// layer, else the kind's identity value), or an earlier or later layer's name;
// the order of a description is the order its modules are made (and their
// parameters initialised), the order layers run is their dependency order.
struct LayerDef {
  LayerKind kind = LayerKind::kConv;
  const char* name = "";     // the module's name in the block ("conv1"); for kRelu the module of the site
  const char* input = "in";
  const char* input2 = "";   // kAdd
  int64_t kernel = 0;        // kConv
  bool strided = false;      // kConv, kZeroPad: applies the block's stride
  bool depthwise = false;    // kConv: one filter per channel (groups = channels)
  Channels reads = Channels::kIn;
  Channels writes = Channels::kIn;  // kConv, kZeroPad; the others write what they read
  const char* site = "";     // kRelu: the site's suffix ("relu1": site "s2.b1.relu1")
  Presence presence = Presence::kAlways;
};

struct BlockKindDef {
  std::string name;     // "basic", "depthwise_separable", "preact"
  std::string summary;  // one line for help and docs
  std::vector<LayerDef> layers;
  const char* identity = "in";  // the shortcut's value where the shape does not change (residual kinds)
  const char* output = "";      // the value the block outputs
  // What ModelSpec::widths narrows by block name ("s2.b1"): kInner, or kOut
  // for kinds whose output is not shared by a stage.
  Channels pruned = Channels::kInner;
  // The ReLU sites in forward order. Thinning (paper Sec. 3.3) removes the
  // first or the last of them in every block of a stage.
  std::vector<std::string> sites() const;
  // Whether blocks of this kind add a shortcut to their output (their kOut
  // is the stage's, coupled by the adds).
  bool residual() const;
};

// Every block kind, in a stable order.
const std::vector<const BlockKindDef*>& block_kinds();
// The registered kinds.
const BlockKindDef& basic_block();                // ResNet basic block (He et al. 2016), post-activation
const BlockKindDef& depthwise_separable_block();  // MobileNetV1 (Howard et al. 2017)
const BlockKindDef& preact_block();               // pre-activation basic block (He et al. 2016b; Wide ResNets)

// Names, made here alone: a block "s2.b1" is module "s2_b1" (the prefix of its
// weights), its ReLU sites are "s2.b1.relu1", ...
std::string block_name(const std::string& stage, int64_t index);
std::string module_name(const std::string& block);
std::string site_name(const std::string& block, const std::string& suffix);

}  // namespace deepreduce::spec
