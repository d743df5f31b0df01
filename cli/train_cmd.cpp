// deepreduce train: one training run (a trial) on this machine.
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/format.h"
#include "cli/model_options.h"
#include "cli/option_file.h"
#include "nn/relu_plan.h"
#include "train/checkpoint.h"
#include "train/dataset.h"
#include "train/progress.h"
#include "train/trainer.h"

namespace deepreduce::cli {
namespace {

constexpr const char* kDebianFashionMnist = "/usr/share/datasets/fashion-mnist";

// Options that define the job (as opposed to how it runs); refused with --resume.
const char* const kJobOptions[] = {
    "arch", "classes", "in-channels", "input", "alpha", "rho", "blocks", "cull", "thin", "only", "relus",
    "no-relus", "dataset", "data-dir", "train-subset", "test-subset", "no-augment", "batch", "lr", "momentum",
    "nesterov", "weight-decay", "schedule", "milestones", "gamma", "warmup", "seed", "teacher", "kd-t", "kd-lambda"};

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
  if (vm.count("teacher")) t.kd.teacher = vm["teacher"].as<std::string>();
  t.kd.temperature = vm["kd-t"].as<double>();
  t.kd.lambda = vm["kd-lambda"].as<double>();
  DR_RETURN_IF_ERROR(train::validate(job));
  return job;
}

}  // namespace

int train_main(int argc, char** argv) {
  po::options_description model("Network");
  add_model_options(model);
  po::options_description data("Data");
  std::string datasets;
  for (const auto& n : train::dataset_names()) datasets += (datasets.empty() ? "" : ", ") + n;
  // clang-format off
  data.add_options()
    ("dataset", po::value<std::string>()->default_value("fashion-mnist"), datasets.c_str())
    ("data-dir", po::value<std::string>(),
     "folder of the dataset's files (fashion-mnist: Debian's /usr/share/datasets/fashion-mnist by default)")
    ("train-subset", po::value<int64_t>()->default_value(0), "class-balanced training subset size (0: all)")
    ("test-subset", po::value<int64_t>()->default_value(0), "class-balanced test subset size (0: all)")
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
    ("seed", po::value<uint64_t>()->default_value(0), "seed of weights, data order and augmentation");
  po::options_description kd("Knowledge distillation");
  kd.add_options()
    ("teacher", po::value<std::string>(), "a model.pt from an earlier run: train with KD from it")
    ("kd-t", po::value<double>()->default_value(4.0), "KD temperature T")
    ("kd-lambda", po::value<double>()->default_value(0.9), "KD weight lambda of the soft-target term");
  po::options_description runo("Running");
  runo.add_options()
    ("out", po::value<std::string>(), "output folder: model.pt, checkpoint.pt, result.json (required)")
    ("trial", po::value<std::string>(), "a YAML file of these options (the command line wins)")
    ("resume", po::value<std::string>(), "continue from a checkpoint.pt (its job; --epochs may extend it)")
    ("stop-after", po::value<int64_t>()->default_value(0), "stop after this epoch, keeping the checkpoint")
    ("device", po::value<std::string>()->default_value("cpu"), "cpu, cuda or cuda:N")
    ("threads", po::value<int>()->default_value(0), "CPU threads (0: every core)")
    ("quiet,q", po::bool_switch(), "no progress output")
    ("help,h", "show this help");
  // clang-format on
  po::options_description desc(
      "deepreduce train: train one network and write DIR/model.pt, DIR/checkpoint.pt (after every\n"
      "epoch) and DIR/result.json.\n\n"
      "Usage: deepreduce train --arch resnet18 --alpha 0.25 --dataset fashion-mnist --epochs 5 --out runs/r18\n"
      "       deepreduce train --trial trial.yaml --out DIR\n"
      "       deepreduce train --resume DIR/checkpoint.pt --out DIR\n");
  desc.add(model).add(data).add(optim).add(kd).add(runo);

  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(desc).run(), vm);
  } catch (const po::error& e) {
    std::cerr << "deepreduce train: " << e.what() << "\n(see deepreduce train --help)\n";
    return kExitUsage;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return kExitOk;
  }
  if (vm.count("trial")) {
    Status s = store_option_file(vm["trial"].as<std::string>(), desc, vm, {"trial", "help", "resume"});
    if (!s.ok()) {
      std::cerr << "deepreduce train: " << s.message() << "\n";
      return kExitUsage;
    }
  }
  po::notify(vm);
  if (!vm.count("out")) {
    std::cerr << "deepreduce train: --out DIR is required (where model.pt and result.json go)\n";
    return kExitUsage;
  }
  const std::string out = vm["out"].as<std::string>();

  train::RunOptions run;
  run.device = vm["device"].as<std::string>();
  run.threads = vm["threads"].as<int>();
  run.stop_after = vm["stop-after"].as<int64_t>();
  run.progress = !vm["quiet"].as<bool>();

  train::TrainJob job;
  if (vm.count("resume")) {
    run.resume = vm["resume"].as<std::string>();
    for (const char* o : kJobOptions)
      if (vm.count(o) && !vm[o].defaulted()) {
        std::cerr << "deepreduce train: --" << o << " with --resume: the job comes from the checkpoint "
                  << "(only --epochs, --out, --device, --threads, --stop-after may change)\n";
        return kExitUsage;
      }
    auto meta = train::read_checkpoint_meta(run.resume);
    if (!meta.ok()) {
      std::cerr << "deepreduce train: " << meta.status().message() << "\n";
      return kExitFailure;
    }
    auto j = train::train_job_from_json(meta->job);
    if (!j.ok()) {
      std::cerr << "deepreduce train: " << run.resume << ": " << j.status().message() << "\n";
      return kExitFailure;
    }
    job = *j;
    if (!vm["epochs"].defaulted()) job.train.epochs = vm["epochs"].as<int64_t>();
  } else {
    auto j = job_from_options(vm);
    if (!j.ok()) {
      std::cerr << "deepreduce train: " << j.status().message() << "\n";
      return kExitUsage;
    }
    job = *j;
  }

  if (run.progress)
    std::cerr << "training " << job.model.arch << " (alpha " << job.model.alpha << ", rho " << job.model.rho
              << ", ReLU plan: " << nn::plan_summary(job.model) << ") on " << job.data.dataset << " for "
              << job.train.epochs << " epochs" << (job.train.kd.teacher.empty() ? "" : ", KD from " + job.train.kd.teacher)
              << "\n";
  train::ProgressPrinter printer;
  train::TrainHooks hooks;
  if (run.progress) hooks = printer.hooks(job.train.epochs);
  auto result = train::run_training(job, run, out, hooks);
  if (!result.ok()) {
    std::cerr << "deepreduce train: " << result.status().message() << "\n";
    return result.status().code() == Status::Code::kInvalidArgument ? kExitUsage : kExitFailure;
  }
  if (!result->completed) {
    std::cout << "stopped after epoch " << result->epochs.size() << " of " << job.train.epochs << "; continue with\n"
              << "  deepreduce train --resume " << (std::filesystem::path(out) / "checkpoint.pt").string()
              << " --out " << out << "\n";
    return kExitOk;
  }
  std::cout << "top-1 " << result->top1 << "%  top-5 " << result->top5 << "%  loss " << result->loss << "  ReLUs "
            << with_commas(result->relus) << "  MACs " << with_commas(result->macs) << "  params "
            << with_commas(result->params) << "\n"
            << "wrote " << (std::filesystem::path(out) / "result.json").string() << ", model.pt, checkpoint.pt\n";
  return kExitOk;
}

}  // namespace deepreduce::cli
