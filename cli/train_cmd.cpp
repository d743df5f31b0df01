// deepreduce train: one training run (a trial) on this machine.
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "common/format.h"
#include "cli/model_options.h"
#include "cli/option_file.h"
#include "cli/parse.h"
#include "spec/datasets.h"
#include "cli/train_options.h"
#include "spec/relu_plan.h"
#include "train/checkpoint.h"
#include "train/dataset.h"
#include "spec/job_schema.h"
#include "train/progress.h"
#include "train/trainer.h"
#include "train/trial_runner.h"

namespace deepreduce::cli {

int train_main(int argc, char** argv) {
  po::options_description job_desc = job_options_description();
  po::options_description runo("Running");
  // clang-format off
  runo.add_options()
    ("out", po::value<std::string>(), "output folder: model.pt, checkpoint.pt, result.json (required)")
    ("trial", po::value<std::string>(), "a YAML file of these options (the command line wins)")
    ("resume", po::value<std::string>(), "continue from a checkpoint.pt (its job; --epochs may extend it)")
    ("init", po::value<std::string>(),
     "a model.pt to start from (its weights, and a mask phase's α; the network must have this shape): a mask "
     "phase from a trained network, or a fine-tuning under --mask from its mask phase")
    ("prune-from", po::value<std::string>(),
     "a trained model.pt to prune into this network's shape (give it with --prune-rate or --prune-macs), "
     "then fine-tune: a channel-pruning trial")
    ("prune-criterion", po::value<std::string>()->default_value("l1"),
     "which filters --prune-from keeps: l1 (largest L1 norm) or fpgm (farthest from the geometric median)")
    ("stop-after", po::value<int64_t>()->default_value(0), "stop after this epoch, keeping the checkpoint")
    ("device", po::value<std::string>()->default_value("cpu"), "cpu, cuda or cuda:N")
    ("threads", po::value<int>()->default_value(0), "CPU threads (0: every core)")
    ("memory-format", po::value<std::string>()->default_value("auto"),
     "auto (channels-last on CUDA and on a CPU training in bf16, contiguous on a CPU in fp32), channels-last or "
     "contiguous")
    ("quiet,q", po::bool_switch(), "no progress output")
    ("help,h", "show this help");
  // clang-format on
  po::options_description desc(
      "deepreduce train: train one network and write DIR/model.pt, DIR/checkpoint.pt (after every\n"
      "epoch) and DIR/result.json.\n\n"
      "Usage: deepreduce train --arch resnet18 --alpha 0.25 --dataset fashion-mnist --epochs 5 --out runs/r18\n"
      "       deepreduce train --trial trial.yaml --out DIR\n"
      "       deepreduce train --resume DIR/checkpoint.pt --out DIR\n"
      "       deepreduce train --arch resnet18 ... --prune-macs 0.5 --prune-from runs/r18/model.pt --out DIR\n\n"
      "Options (by group)");
  desc.add(job_desc).add(runo);

  po::variables_map vm;
  if (auto done = parse_command(argc, argv, desc, vm, "train", nullptr, /*notify=*/false)) return *done;
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

  spec::RunOptions run;
  run.device = vm["device"].as<std::string>();
  run.threads = vm["threads"].as<int>();
  {
    auto format = parse_enum(vm["memory-format"].as<std::string>(), spec::kMemoryFormatNames);
    if (!format.ok()) {
      std::cerr << "deepreduce train: --memory-format: " << format.status().message() << "\n";
      return kExitUsage;
    }
    run.memory_format = *format;
  }
  run.stop_after = vm["stop-after"].as<int64_t>();
  run.progress = !vm["quiet"].as<bool>();

  spec::TrainJob job;
  if (vm.count("resume")) {
    run.resume = vm["resume"].as<std::string>();
    for (const auto& o : job_option_names())
      if (o != "epochs" && vm.count(o) && !vm[o].defaulted()) {
        std::cerr << "deepreduce train: --" << o << " with --resume: the job comes from the checkpoint "
                  << "(only --epochs, --out, --device, --threads, --memory-format, --stop-after may change)\n";
        return kExitUsage;
      }
    auto meta = train::read_checkpoint_meta(run.resume);
    if (!meta.ok()) {
      std::cerr << "deepreduce train: " << meta.status().message() << "\n";
      return kExitFailure;
    }
    auto j = spec::train_job_from_json(meta->job);
    if (!j.ok()) {
      std::cerr << "deepreduce train: " << run.resume << ": " << j.status().message() << "\n";
      return kExitFailure;
    }
    job = *j;
    if (!vm["epochs"].defaulted()) {
      const int64_t schedule = spec::schedule_epochs(job.train);
      if (Status s = spec::set_key_from_text(*spec::key_by_option("epochs"), job, vm["epochs"].as<std::string>());
          !s.ok()) {
        std::cerr << "deepreduce train: " << with_option_name(s).message() << "\n";
        return kExitUsage;
      }
      // Within the checkpoint's schedule (a shortened rung's): continue it.
      // Beyond it: the schedule runs over the new epochs from here on.
      if (job.train.epochs > schedule) {
        job.train.horizon = 0;
        run.extend = true;
        if (run.progress)
          std::cerr << "extending to " << job.train.epochs << " epochs: the epochs from the checkpoint's on follow a "
                    << enum_name(job.train.schedule, spec::kScheduleNames) << " schedule over " << job.train.epochs << " (it had " << schedule << ")\n";
      }
    }
  } else {
    auto j = job_from_options(vm);
    if (!j.ok()) {
      const Status s = vm.count("trial") ? locate_job_error_in_file(j.status(), vm["trial"].as<std::string>()) : j.status();
      std::cerr << "deepreduce train: " << s.message() << "\n";
      return kExitUsage;
    }
    job = *j;
  }

  if (run.progress)
    std::cerr << "training " << job.model.arch << " (alpha " << job.model.alpha << ", rho " << job.model.rho
              << ", ReLU plan: " << spec::plan_summary(job.model) << ") on " << job.data.dataset << " for "
              << counted(job.train.epochs, "epoch") << (job.train.kd.teacher.empty() ? "" : ", KD from " + job.train.kd.teacher)
              << "\n";
  // The trial: its inputs are files (the teacher's model.pt, a model.pt to prune).
  train::TrialRun trial;
  trial.id = out;
  trial.spec.job = job;
  trial.spec.teacher = job.train.kd.teacher;
  trial.spec.job.train.kd.teacher.clear();
  if (vm.count("prune-from") && run.resume.empty()) {
    auto criterion = spec::parse_criterion(vm["prune-criterion"].as<std::string>());
    if (!criterion.ok()) {
      std::cerr << "deepreduce train: --prune-criterion: " << criterion.status().message() << "\n";
      return kExitUsage;
    }
    if (job.model.widths.empty()) {
      std::cerr << "deepreduce train: --prune-from needs the pruned shape: --prune-rate R or --prune-macs F\n";
      return kExitUsage;
    }
    trial.spec.base = vm["prune-from"].as<std::string>();
    trial.spec.prune = spec::PruneSpec{};
    trial.spec.prune->criterion = *criterion;
  }
  if (vm.count("mask") && run.resume.empty()) run.mask = vm["mask"].as<std::string>();
  if (vm.count("init") && run.resume.empty()) {
    if (vm.count("prune-from")) {
      std::cerr << "deepreduce train: --init and --prune-from both give the starting weights: use one\n";
      return kExitUsage;
    }
    run.init = vm["init"].as<std::string>();
  }
  trial.dir = out;
  trial.run = run;
  trial.log = [&](const std::string& line) {
    if (run.progress) std::cerr << line << "\n";
  };
  train::ProgressPrinter printer;
  train::TrainHooks hooks;
  if (run.progress) hooks = printer.hooks(job.train.epochs);
  train::FileArtifacts files;
  // Checked before the --out folder is made.
  if (Status s = spec::check_data_files(job.data.dataset, job.data.data_dir); !s.ok()) {
    std::cerr << "deepreduce train: " << s.message() << "\n";
    return kExitFailure;
  }
  std::error_code ec;
  const bool out_existed = std::filesystem::exists(out, ec);
  auto result = train::run_trial(trial, files, hooks);
  if (!result.ok()) {
    // A folder this command made and left with nothing to resume from goes.
    if (!out_existed && !std::filesystem::exists(std::filesystem::path(out) / "checkpoint.pt", ec))
      std::filesystem::remove_all(out, ec);
    std::cerr << "deepreduce train: " << result.status().message() << "\n";
    return result.status().code() == Status::Code::kInvalidArgument ? kExitUsage : kExitFailure;
  }
  if (!result->completed) {
    std::cout << "stopped after epoch " << result->epochs.size() << " of " << job.train.epochs << "; continue with\n"
              << "  deepreduce train --resume " << (std::filesystem::path(out) / "checkpoint.pt").string()
              << " --out " << out << "\n";
    return kExitOk;
  }
  if (result->mask)
    std::cout << "mask phase: " << with_commas(result->relus) << " ReLUs kept of the budget "
              << with_commas(job.train.linearize.budget) << " after " << result->epochs.size()
              << " epoch(s); the mask is " << (std::filesystem::path(out) / "mask.bin").string()
              << " (train under it with --mask)\n";
  std::cout << "top-1 " << result->top1.value_or(0) << "%  top-5 " << result->top5.value_or(0) << "%  loss " << result->loss << "  ReLUs "
            << with_commas(result->relus) << "  MACs " << with_commas(result->macs) << "  params "
            << with_commas(result->params) << "\n"
            << "wrote " << (std::filesystem::path(out) / "result.json").string() << ", model.pt, checkpoint.pt\n";
  return kExitOk;
}

}  // namespace deepreduce::cli
