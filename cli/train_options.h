// The options that define a training job (network, data, optimisation, KD),
// shared by `train`, trial lists and sweeps.
#pragma once

#include <boost/program_options.hpp>

#include "common/status.h"
#include "spec/job.h"

namespace deepreduce::cli {

// Network, Data, Optimisation and Knowledge-distillation option groups.
boost::program_options::options_description job_options_description();
// The job the options describe, validated. The dataset fills in what the user
// left at its default: classes, input channels (1 for MNIST-style data).
Result<spec::TrainJob> job_from_options(const boost::program_options::variables_map& vm);
// The job-defining option names (refused beside --resume).
const std::vector<std::string>& job_option_names();
// The option (as a trial list or --trial file writes it) that sets a job's key
// path ("train.kd.lambda" -> "kd-lambda"); "" for keys no option sets. The
// one place the two vocabularies meet: errors from validating a job name the
// key the user wrote.
std::string option_for_key(const std::string& key_path);
// "train.kd.lambda: ..." -> "--kd-lambda: ...": a command-line user is told
// the option they typed (other messages are returned as they are).
Status with_option_name(const Status& s);

}  // namespace deepreduce::cli
