#include "train/splits.h"

#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace deepreduce::train {
namespace {

// A dataset split is read once per process and shared by every trial that uses it.
Result<std::shared_ptr<const Dataset>> cached_split(const std::string& name, const std::string& dir,
                                                    Split split) {
  static std::mutex mu;
  static std::map<std::tuple<std::string, std::string, int>, std::shared_ptr<const Dataset>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto key = std::make_tuple(name, dir, static_cast<int>(split));
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  auto d = load_dataset(name, dir, split);
  if (!d.ok()) return d.status();
  auto ptr = std::make_shared<const Dataset>(std::move(*d));
  cache[key] = ptr;
  return ptr;
}

// A split's class-balanced subset (data.train_subset / test_subset).
Result<std::shared_ptr<const Dataset>> subset_of(const spec::TrainJob& job, Split split) {
  auto full = cached_split(job.data.dataset, job.data.data_dir, split);
  if (!full.ok()) return full.status();
  std::shared_ptr<const Dataset> d = *full;
  const int64_t n = split == Split::kTrain ? job.data.train_subset : job.data.test_subset;
  if (n > 0 && n < d->size())
    d = std::make_shared<const Dataset>(balanced_subset(*d, n, job.train.seed + (split == Split::kTrain ? 11 : 13)));
  return d;
}

// Images as the model sees them: checked against its input, padded to it.
Result<std::shared_ptr<const Dataset>> fitted(const spec::TrainJob& job, std::shared_ptr<const Dataset> d) {
  if (d->channels != job.model.in_channels)
    return Status::invalid_argument("model.in_channels is " + std::to_string(job.model.in_channels) + " but " +
                                    job.data.dataset + " images have " + std::to_string(d->channels) +
                                    " channel(s)");
  if (d->height != job.model.input_size) {
    if (d->height > job.model.input_size)
      return Status::invalid_argument("model.input_size is " + std::to_string(job.model.input_size) + " but " +
                                      job.data.dataset + " images are " + std::to_string(d->height) + "x" +
                                      std::to_string(d->width) + " (inputs are padded, never cropped)");
    d = std::make_shared<const Dataset>(pad_images(*d, job.model.input_size));
  }
  return d;
}

}  // namespace

Result<std::shared_ptr<const Dataset>> prepared_test(const spec::TrainJob& job) {
  auto d = subset_of(job, Split::kTest);
  if (!d.ok()) return d.status();
  return fitted(job, *d);
}

Result<TrainingSplits> prepared_training(const spec::TrainJob& job) {
  auto d = subset_of(job, Split::kTrain);
  if (!d.ok()) return d.status();
  std::shared_ptr<const Dataset> train = *d, validation;
  if (job.data.val_split > 0) {
    if (job.data.val_split >= train->size())
      return Status::invalid_argument("data.val_split: " + std::to_string(job.data.val_split) + " images held out of " +
                                      std::to_string(train->size()) + " training images leaves none to train on");
    auto [rest, held] = hold_out(*train, job.data.val_split, job.train.seed + 17);
    train = std::make_shared<const Dataset>(std::move(rest));
    auto v = fitted(job, std::make_shared<const Dataset>(std::move(held)));
    if (!v.ok()) return v.status();
    validation = *v;
  }
  auto t = fitted(job, train);
  if (!t.ok()) return t.status();
  return TrainingSplits{*t, validation};
}

}  // namespace deepreduce::train
