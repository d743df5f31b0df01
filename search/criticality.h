// ReLU criticality (paper Sec. 3.1): how much accuracy the ReLUs of one stage
// buy, from networks that keep ReLUs in that stage only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace deepreduce::search {

struct StageAccuracy {
  std::string stage;  // "stem", "s1", ...
  int64_t relus = 0;  // the stage's ReLU count
  double accuracy = 0;  // top-1 of the network with ReLUs in this stage only
};

enum class CriticalityMetric {
  kDeepReduce,      // C_k = (Acc_k - Acc_none) / ln(ReLUs_k), the paper's
  kAccuracy,        // Acc_k
  kAccuracyPerRelu, // (Acc_k - Acc_none) / ReLUs_k
};

Result<CriticalityMetric> parse_metric(const std::string& name);  // deepreduce | accuracy | accuracy_per_relu
const char* metric_name(CriticalityMetric m);

struct StageCriticality {
  std::string stage;
  int64_t relus = 0;
  double accuracy = 0;
  double score = 0;
  int rank = 0;  // 1 = least critical: culled first
};

// The stages scored and ordered least critical first (ties by stage order as
// given). `accuracy_none` is the top-1 of the network without any ReLU.
std::vector<StageCriticality> rank_stages(const std::vector<StageAccuracy>& stages, double accuracy_none,
                                          CriticalityMetric metric = CriticalityMetric::kDeepReduce);

}  // namespace deepreduce::search
