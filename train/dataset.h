// Image-classification datasets held in memory as uint8 NCHW, and their loaders.
//
// Nothing is downloaded: every loader reads files from a local folder and
// validates them (magic numbers, sizes, label ranges). A failure names the
// file and what was wrong with it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "spec/datasets.h"

namespace deepreduce::train {

struct Dataset {
  std::string name;  // "cifar10", "cifar100", "tiny-imagenet", "mnist", "fashion-mnist", "synthetic"
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;
  int64_t classes = 0;
  std::vector<uint8_t> images;  // size() * channels * height * width, NCHW
  std::vector<int64_t> labels;  // in [0, classes)

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  int64_t image_bytes() const { return channels * height * width; }
};

enum class Split { kTrain, kTest };

// CIFAR-10 binary: dir holds data_batch_1..5.bin and test_batch.bin (or dir/cifar-10-batches-bin does).
Result<Dataset> load_cifar10(const std::string& dir, Split split);
// CIFAR-100 binary: dir holds train.bin and test.bin (or dir/cifar-100-binary does); fine labels.
Result<Dataset> load_cifar100(const std::string& dir, Split split);
// MNIST / Fashion-MNIST IDX: {train,t10k}-{images-idx3,labels-idx1}-ubyte, plain or .gz.
Result<Dataset> load_idx(const std::string& dir, Split split, const std::string& name);
// A deterministic, learnable synthetic dataset: each class is a fixed random
// pattern plus per-image noise. Same arguments, same bytes.
Dataset make_synthetic(int64_t size, int64_t classes, int64_t channels, int64_t hw, uint64_t seed);

// Loads a named dataset's split through the loader of its catalogue row
// (spec/datasets.h). For "synthetic", dir is ignored and the split is the
// row's number of 3x32x32 images of 10 classes.
Result<Dataset> load_dataset(const std::string& name, const std::string& dir, Split split);
// Whether a loader reads the catalogue row `name` (a test holds every row to it).
bool has_loader(const std::string& name);

// A class-balanced subset of n images (n / classes per class, the remainder to the
// first classes), chosen with `seed`; n <= 0 or n >= size keeps everything. The
// subset keeps the original order.
Dataset balanced_subset(const Dataset& d, int64_t n, uint64_t seed);
// A stratified validation split: {the rest, n held-out images balanced over
// the classes}, drawn with `seed`. Disjoint; together they are d.
std::pair<Dataset, Dataset> hold_out(const Dataset& d, int64_t n, uint64_t seed);

// Zero-pads every image to `size` x `size` (centred), e.g. 28 -> 32 for MNIST.
Dataset pad_images(const Dataset& d, int64_t size);

}  // namespace deepreduce::train
