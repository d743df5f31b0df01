#include "train/methods/registry.h"

namespace deepreduce::train::methods {

const std::vector<MethodDef>& method_registry() {
  // One line per method: its file defines the rest. The order is the order
  // of their hooks: weights first (pruning), then the loss (KD), then what
  // the loss is penalised with or trained under (the mask phases).
  static const std::vector<MethodDef> kRegistry = {
      prune_method_def(),
      kd_method_def(),
      at_method_def(),
      snl_method_def(),
      senet_method_def(),
      senet_sensitivity_method_def(),
  };
  return kRegistry;
}

Result<std::vector<std::unique_ptr<Method>>> methods_for(const spec::TrainJob& job, const spec::RunOptions& run) {
  std::vector<std::unique_ptr<Method>> out;
  for (const auto& def : method_registry())
    if (def.applies(job, run)) out.push_back(def.make(job, run));
  return out;
}

}  // namespace deepreduce::train::methods
