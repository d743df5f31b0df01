#include "spec/blocks.h"

namespace deepreduce::spec {

const char* layer_kind_name(LayerKind kind) {
  switch (kind) {
    case LayerKind::kConv: return "conv";
    case LayerKind::kBatchNorm: return "batch_norm";
    case LayerKind::kRelu: return "relu";
    case LayerKind::kAdd: return "add";
    case LayerKind::kZeroPad: return "zero_pad";
  }
  return "?";
}

bool BlockKindDef::residual() const {
  for (const auto& l : layers)
    if (l.kind == LayerKind::kAdd) return true;
  return false;
}

namespace {

LayerDef layer(LayerKind kind, const char* name, const char* input) {
  LayerDef l;
  l.kind = kind;
  l.name = name;
  l.input = input;
  return l;
}

LayerDef conv(const char* name, const char* input, int64_t kernel, bool strided, Channels writes,
              Presence presence = Presence::kAlways) {
  LayerDef l = layer(LayerKind::kConv, name, input);
  l.kernel = kernel;
  l.strided = strided;
  l.writes = writes;
  l.presence = presence;
  return l;
}
LayerDef depthwise(const char* name, const char* input, int64_t kernel, bool strided) {
  LayerDef l = conv(name, input, kernel, strided, Channels::kIn);
  l.depthwise = true;
  return l;
}
LayerDef bn(const char* name, const char* input, Presence presence = Presence::kAlways) {
  LayerDef l = layer(LayerKind::kBatchNorm, name, input);
  l.presence = presence;
  return l;
}
LayerDef relu(const char* name, const char* input, const char* site) {
  LayerDef l = layer(LayerKind::kRelu, name, input);
  l.site = site;
  return l;
}
LayerDef add(const char* a, const char* b) {
  LayerDef l = layer(LayerKind::kAdd, "add", a);
  l.input2 = b;
  return l;
}
LayerDef zero_pad(const char* name, const char* input) {
  LayerDef l = layer(LayerKind::kZeroPad, name, input);
  l.strided = true;
  l.writes = Channels::kOut;
  l.presence = Presence::kZeroPad;
  return l;
}

}  // namespace

const BlockKindDef& basic_block() {
  // conv3x3-BN-relu1-conv3x3-BN, + shortcut, relu2 (He et al. 2016, Fig. 2).
  // The shortcut modules come last: the order modules are made in is the
  // order their weights are initialised, which seeds were always drawn in.
  static const BlockKindDef kDef{
      "basic",
      "ResNet basic block: conv3x3-BN-ReLU-conv3x3-BN, + shortcut, ReLU after the add",
      {
          conv("conv1", "in", 3, /*strided=*/true, Channels::kInner),
          bn("bn1", "conv1"),
          relu("relu1", "bn1", "relu1"),
          conv("conv2", "relu1", 3, false, Channels::kOut),
          bn("bn2", "conv2"),
          add("bn2", "shortcut"),
          relu("relu2", "add", "relu2"),
          conv("proj_conv", "in", 1, true, Channels::kOut, Presence::kProjection),
          bn("proj_bn", "proj_conv", Presence::kProjection),
          zero_pad("zero_pad", "in"),
      },
      "in",
      "relu2",
      Channels::kInner};
  return kDef;
}

const BlockKindDef& depthwise_separable_block() {
  // dw3x3-BN-ReLU, pw1x1-BN-ReLU (Howard et al. 2017, Fig. 3). Pruning a
  // block narrows its pointwise outputs, which the next block's depthwise
  // filters follow.
  static const BlockKindDef kDef{"depthwise_separable",
                                 "MobileNetV1 block: depthwise conv3x3-BN-ReLU, pointwise conv1x1-BN-ReLU",
                                 {
                                     depthwise("dw_conv", "in", 3, /*strided=*/true),
                                     bn("dw_bn", "dw_conv"),
                                     relu("dw_relu", "dw_bn", "dw"),
                                     conv("pw_conv", "dw_relu", 1, false, Channels::kOut),
                                     bn("pw_bn", "pw_conv"),
                                     relu("pw_relu", "pw_bn", "pw"),
                                 },
                                 "in",
                                 "pw_relu",
                                 Channels::kOut};
  return kDef;
}

const BlockKindDef& preact_block() {
  // BN-ReLU-conv3x3-BN-ReLU-conv3x3, + shortcut (He et al. 2016b; Zagoruyko &
  // Komodakis 2016, Wide ResNets). Where the shape changes the shortcut is a
  // 1x1 conv of the first BN-ReLU's output; elsewhere the block's input itself.
  static const BlockKindDef kDef{"preact",
                                 "pre-activation block: BN-ReLU-conv3x3-BN-ReLU-conv3x3, + shortcut",
                                 {
                                     bn("bn1", "in"),
                                     relu("relu1", "bn1", "relu1"),
                                     conv("conv1", "relu1", 3, /*strided=*/true, Channels::kInner),
                                     bn("bn2", "conv1"),
                                     relu("relu2", "bn2", "relu2"),
                                     conv("conv2", "relu2", 3, false, Channels::kOut),
                                     add("conv2", "shortcut"),
                                     conv("shortcut", "relu1", 1, true, Channels::kOut, Presence::kProjection),
                                 },
                                 "in",
                                 "add",
                                 Channels::kInner};
  return kDef;
}

const std::vector<const BlockKindDef*>& block_kinds() {
  static const std::vector<const BlockKindDef*> kKinds = {&basic_block(), &depthwise_separable_block(),
                                                          &preact_block()};
  return kKinds;
}

std::string block_name(const std::string& stage, int64_t index) { return stage + ".b" + std::to_string(index); }

std::string module_name(const std::string& block) {
  std::string m = block;
  for (auto& c : m)
    if (c == '.') c = '_';
  return m;
}

std::string site_name(const std::string& block, const std::string& suffix) { return block + "." + suffix; }

}  // namespace deepreduce::spec
