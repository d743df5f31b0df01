// The training-method registry: name -> when it applies to a job + factory.
// A method is one file (train/methods/<name>.cpp) that defines its MethodDef,
// plus its line in method_registry(); the session (train/session.h) finds the
// methods of a job here and needs no edit.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "spec/job.h"
#include "train/method.h"

namespace deepreduce::train::methods {

struct MethodDef {
  const char* name;     // "kd": how logs and errors name it
  const char* summary;  // one line for docs
  // Whether the job (and how it runs) uses this method.
  bool (*applies)(const spec::TrainJob& job, const spec::RunOptions& run) = nullptr;
  std::unique_ptr<Method> (*make)(const spec::TrainJob& job, const spec::RunOptions& run) = nullptr;
};

// Every method, in the order the session calls their hooks.
const std::vector<MethodDef>& method_registry();
// The methods a job uses, in registry order. Two that both replace the task
// loss are refused, naming them.
Result<std::vector<std::unique_ptr<Method>>> methods_for(const spec::TrainJob& job, const spec::RunOptions& run);

// The definitions (one per method file).
MethodDef prune_method_def();
MethodDef kd_method_def();
MethodDef at_method_def();
MethodDef snl_method_def();
MethodDef senet_method_def();
MethodDef senet_sensitivity_method_def();

}  // namespace deepreduce::train::methods
