#include "search/references.h"

namespace deepreduce::search {
namespace {

// Jha, Ghodsi, Garg, Reagen. DeepReDuce: ReLU Reduction for Fast Private
// Inference. ICML 2021, the comparison with channel pruning on ResNet-56. Only
// figures quoted in the project's design document are typed here; each carries
// its source so a report says where it came from.
constexpr const char* kDeepReduce = "Jha et al., DeepReDuce, ICML 2021 (channel-pruning comparison, ResNet-56)";

struct NamedSet {
  const char* name;
  std::vector<ReferencePoint> points;
};

const std::vector<NamedSet>& sets() {
  static const std::vector<NamedSet> kSets = {
      {"deepreduce-resnet56-cifar10",
       {
           {"paper: channel pruning", "ResNet-56 pruned (CIFAR-10)", 311700, 93.34, 59100000, 93.59, kDeepReduce},
           {"paper: DeepReDuce", "DeepReDuce ResNet-56 (CIFAR-10)", 221200, 94.07, 0, std::nullopt, kDeepReduce},
           {"paper: DeepReDuce", "DeepReDuce ResNet-56 (CIFAR-10)", 147500, 93.16, 0, std::nullopt, kDeepReduce},
       }},
      {"deepreduce-resnet56-cifar100",
       {
           {"paper: channel pruning", "ResNet-56 pruned (CIFAR-100)", 311700, 70.83, 60800000, 71.41, kDeepReduce},
           // The paper gives these two accuracies beside the CIFAR-10 ones; the
           // ReLU counts are those of the same two networks.
           {"paper: DeepReDuce", "DeepReDuce ResNet-56 (CIFAR-100)", 221200, 73.66, 0, std::nullopt, kDeepReduce},
           {"paper: DeepReDuce", "DeepReDuce ResNet-56 (CIFAR-100)", 147500, 71.68, 0, std::nullopt, kDeepReduce},
       }},
  };
  return kSets;
}

}  // namespace

std::vector<std::string> reference_set_names() {
  std::vector<std::string> out;
  for (const auto& s : sets()) out.push_back(s.name);
  return out;
}

Result<std::vector<ReferencePoint>> reference_set(const std::string& name) {
  std::string known;
  for (const auto& s : sets()) {
    if (name == s.name) return s.points;
    known += (known.empty() ? "" : ", ") + std::string(s.name);
  }
  return Status::not_found("no reference set \"" + name + "\" (known: " + known + "; or give a point as " +
                           "{label, relus, top1, source})");
}

}  // namespace deepreduce::search
