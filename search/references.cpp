#include "search/references.h"

namespace deepreduce::search {
namespace {

// Jha, Ghodsi, Garg, Reagen. DeepReDuce: ReLU Reduction for Fast Private
// Inference. ICML 2021. Every figure here is typed as the paper gives it and
// carries its source and its task, so a report says where it came from and
// draws it only beside an experiment on the same data and architecture.
constexpr const char* kPruning = "Jha et al., DeepReDuce, ICML 2021 (channel-pruning comparison, ResNet-56)";
constexpr const char* kCriticality =
    "Jha et al., DeepReDuce, ICML 2021 (ReLU criticality: networks that keep one stage's ReLUs, CIFAR-100)";

// The criticality study's points: one stage's ReLUs only (the all-culled
// network has none and is not drawn on a log axis). ReLU counts are the
// stages' exact counts at 32x32 (nn::count), accuracies the paper's.
std::vector<ReferencePoint> criticality_points(const std::string& arch, const std::vector<int64_t>& relus,
                                               const std::vector<double>& without_kd,
                                               const std::vector<double>& with_kd) {
  static const char* kStages[] = {"stem", "S1", "S2", "S3", "S4"};
  std::vector<ReferencePoint> out;
  for (size_t i = 0; i < relus.size(); ++i) {
    out.push_back({"paper: one stage's ReLUs only", arch + " " + kStages[i] + " only", relus[i], without_kd[i], 0,
                   std::nullopt, kCriticality});
    out.push_back({"paper: one stage's ReLUs only + KD", arch + " " + kStages[i] + " only + KD", relus[i], with_kd[i],
                   0, std::nullopt, kCriticality});
  }
  return out;
}

std::vector<ReferenceSet> build_sets() {
  std::vector<ReferenceSet> sets = {
      {"deepreduce-resnet56-cifar10", "cifar10", "resnet56",
       {
           {"paper: channel pruning", "ResNet-56 pruned (CIFAR-10)", 311700, 93.34, 59100000, 93.59, kPruning},
           {"paper: DeepReDuce", "DeepReDuce ResNet-56 (CIFAR-10)", 221200, 94.07, 0, std::nullopt, kPruning},
           {"paper: DeepReDuce", "DeepReDuce ResNet-56 (CIFAR-10)", 147500, 93.16, 0, std::nullopt, kPruning},
       }},
      {"deepreduce-resnet56-cifar100", "cifar100", "resnet56",
       {
           {"paper: channel pruning", "ResNet-56 pruned (CIFAR-100)", 311700, 70.83, 60800000, 71.41, kPruning},
           // The paper gives these two accuracies beside the CIFAR-10 ones; the
           // ReLU counts are those of the same two networks.
           {"paper: DeepReDuce", "DeepReDuce ResNet-56 (CIFAR-100)", 221200, 73.66, 0, std::nullopt, kPruning},
           {"paper: DeepReDuce", "DeepReDuce ResNet-56 (CIFAR-100)", 147500, 71.68, 0, std::nullopt, kPruning},
       }},
      {"deepreduce-criticality-resnet18-cifar100", "cifar100", "resnet18",
       criticality_points("ResNet18", {65536, 262144, 131072, 65536, 32768}, {46.22, 61.93, 67.63, 67.41, 58.90},
                          {45.07, 59.85, 68.79, 69.92, 63.16})},
      {"deepreduce-criticality-resnet34-cifar100", "cifar100", "resnet34",
       criticality_points("ResNet34", {65536, 393216, 262144, 196608, 49152}, {45.42, 60.77, 69.47, 70.04, 57.44},
                          {45.13, 62.88, 70.93, 72.61, 64.23})},
  };
  for (auto& set : sets)
    for (auto& p : set.points) {
      p.set = set.name;
      p.dataset = set.dataset;
      p.arch = set.arch;
    }
  return sets;
}

}  // namespace

const std::vector<ReferenceSet>& reference_sets() {
  static const std::vector<ReferenceSet> kSets = build_sets();
  return kSets;
}

std::vector<std::string> reference_set_names() {
  std::vector<std::string> out;
  for (const auto& s : reference_sets()) out.push_back(s.name);
  return out;
}

Result<std::vector<ReferencePoint>> reference_set(const std::string& name) {
  std::string known;
  for (const auto& s : reference_sets()) {
    if (name == s.name) return s.points;
    known += (known.empty() ? "" : ", ") + s.name;
  }
  return Status::not_found("no reference set \"" + name + "\" (known: " + known + "; or give a point as " +
                           "{label, relus, top1, source})");
}

}  // namespace deepreduce::search
