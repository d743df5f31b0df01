// A trained network as ONNX, for private-inference runtimes (CrypTen, EzPC /
// CrypTFlow2, ...), written from C++ with ONNX's own protobuf schema.
//
// What the graph is (and what those runtimes need it to be):
//  - opset 13, IR version 7, static NCHW shapes (batch fixed at export);
//  - BatchNorm folded into the convolution before it (no BatchNormalization
//    node); a BN that follows no convolution (pre-activation blocks) is a
//    per-channel Mul and Add;
//  - a culled or thinned ReLU is absent: its input flows on, no Identity node,
//    so the graph evaluates exactly the spec's ReLUs;
//  - GlobalAveragePool, Flatten and Gemm for the head;
//  - ResNet-56's option-A shortcut as plain ops: a strided Slice, then Pad with zeros.
// The graph is written from the resolved layers (spec/model_spec.h), the lists
// the builder and the counts walk. Nodes and tensors are named after the ReLU
// sites and layers ("s2.b1.relu1", "s2.b1.conv1").
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "nn/model.h"

namespace deepreduce::exporting {

struct OnnxOptions {
  int64_t batch = 1;
  std::string graph_name = "deepreduce";
};

// The serialized ModelProto (what a .onnx file holds).
Result<std::string> to_onnx(nn::Network& net, const OnnxOptions& options = {});

// The nodes an exported graph evaluates for each of `sites`, by op type
// ("Slice" -> 3521, "Relu" -> 1756, ...): what a runtime meets where a
// masked site keeps ReLU on part of its units. Nodes are named after their
// site (the site, or SITE.part3, SITE.relu3, SITE.flat, ...).
Result<std::map<std::string, std::map<std::string, int64_t>>> nodes_per_site(const std::string& model_bytes,
                                                                             const std::vector<std::string>& sites);

// A plain state dict (name -> tensor) in torch.save's format: Python reads it
// with torch.load, no TorchScript involved. BN running statistics included.
Result<std::string> to_state_dict(nn::Network& net);

}  // namespace deepreduce::exporting
