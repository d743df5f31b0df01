// The splits of a job's dataset as its network sees them: read once per
// process, subsetted (data.train_subset / test_subset), with the validation
// split held out (data.val_split), padded to the network's input.
#pragma once

#include <memory>

#include "common/status.h"
#include "spec/job.h"
#include "train/dataset.h"

namespace deepreduce::train {

// The training split and, with data.val_split, the validation split held out
// of it (null without one).
struct TrainingSplits {
  std::shared_ptr<const Dataset> train, validation;
};
Result<TrainingSplits> prepared_training(const spec::TrainJob& job);

// The test split.
Result<std::shared_ptr<const Dataset>> prepared_test(const spec::TrainJob& job);

}  // namespace deepreduce::train
