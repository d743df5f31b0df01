#include "search/criticality.h"

#include <algorithm>
#include <cmath>

namespace deepreduce::search {

Result<CriticalityMetric> parse_metric(const std::string& name) {
  if (name == "deepreduce") return CriticalityMetric::kDeepReduce;
  if (name == "accuracy") return CriticalityMetric::kAccuracy;
  if (name == "accuracy_per_relu") return CriticalityMetric::kAccuracyPerRelu;
  return Status::invalid_argument("criticality metric: expected deepreduce, accuracy or accuracy_per_relu, got \"" +
                                  name + "\"");
}

const char* metric_name(CriticalityMetric m) {
  switch (m) {
    case CriticalityMetric::kDeepReduce: return "deepreduce";
    case CriticalityMetric::kAccuracy: return "accuracy";
    case CriticalityMetric::kAccuracyPerRelu: return "accuracy_per_relu";
  }
  return "?";
}

std::vector<StageCriticality> rank_stages(const std::vector<StageAccuracy>& stages, double accuracy_none,
                                          CriticalityMetric metric) {
  std::vector<StageCriticality> out;
  for (const auto& s : stages) {
    const double gain = s.accuracy - accuracy_none;
    double score = s.accuracy;
    if (metric == CriticalityMetric::kDeepReduce)
      score = s.relus > 1 ? gain / std::log(static_cast<double>(s.relus)) : gain;  // ln(1) = 0: no scale
    else if (metric == CriticalityMetric::kAccuracyPerRelu)
      score = s.relus > 0 ? gain / static_cast<double>(s.relus) : gain;
    out.push_back({s.stage, s.relus, s.accuracy, score, 0});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const StageCriticality& a, const StageCriticality& b) { return a.score < b.score; });
  for (size_t i = 0; i < out.size(); ++i) out[i].rank = static_cast<int>(i + 1);
  return out;
}

}  // namespace deepreduce::search
