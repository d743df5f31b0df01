#include "spec/datasets.h"

#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace deepreduce::spec {

const std::vector<DatasetDef>& dataset_registry() {
  // Normalisation constants are the per-channel means and deviations of each
  // training split, as the literature's training scripts use them.
  static const std::vector<DatasetDef> kRegistry = {
      {"cifar10", "CIFAR-10 binary: data_batch_1..5.bin, test_batch.bin", 10, 3, 32, 32,
       {{0.4914f, 0.4822f, 0.4465f}, {0.2470f, 0.2435f, 0.2616f}}, true, 50000, 10000, ""},
      {"cifar100", "CIFAR-100 binary: train.bin, test.bin (fine labels)", 100, 3, 32, 32,
       {{0.5071f, 0.4865f, 0.4409f}, {0.2673f, 0.2564f, 0.2762f}}, true, 50000, 10000, ""},
      // ImageNet's constants, as TinyImageNet training usually takes them.
      {"tiny-imagenet", "the tiny-imagenet-200 folder: wnids.txt, train/<wnid>/images, val/", 200, 3, 64, 64,
       {{0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}}, true, 100000, 10000, ""},
      // Digits are not mirror-symmetric: no flips.
      {"mnist", "MNIST IDX: {train,t10k}-{images-idx3,labels-idx1}-ubyte, plain or .gz", 10, 1, 28, 32,
       {{0.1307f}, {0.3081f}}, false, 60000, 10000, ""},
      {"fashion-mnist", "Fashion-MNIST IDX: {train,t10k}-{images-idx3,labels-idx1}-ubyte, plain or .gz", 10, 1, 28,
       32, {{0.2860f}, {0.3530f}}, true, 60000, 10000, "/usr/share/datasets/fashion-mnist"},
      {"synthetic", "generated: 10 classes of fixed random patterns plus noise, for tests", 10, 3, 32, 32,
       {{0.5f, 0.5f, 0.5f}, {0.25f, 0.25f, 0.25f}}, true, 2000, 500, "", /*needs_files=*/false},
  };
  return kRegistry;
}

std::vector<std::string> dataset_names() {
  std::vector<std::string> names;
  for (const auto& d : dataset_registry()) names.push_back(d.name);
  return names;
}

Result<const DatasetDef*> find_dataset(const std::string& name) {
  for (const auto& d : dataset_registry())
    if (d.name == name) return &d;
  return Status::not_found(fmt::format("unknown dataset \"{}\"; known: {}", name, fmt::join(dataset_names(), ", ")));
}

void apply_dataset_defaults(const DatasetDef& d, spec::ModelSpec& model) {
  model.classes = d.classes;
  model.in_channels = d.channels;
  model.input_size = d.input_size;
}

std::string default_data_dir(const DatasetDef& d) {
  std::error_code ec;
  if (!d.debian_dir.empty() && std::filesystem::is_directory(d.debian_dir, ec)) return d.debian_dir;
  return "";
}

namespace {
// dir, or dir/sub when the files are there (an archive unpacked as it comes).
std::filesystem::path in_or_under(const std::string& dir, const std::string& sub, const std::string& probe) {
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::path(dir) / probe, ec) &&
      std::filesystem::exists(std::filesystem::path(dir) / sub / probe, ec))
    return std::filesystem::path(dir) / sub;
  return dir;
}
}  // namespace

std::string data_dir_under_root(const std::string& data_root, const std::string& dataset, const std::string& data_dir) {
  auto def = find_dataset(dataset);
  if (data_root.empty() || (def.ok() && !(*def)->needs_files)) return data_dir;
  std::error_code ec;
  const std::filesystem::path per_dataset = std::filesystem::path(data_root) / dataset;
  return std::filesystem::exists(per_dataset, ec) ? per_dataset.string() : data_root;
}

Status check_data_files(const std::string& name, const std::string& dir) {
  auto def = find_dataset(name);
  if (!def.ok()) return def.status();
  if (!(*def)->needs_files) return Status();
  if (dir.empty())
    return Status::invalid_argument("dataset " + name + ": no data directory given (nothing is downloaded)");
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  if (name == "cifar10") {
    const std::filesystem::path root = in_or_under(dir, "cifar-10-batches-bin", "test_batch.bin");
    for (int i = 1; i <= 5; ++i) files.push_back(root / ("data_batch_" + std::to_string(i) + ".bin"));
    files.push_back(root / "test_batch.bin");
  } else if (name == "cifar100") {
    const std::filesystem::path root = in_or_under(dir, "cifar-100-binary", "test.bin");
    files = {root / "train.bin", root / "test.bin"};
  } else if (name == "tiny-imagenet") {
    std::filesystem::path root = dir;
    if (!std::filesystem::exists(root / "wnids.txt", ec) && std::filesystem::exists(root / "tiny-imagenet-200" / "wnids.txt", ec))
      root /= "tiny-imagenet-200";
    files = {root / "wnids.txt", root / "val" / "val_annotations.txt"};
    if (!std::filesystem::is_directory(root / "train", ec))
      return Status::not_found((root / "train").string() + ": no such folder (" + (*def)->summary + ")");
  } else {  // the IDX datasets
    for (const char* f : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                          "t10k-labels-idx1-ubyte"})
      files.push_back(std::filesystem::exists(std::filesystem::path(dir) / f, ec) || !std::filesystem::exists(std::filesystem::path(dir) / (std::string(f) + ".gz"), ec)
                          ? std::filesystem::path(dir) / f
                          : std::filesystem::path(dir) / (std::string(f) + ".gz"));
  }
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    if (!in) return Status::not_found(f.string() + ": not found or not readable (" + (*def)->summary + ")");
  }
  return Status();
}

}  // namespace deepreduce::spec
