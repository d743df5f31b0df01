// The dataset catalogue: one row per dataset deepreduce reads, with every fact
// that planning, validation and training need about it (classes, image shape,
// normalisation, augmentation, the model settings it implies, where Debian
// installs it). Free of LibTorch and of file formats: the loaders that read
// each row's files live in train/dataset.h, one per row.
//
// A new dataset is one row here and one loader in train/ (tests check that
// every row has a loader and that the loader's images match the row).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "spec/model_spec.h"

namespace deepreduce::spec {

// Per-channel normalisation constants of a dataset (on the [0, 1] scale).
struct Normalization {
  std::vector<float> mean;
  std::vector<float> std;
};

struct DatasetDef {
  std::string name;         // "cifar10", ... as configs and trials name it
  std::string summary;      // one line for --help and errors: what the files are
  int64_t classes = 0;
  int64_t channels = 0;     // 1: greyscale, 3: colour
  int64_t image_size = 0;   // the images' side as stored (28 for MNIST)
  // The input side a network takes by default: images smaller than the
  // network's input are zero-padded to it (MNIST's 28 -> 32), never cropped.
  int64_t input_size = 0;
  Normalization normalization;
  // Augmentation's horizontal flip: off where mirror images are other
  // classes (digits).
  bool flip = true;
  int64_t train_images = 0;  // the standard training split, before any subset
  int64_t test_images = 0;
  // Where Debian's package installs it ("" where no package does); used when
  // a config gives no path and the folder exists.
  std::string debian_dir;
  bool needs_files = true;  // false: generated (synthetic), no folder to read
};

// Every dataset, in a stable order.
const std::vector<DatasetDef>& dataset_registry();
// The dataset called `name`, or NotFound listing the known names.
Result<const DatasetDef*> find_dataset(const std::string& name);
// The names, in registry order (for help texts and errors).
std::vector<std::string> dataset_names();

// "The dataset decides the model": classes, input channels and input size of
// `model` set from the dataset (what a config or command line says
// explicitly is applied after this).
void apply_dataset_defaults(const DatasetDef& d, spec::ModelSpec& model);

// Where the data is when the user said nothing: Debian's folder when the row
// has one and it exists, else "".
std::string default_data_dir(const DatasetDef& d);

// Where a host's --data-root puts `dataset` (run and worker): ROOT/DATASET
// when that folder exists, else ROOT; `data_dir` as given without a root, or
// for a dataset with no files.
std::string data_dir_under_root(const std::string& data_root, const std::string& dataset, const std::string& data_dir);

// Whether the files the loader of `name` (train/dataset.h) reads for both
// splits are in `dir` and readable, without reading them: what `run` checks
// before it creates anything and `plan` notes. NotFound naming the first
// missing file and what belongs there.
Status check_data_files(const std::string& name, const std::string& dir);

}  // namespace deepreduce::spec
