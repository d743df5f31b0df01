// The job schema (spec/job_schema.h) is the one declaration of the data,
// optimisation and KD keys: the JSON form, the command line, trial files and
// sweeps all read it. These tests set every key to a value that is not its
// default on each surface and require the same job from all of them.
#include "spec/job_schema.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli/option_file.h"
#include "cli/train_options.h"
#include "search/sweep.h"
#include "tests/test_dirs.h"

namespace deepreduce::train {
namespace {
namespace po = boost::program_options;

// A value of each key that differs from its default and passes validation.
std::string text_value(const spec::JobKey& key) {
  static const std::map<std::string, std::string> kValues = {
      {"data.dataset", "cifar10"},       {"data.data_dir", "/data/somewhere"}, {"data.train_subset", "600"},
      {"data.test_subset", "200"},       {"data.val_split", "100"},            {"data.augment", "false"},
      {"train.epochs", "7"},             {"train.horizon", "9"},               {"train.batch", "64"},
      {"train.lr", "0.05"},              {"train.momentum", "0.8"},            {"train.nesterov", "true"},
      {"train.weight_decay", "0.0001"},  {"train.schedule", "multistep"},      {"train.milestones", "3,5"},
      {"train.gamma", "0.2"},            {"train.warmup_epochs", "2"},         {"train.seed", "11"},
      {"train.eval_every", "2"},
      {"train.precision", "bf16"},       {"train.kd.teacher", "t/model.pt"},   {"train.kd.temperature", "3"},
      {"train.kd.lambda", "0.5"},        {"train.kd.form", "sum"},             {"train.kd.at_weight", "1000"},
      {"train.optimizer", "adam"},
      {"train.linearize.budget", "1000"}, {"train.linearize.lambda", "0.01"}, {"train.linearize.growth", "1.5"},
      {"train.linearize.patience", "3"}, {"train.linearize.threshold", "0.05"}, {"train.linearize.method", "senet"},
      {"train.linearize.alpha_lr", "0.03"}};
  auto it = kValues.find(key.path);
  return it == kValues.end() ? "" : it->second;
}

// `deepreduce train ARGS` as far as the job: parsed options, then the job.
Result<spec::TrainJob> job_from_args(std::vector<std::string> args) {
  args.insert(args.begin(), "deepreduce");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  const po::options_description desc = cli::job_options_description();
  po::variables_map vm;
  po::store(po::command_line_parser(static_cast<int>(argv.size()), argv.data()).options(desc).run(), vm);
  po::notify(vm);
  return cli::job_from_options(vm);
}

TEST(JobSchemaTest, EveryKeyHasATestValueThatIsNotItsDefault) {
  for (const auto& key : spec::job_keys()) {
    ASSERT_FALSE(text_value(key).empty()) << key.path << " has no value in this test";
    spec::TrainJob job;
    ASSERT_TRUE(set_key_from_text(key, job, text_value(key)).ok()) << key.path;
    EXPECT_NE(get_key(key, job), get_key(key, spec::TrainJob{})) << key.path;
  }
}

// A sweep groups keys under dataset:/train:/kd:, an option is the leaf with
// dashes (KD's with a kd- prefix); the exceptions are listed here, nowhere else.
TEST(JobSchemaTest, SpellingsFollowOneRule) {
  const std::map<std::string, std::pair<std::string, std::string>> kExceptions = {
      {"data.dataset", {"dataset.name", "dataset"}},
      {"data.data_dir", {"dataset.path", "data-dir"}},
      {"data.augment", {"dataset.augment", "no-augment"}},
      {"train.horizon", {"", ""}},
      {"train.kd.teacher", {"", "teacher"}}};
  // The mask phase's keys are the linearize strategy's to set, never a sweep's.
  for (const auto& key : spec::job_keys()) {
    const std::string path = key.path;
    std::string sweep, option;
    if (auto e = kExceptions.find(path); e != kExceptions.end()) {
      std::tie(sweep, option) = e->second;
    } else {
      const std::string leaf = path.substr(path.rfind('.') + 1);
      std::string dashed = leaf;
      std::replace(dashed.begin(), dashed.end(), '_', '-');
      if (path.rfind("data.", 0) == 0) sweep = "dataset." + leaf, option = dashed;
      else if (path.rfind("train.kd.", 0) == 0) sweep = "kd." + leaf, option = "kd-" + dashed;
      else if (path.rfind("train.linearize.", 0) == 0) sweep = "", option = "linearize-" + dashed;
      else sweep = "train." + leaf, option = dashed;
    }
    EXPECT_EQ(key.sweep, sweep) << path;
    EXPECT_EQ(key.option, option) << path;
  }
}

// The job with every key at its test value, through JSON.
spec::TrainJob from_json_surface() {
  spec::TrainJob job;
  job.model.masks = spec::ReluMasks{};  // a mask phase (train.linearize.budget) trains learnable masks
  job.model.masks->learnable = true;
  for (const auto& key : spec::job_keys()) EXPECT_TRUE(set_key_from_text(key, job, text_value(key)).ok()) << key.path;
  auto back = spec::train_job_from_json(to_json(job), /*check=*/true);
  EXPECT_TRUE(back.ok()) << back.status().message();
  return back.ok() ? *back : spec::TrainJob{};
}

TEST(JobSchemaTest, JsonRoundTripsEveryKeyAndOmitsOnlyTheMarkedDefaults) {
  const spec::TrainJob job = from_json_surface();
  const nlohmann::json j = to_json(job);
  for (const auto& key : spec::job_keys()) {
    std::string pointer = std::string("/") + key.path;
    std::replace(pointer.begin(), pointer.end(), '.', '/');
    EXPECT_EQ(j.at(nlohmann::json::json_pointer(pointer)), get_key(key, job)) << key.path;
  }
  const nlohmann::json defaults = to_json(spec::TrainJob{});
  EXPECT_FALSE(defaults["train"].contains("precision"));
  EXPECT_FALSE(defaults["data"].contains("val_split"));
  EXPECT_TRUE(defaults["train"].contains("seed"));
  // Unknown keys and wrong types name the key path.
  auto unknown = spec::train_job_from_json({{"train", {{"warmup", 2}}}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("train.warmup: unknown key (known: epochs, horizon, batch"),
            std::string::npos)
      << unknown.status().message();
  auto wrong = spec::train_job_from_json({{"train", {{"kd", {{"lambda", "high"}}}}}});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().message(), "train.kd.lambda: expected a number, got \"high\"");
}

TEST(JobSchemaTest, TheCommandLineAndATrialFileGiveTheSameJob) {
  const spec::TrainJob expected = from_json_surface();
  // Command line: every option the schema gives one.
  std::vector<std::string> args = {"deepreduce", "--arch", "resnet18", "--mask-learnable", "pixel"};
  for (const auto& key : spec::job_keys()) {
    if (!*key.option) continue;
    if (key.type == spec::KeyType::kBool) {
      if ((text_value(key) == "true") != key.negated_switch) args.push_back(std::string("--") + key.option);
      continue;
    }
    args.push_back(std::string("--") + key.option + "=" + text_value(key));
  }
  args.erase(args.begin());
  auto job = job_from_args(args);
  const po::options_description desc = cli::job_options_description();
  ASSERT_TRUE(job.ok()) << job.status().message();
  job->train.horizon = expected.train.horizon;  // no option sets it: successive halving does
  job->model = expected.model;
  EXPECT_EQ(to_json(*job), to_json(expected));

  // A trial file (YAML, options with underscores).
  const auto dir = deepreduce::testing::fresh_test_dir("job_schema");
  const std::string file = (dir / "trial.yaml").string();
  {
    std::ofstream out(file);
    out << "arch: resnet18\nmask_learnable: pixel\n";
    for (const auto& key : spec::job_keys()) {
      if (!*key.option) continue;
      std::string name = key.option;
      std::replace(name.begin(), name.end(), '-', '_');
      std::string value = text_value(key);
      if (key.type == spec::KeyType::kBool) value = (value == "true") != key.negated_switch ? "true" : "false";
      if (key.type == spec::KeyType::kIntList) value = "[" + value + "]";
      out << name << ": " << value << "\n";
    }
  }
  po::variables_map fvm;
  ASSERT_TRUE(cli::store_option_file(file, desc, fvm, {}).ok());
  po::notify(fvm);
  auto from_file = cli::job_from_options(fvm);
  ASSERT_TRUE(from_file.ok()) << from_file.status().message();
  from_file->train.horizon = expected.train.horizon;
  from_file->model = expected.model;
  EXPECT_EQ(to_json(*from_file), to_json(expected));
  std::filesystem::remove_all(dir);
}

TEST(JobSchemaTest, ASweepGivesTheSameJob) {
  spec::TrainJob expected = from_json_surface();
  std::string yaml = "name: s\nmodel:\n  arch: resnet18\nsearch:\n  strategy: grid\n";
  for (const char* section : {"dataset", "train", "kd"}) {
    yaml += std::string(section) + ":\n";
    for (const auto& key : spec::job_keys()) {
      const std::string sweep = key.sweep;
      if (sweep.rfind(std::string(section) + ".", 0) != 0) continue;
      std::string value = text_value(key);
      if (key.type == spec::KeyType::kIntList) value = "[" + value + "]";
      yaml += "  " + sweep.substr(sweep.find('.') + 1) + ": " + value + "\n";
    }
  }
  auto sweep = search::parse_sweep(yaml, "s.yaml");
  ASSERT_TRUE(sweep.ok()) << sweep.status().message() << "\n" << yaml;
  // What a sweep does not set: the teacher (by role) and the horizon (by halving).
  expected.train.kd.teacher = sweep->base.train.kd.teacher;
  expected.train.horizon = sweep->base.train.horizon;
  expected.train.linearize = sweep->base.train.linearize;  // the linearize strategy's
  expected.model = sweep->base.model;
  EXPECT_EQ(to_json(sweep->base), to_json(expected));
}

// The same wrong value is named in each surface's own spelling, at its line.
TEST(JobSchemaTest, AWrongValueIsNamedInEachSurfacesSpelling) {
  auto bad = job_from_args({"--kd-lambda=high"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "--kd-lambda: expected a number, got \"high\"");
  auto out_of_range = job_from_args({"--kd-lambda=1.5"});
  ASSERT_FALSE(out_of_range.ok());
  EXPECT_EQ(out_of_range.status().message(), "--kd-lambda: expected a number in [0, 1]");
  auto sweep = search::parse_sweep(
      "name: s\ndataset:\n  name: synthetic\nmodel:\n  arch: resnet18\nkd:\n  lambda: high\nsearch:\n  strategy: grid\n",
      "s.yaml");
  ASSERT_FALSE(sweep.ok());
  EXPECT_EQ(sweep.status().message(), "s.yaml:7: kd.lambda: expected a number, got \"high\"");
}

}  // namespace
}  // namespace deepreduce::train
