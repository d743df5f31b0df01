#include "search/references.h"

#include <cmath>
#include <utility>

namespace deepreduce::search {
namespace {

// Jha, Ghodsi, Garg, Reagen. DeepReDuce: ReLU Reduction for Fast Private
// Inference. ICML 2021. Every figure here is typed as the paper gives it and
// carries its source and its task, so a report says where it came from and
// draws it only beside an experiment on the same data and architecture.
constexpr const char* kPruning = "Jha et al., DeepReDuce, ICML 2021 (channel-pruning comparison, ResNet-56)";
constexpr const char* kCriticality =
    "Jha et al., DeepReDuce, ICML 2021 (ReLU criticality: networks that keep one stage's ReLUs, CIFAR-100)";

// One published point (its set, dataset and arch are filled in from its set).
ReferencePoint ref(std::string series, std::string label, int64_t relus, double top1, int64_t macs,
                   std::optional<double> baseline_top1, std::string source) {
  ReferencePoint p;
  p.series = std::move(series);
  p.label = std::move(label);
  p.relus = relus;
  p.top1 = top1;
  p.macs = macs;
  p.baseline_top1 = baseline_top1;
  p.source = std::move(source);
  return p;
}

// The criticality study's points: one stage's ReLUs only (the all-culled
// network has none and is not drawn on a log axis). ReLU counts are the
// stages' exact counts at 32x32 (spec::count), accuracies the paper's.
std::vector<ReferencePoint> criticality_points(const std::string& arch, const std::vector<int64_t>& relus,
                                               const std::vector<double>& without_kd,
                                               const std::vector<double>& with_kd) {
  static const char* kStages[] = {"stem", "S1", "S2", "S3", "S4"};
  std::vector<ReferencePoint> out;
  for (size_t i = 0; i < relus.size(); ++i) {
    out.push_back(ref("paper: one stage's ReLUs", arch + " " + kStages[i] + " only", relus[i], without_kd[i], 0,
                       std::nullopt, kCriticality));
    out.push_back(ref("paper: one stage's ReLUs + KD", arch + " " + kStages[i] + " only + KD", relus[i], with_kd[i],
                       0, std::nullopt, kCriticality));
  }
  return out;
}

// The comparison sets below were not typed from the papers' PDFs, which this
// project cannot fetch: they are the figures that the public plotting scripts
// of a later ReLU-reduction study list for each method (one Python list of
// (thousands of ReLUs, top-1) pairs per method and dataset), cited with the
// file and commit they come from. ReLU counts are those figures times 1,000,
// so they carry the script's rounding (DeepReDuce's 229,376-ReLU network is
// 229.38K there, its 114,688-ReLU one 114.0K).
constexpr const char* kScripts = "github.com/ajevnisek/selective_network_linearization at commit 8b3c93d";

// A published front: (thousands of ReLUs, top-1) pairs as the source lists them.
std::vector<ReferencePoint> front_points(const std::string& series, const std::string& label,
                                         const std::vector<std::pair<double, double>>& k_relus_top1,
                                         const std::string& source) {
  std::vector<ReferencePoint> out;
  for (const auto& [k, top1] : k_relus_top1) {
    out.push_back(ref(series, label, static_cast<int64_t>(std::llround(k * 1000)), top1, 0, std::nullopt, source));
    out.back().curve = true;
  }
  return out;
}

std::vector<ReferenceSet> build_sets() {
  std::vector<ReferenceSet> sets = {
      {"deepreduce-resnet56-cifar10", "cifar10", "resnet56",
       {
           ref("paper: channel pruning", "ResNet-56 pruned (CIFAR-10)", 311700, 93.34, 59100000, 93.59, kPruning),
           ref("paper: DeepReDuce", "DeepReDuce ResNet-56 (CIFAR-10)", 221200, 94.07, 0, std::nullopt, kPruning),
           ref("paper: DeepReDuce", "DeepReDuce ResNet-56 (CIFAR-10)", 147500, 93.16, 0, std::nullopt, kPruning),
       }},
      {"deepreduce-resnet56-cifar100", "cifar100", "resnet56",
       {
           ref("paper: channel pruning", "ResNet-56 pruned (CIFAR-100)", 311700, 70.83, 60800000, 71.41, kPruning),
           // The paper gives these two accuracies beside the CIFAR-10 ones; the
           // ReLU counts are those of the same two networks.
           ref("paper: DeepReDuce", "DeepReDuce ResNet-56 (CIFAR-100)", 221200, 73.66, 0, std::nullopt, kPruning),
           ref("paper: DeepReDuce", "DeepReDuce ResNet-56 (CIFAR-100)", 147500, 71.68, 0, std::nullopt, kPruning),
       }},
      {"deepreduce-criticality-resnet18-cifar100", "cifar100", "resnet18",
       criticality_points("ResNet18", {65536, 262144, 131072, 65536, 32768}, {46.22, 61.93, 67.63, 67.41, 58.90},
                          {45.07, 59.85, 68.79, 69.92, 63.16})},
      {"deepreduce-criticality-resnet34-cifar100", "cifar100", "resnet34",
       criticality_points("ResNet34", {65536, 393216, 262144, 196608, 49152}, {45.42, 60.77, 69.47, 70.04, 57.44},
                          {45.13, 62.88, 70.93, 72.61, 64.23})},
      // DeepReDuce's own fronts: ResNet18 networks (culled, thinned, reshaped,
      // with KD). Every CIFAR-100 count is, to the source's rounding, a network
      // of configs/resnet18_cifar100.yaml's space; every TinyImageNet count
      // but 12.9K is one of configs/resnet18_tinyimagenet.yaml's (64x64
      // inputs, four times the ReLUs; 200.0K and 400.0K are within 2% of
      // 196,608 and 393,216). tests/search/references_test.cpp holds this.
      {"deepreduce-resnet18-cifar100", "cifar100", "resnet18",
       front_points("paper: DeepReDuce", "DeepReDuce ResNet18 (CIFAR-100)",
                    {{12.3, 64.97}, {28.7, 68.68}, {49.2, 69.50}, {57.34, 72.68}, {114.0, 74.72}, {197.0, 75.51},
                     {229.38, 76.22}},
                    std::string("Jha et al., DeepReDuce, ICML 2021 (its CIFAR-100 front), as listed in ") + kScripts +
                        ", cifar100_results.py")},
      {"deepreduce-resnet18-tiny-imagenet", "tiny-imagenet", "resnet18",
       front_points("paper: DeepReDuce", "DeepReDuce ResNet18 (TinyImageNet)",
                    {{12.9, 41.95}, {24.6, 47.01}, {28.67, 47.55}, {49.16, 49.00}, {57.35, 53.75}, {98.3, 55.67},
                     {114.69, 56.18}, {200.0, 57.51}, {230.0, 59.18}, {400.0, 61.65}, {459.0, 62.26},
                     {917.0, 64.66}},
                    std::string("Jha et al., DeepReDuce, ICML 2021 (its TinyImageNet front), as listed in ") +
                        kScripts + ", tiny_imagenet_results.py")},
      // Other private-inference methods: their own networks (an empty arch:
      // drawn beside any architecture on the same data, as the literature
      // compares methods at a ReLU budget).
      {"snl-cifar100", "cifar100", "",
       front_points("SNL (Cho et al. 2022)", "SNL (CIFAR-100)",
                    {{12.9, 66.53}, {14.9, 67.17}, {25.0, 70.05}, {29.8, 70.18}, {40.0, 72.35}, {49.4, 73.75},
                     {60.0, 74.85}, {69.8, 75.29}, {79.1, 75.72}, {99.9, 75.94}, {120.0, 76.35}, {150.0, 77.35},
                     {180.0, 77.65}, {248.4, 77.7}},
                    std::string("Cho et al., Selective Network Linearization for Efficient Private Inference, ICML "
                                "2022, as listed in ") +
                        kScripts + ", cifar100_results.py")},
      {"snl-cifar10", "cifar10", "",
       front_points("SNL (Cho et al. 2022)", "SNL (CIFAR-10)",
                    {{12.9, 88.23}, {14.9, 88.43}, {25.0, 90.88}, {29.8, 90.92}, {40.0, 91.68}, {49.4, 92.27},
                     {60.0, 92.63}, {69.8, 93.02}, {79.1, 93.16}, {99.9, 93.50}, {150.0, 94.26}, {180.0, 94.78},
                     {300, 95.06}, {400, 95.07}, {500, 95.21}},
                    std::string("Cho et al., Selective Network Linearization for Efficient Private Inference, ICML "
                                "2022, as listed in ") +
                        kScripts + ", cifar10_results.py")},
      {"snl-tiny-imagenet", "tiny-imagenet", "",
       front_points("SNL (Cho et al. 2022)", "SNL (TinyImageNet)",
                    {{60, 54.24}, {100, 58.94}, {200, 63.39}, {300, 64.04}, {400, 63.83}, {500, 64.42}},
                    std::string("Cho et al., Selective Network Linearization for Efficient Private Inference, ICML "
                                "2022, as listed in ") +
                        kScripts + ", tiny_imagenet_results.py")},
      // SENet's ResNet18 points at the budgets where the project's learned-
      // linearization issue compares methods: not from the scripts above
      // (which list no SENet), typed as that issue quotes the paper, so good
      // to the digits it gives and no more.
      {"senet-resnet18-cifar100", "cifar100", "resnet18",
       front_points("SENet (Kundu et al. 2023)", "SENet ResNet18 (CIFAR-100)", {{24.6, 70.59}, {49.6, 75.28}},
                    "Kundu et al., Learning to Linearize Deep Neural Networks for Secure and Efficient Private "
                    "Inference, ICLR 2023 (ResNet18 on CIFAR-100), as quoted in deepreduce's issue 23; not checked "
                    "against the paper")},
      {"sphynx-cifar100", "cifar100", "",
       front_points("Sphynx (Cho et al. 2022)", "Sphynx (CIFAR-100)",
                    {{25.6, 66.13}, {30.2, 67.37}, {41.0, 68.23}, {51.2, 69.57}, {71.7, 71.06}, {102.4, 72.90},
                     {230, 74.93}},
                    std::string("Cho et al., Sphynx: A Deep Neural Network Design for Private Inference, IEEE "
                                "Security & Privacy 2022, as listed in ") +
                        kScripts + ", cifar100_results.py")},
      {"sphynx-tiny-imagenet", "tiny-imagenet", "",
       front_points("Sphynx (Cho et al. 2022)", "Sphynx (TinyImageNet)",
                    {{102.4, 48.44}, {204.8, 53.51}, {286.7, 56.72}, {491.5, 59.12}, {614.4, 60.76}},
                    std::string("Cho et al., Sphynx: A Deep Neural Network Design for Private Inference, IEEE "
                                "Security & Privacy 2022, as listed in ") +
                        kScripts + ", tiny_imagenet_results.py")},
      // The source lists CryptoNAS at round ReLU budgets and mostly whole or
      // half percents: figures that look read off CryptoNAS's plots, good to
      // about half a point.
      {"cryptonas-cifar100", "cifar100", "",
       front_points("CryptoNAS (Ghodsi et al. 2020)", "CryptoNAS (CIFAR-100)",
                    {{50, 63.5}, {86, 66}, {100, 68.5}, {334, 76}, {500, 77}},
                    std::string("Ghodsi et al., CryptoNAS: Private Inference on a ReLU Budget, NeurIPS 2020, "
                                "apparently read off its plots (round budgets, whole or half percents), as listed in ") +
                        kScripts + ", cifar100_results.py")},
      {"cryptonas-cifar10", "cifar10", "",
       front_points("CryptoNAS (Ghodsi et al. 2020)", "CryptoNAS (CIFAR-10)",
                    {{50, 90.0}, {86, 91.5}, {100, 92.2}, {334, 94}, {500, 94.8}},
                    std::string("Ghodsi et al., CryptoNAS: Private Inference on a ReLU Budget, NeurIPS 2020, "
                                "apparently read off its plots (round budgets, whole or half percents), as listed in ") +
                        kScripts + ", cifar10_results.py")},
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
