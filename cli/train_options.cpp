#include "cli/train_options.h"

#include <filesystem>
#include <map>

#include "cli/model_options.h"
#include "train/dataset.h"

namespace deepreduce::cli {
namespace po = boost::program_options;

po::options_description job_options_description() {
  po::options_description all;
  po::options_description model("Network");
  add_model_options(model);
  po::options_description data("Data");
  static std::string datasets;
  if (datasets.empty())
    for (const auto& n : train::dataset_names()) datasets += (datasets.empty() ? "" : ", ") + n;
  // clang-format off
  data.add_options()
    ("dataset", po::value<std::string>()->default_value("fashion-mnist"), datasets.c_str())
    ("data-dir", po::value<std::string>(),
     "folder of the dataset's files (fashion-mnist: Debian's /usr/share/datasets/fashion-mnist by default)")
    ("train-subset", po::value<int64_t>()->default_value(0), "class-balanced training subset size (0: all)")
    ("test-subset", po::value<int64_t>()->default_value(0), "class-balanced test subset size (0: all)")
    ("val-split", po::value<int64_t>()->default_value(0),
     "images held out of the training set (stratified, seeded) as a validation split; a search decides on "
     "validation top-1 and reports test top-1 (0: none)")
    ("no-augment", po::bool_switch(), "no random crop / flip");
  po::options_description optim("Optimisation");
  optim.add_options()
    ("epochs", po::value<int64_t>()->default_value(10), "epochs")
    ("batch", po::value<int64_t>()->default_value(128), "batch size")
    ("lr", po::value<double>()->default_value(0.1), "peak learning rate (SGD)")
    ("momentum", po::value<double>()->default_value(0.9), "SGD momentum")
    ("nesterov", po::bool_switch(), "Nesterov momentum")
    ("weight-decay", po::value<double>()->default_value(5e-4), "weight decay")
    ("schedule", po::value<std::string>()->default_value("cosine"), "cosine, multistep or constant")
    ("milestones", po::value<std::string>(), "multistep: epochs after which lr *= gamma, e.g. 100,150")
    ("gamma", po::value<double>()->default_value(0.1), "multistep decay factor")
    ("warmup", po::value<int64_t>()->default_value(0), "linear warm-up epochs")
    ("seed", po::value<uint64_t>()->default_value(0), "seed of weights, data order and augmentation")
    ("precision", po::value<std::string>()->default_value("fp32"),
     "fp32; bf16 (autocast, CPU or CUDA); fp16 (autocast with a dynamic loss scale, CUDA only)");
  po::options_description kd("Knowledge distillation");
  kd.add_options()
    ("teacher", po::value<std::string>(), "a model.pt from an earlier run: train with KD from it")
    ("kd-t", po::value<double>()->default_value(4.0), "KD temperature T")
    ("kd-lambda", po::value<double>()->default_value(0.9), "KD weight lambda of the soft-target term");
  // clang-format on
  all.add(model).add(data).add(optim).add(kd);
  return all;
}

constexpr const char* kDebianFashionMnist = "/usr/share/datasets/fashion-mnist";

const std::vector<std::string>& job_option_names() {
  static const std::vector<std::string> kNames = {
    "arch", "classes", "in-channels", "input", "alpha", "rho", "blocks", "cull", "thin", "only", "relus",
    "no-relus", "thin-position", "dataset", "data-dir", "train-subset", "test-subset", "val-split", "no-augment", "batch", "lr", "momentum",
    "nesterov", "weight-decay", "schedule", "milestones", "gamma", "warmup", "seed", "precision", "teacher", "kd-t", "kd-lambda"};
  return kNames;
}

std::string option_for_key(const std::string& key_path) {
  static const std::map<std::string, std::string> kOptions = {
      {"model.arch", "arch"},          {"model.classes", "classes"},     {"model.in_channels", "in-channels"},
      {"model.input_size", "input"},   {"model.alpha", "alpha"},         {"model.rho", "rho"},
      {"model.blocks", "blocks"},      {"data.dataset", "dataset"},      {"data.data_dir", "data-dir"},
      {"data.train_subset", "train-subset"}, {"data.test_subset", "test-subset"},
      {"data.val_split", "val-split"}, {"data.augment", "no-augment"},
      {"train.epochs", "epochs"},      {"train.batch", "batch"},         {"train.lr", "lr"},
      {"train.momentum", "momentum"},  {"train.nesterov", "nesterov"},   {"train.weight_decay", "weight-decay"},
      {"train.schedule", "schedule"},  {"train.milestones", "milestones"}, {"train.gamma", "gamma"},
      {"train.warmup_epochs", "warmup"}, {"train.seed", "seed"},         {"train.precision", "precision"},
      {"train.kd.teacher", "teacher"}, {"train.kd.temperature", "kd-t"}, {"train.kd.lambda", "kd-lambda"}};
  auto it = kOptions.find(key_path);
  return it == kOptions.end() ? "" : it->second;
}

Result<train::TrainJob> job_from_options(const po::variables_map& vm) {
  train::TrainJob job;
  auto& d = job.data;
  d.dataset = vm["dataset"].as<std::string>();
  auto classes = train::classes_for(d.dataset);
  if (!classes.ok()) return Status::invalid_argument("--dataset: " + classes.status().message());
  d.data_dir = vm.count("data-dir") ? vm["data-dir"].as<std::string>() : "";
  if (d.data_dir.empty() && d.dataset == "fashion-mnist" && std::filesystem::exists(kDebianFashionMnist))
    d.data_dir = kDebianFashionMnist;
  if (d.data_dir.empty() && d.dataset != "synthetic")
    return Status::invalid_argument("--data-dir: where are the " + d.dataset + " files? (nothing is downloaded)");
  d.train_subset = vm["train-subset"].as<int64_t>();
  d.test_subset = vm["test-subset"].as<int64_t>();
  d.val_split = vm["val-split"].as<int64_t>();
  d.augment = !vm["no-augment"].as<bool>();

  auto spec = model_spec_from(vm, vm["arch"].as<std::string>());
  if (!spec.ok()) return spec.status();
  job.model = *spec;
  // The dataset decides what the model takes unless the user said otherwise:
  // MNIST-style 28x28 grey images are padded to 32.
  const bool grey = d.dataset == "mnist" || d.dataset == "fashion-mnist";
  if (vm["classes"].defaulted()) job.model.classes = *classes;
  if (vm["in-channels"].defaulted()) job.model.in_channels = grey ? 1 : 3;

  auto& t = job.train;
  t.epochs = vm["epochs"].as<int64_t>();
  t.batch_size = vm["batch"].as<int64_t>();
  t.lr = vm["lr"].as<double>();
  t.momentum = vm["momentum"].as<double>();
  t.nesterov = vm["nesterov"].as<bool>();
  t.weight_decay = vm["weight-decay"].as<double>();
  t.schedule = vm["schedule"].as<std::string>();
  if (vm.count("milestones")) {
    auto m = parse_int_list(vm["milestones"].as<std::string>(), "milestones");
    if (!m.ok()) return m.status();
    t.milestones = *m;
  }
  t.gamma = vm["gamma"].as<double>();
  t.warmup_epochs = vm["warmup"].as<int64_t>();
  t.seed = vm["seed"].as<uint64_t>();
  t.precision = vm["precision"].as<std::string>();
  if (vm.count("teacher")) t.kd.teacher = vm["teacher"].as<std::string>();
  t.kd.temperature = vm["kd-t"].as<double>();
  t.kd.lambda = vm["kd-lambda"].as<double>();
  DR_RETURN_IF_ERROR(train::validate(job));
  return job;
}


}  // namespace deepreduce::cli
