#include "train/trainer.h"

#include "spec/datasets.h"
#include "train/loader.h"
#include "train/session.h"
#include "train/splits.h"

namespace deepreduce::train {

Result<std::pair<torch::Tensor, torch::Tensor>> evaluation_set(const spec::TrainJob& job) {
  auto data = prepared_test(job);
  if (!data.ok()) return data.status();
  auto dataset = spec::find_dataset(job.data.dataset);
  if (!dataset.ok()) return dataset.status();
  const spec::Normalization& norm = (*dataset)->normalization;
  LoaderOptions lo;
  lo.batch_size = 512;
  lo.shuffle = false;
  lo.augment = false;
  lo.norm = norm;
  BatchLoader loader(*data, lo);
  std::vector<torch::Tensor> images, labels;
  while (auto batch = loader.next()) {
    images.push_back(batch->images);
    labels.push_back(batch->labels);
  }
  if (images.empty()) return Status::not_found(job.data.dataset + ": the test split is empty");
  return std::make_pair(torch::cat(images), torch::cat(labels));
}

Result<std::string> check_device(const std::string& device) {
  try {
    torch::Device d(device);
    if (d.is_cuda()) {
      if (!torch::cuda::is_available())
        return Status::unavailable("--device " + device + ": this LibTorch build or machine has no CUDA device");
      if (d.has_index() && d.index() >= static_cast<int>(torch::cuda::device_count()))
        return Status::unavailable("--device " + device + ": only " +
                                   std::to_string(torch::cuda::device_count()) + " CUDA device(s)");
    } else if (!d.is_cpu()) {
      return Status::invalid_argument("--device " + device + ": expected cpu, cuda or cuda:N");
    }
    return d.str();
  } catch (const c10::Error&) {
    return Status::invalid_argument("--device \"" + device + "\": expected cpu, cuda or cuda:N");
  }
}

Result<spec::TrialResult> run_training(const spec::TrainJob& job, const spec::RunOptions& run, const std::string& out_dir,
                                 const TrainHooks& hooks) {
  TrainingSession session(job, run, out_dir, hooks);
  DR_RETURN_IF_ERROR(session.set_up());
  DR_RETURN_IF_ERROR(session.train());
  return session.finish();
}

}  // namespace deepreduce::train
