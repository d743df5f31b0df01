#include "cli/train_options.h"

#include <filesystem>
#include <map>

#include "cli/model_options.h"
#include "spec/datasets.h"
#include "spec/job_schema.h"

namespace deepreduce::cli {
namespace po = boost::program_options;

namespace {

// The option group a key's help is listed under.
const char* group_of(const spec::JobKey& key) {
  const std::string path = key.path;
  if (path.rfind("data.", 0) == 0) return "Data";
  if (path.rfind("train.kd.", 0) == 0) return "Knowledge distillation";
  return "Optimisation";
}

}  // namespace

po::options_description job_options_description() {
  po::options_description all;
  po::options_description model("Network");
  add_model_options(model);
  all.add(model);
  // Data, optimisation and KD: one option per key of the job schema, with the
  // schema's help and default. Values are read as text and parsed by the
  // schema, so a wrong value names the option the same way on every surface.
  for (const char* group : {"Data", "Optimisation", "Knowledge distillation"}) {
    po::options_description g(group);
    for (const auto& key : spec::job_keys()) {
      if (!*key.option || std::string(group_of(key)) != group) continue;
      if (key.type == spec::KeyType::kBool) {
        g.add_options()(key.option, po::bool_switch(), key.help);
        continue;
      }
      auto* value = po::value<std::string>();
      const std::string shown = spec::default_text(key);
      if (!shown.empty()) value->default_value(shown);
      g.add_options()(key.option, value, key.help);
    }
    all.add(g);
  }
  return all;
}

const std::vector<std::string>& job_option_names() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names = model_option_names();
    for (const auto& key : spec::job_keys())
      if (*key.option) names.push_back(key.option);
    return names;
  }();
  return kNames;
}

std::string option_for_key(const std::string& key_path) {
  if (const auto* key = spec::key_by_path(key_path)) return key->option;
  return model_option_for_key(key_path);
}

Status with_option_name(const Status& s) {
  const std::string key = spec::leading_key(s.message());
  if (key.empty()) return s;
  const std::string option = option_for_key(key);
  if (option.empty()) return s;
  return Status::invalid_argument("--" + option + s.message().substr(key.size()));
}

Result<spec::TrainJob> job_from_options(const po::variables_map& vm) {
  spec::TrainJob job;
  for (const auto& key : spec::job_keys()) {
    if (!*key.option || !vm.count(key.option)) continue;
    if (key.type == spec::KeyType::kBool) {
      const bool on = vm[key.option].as<bool>();
      DR_RETURN_IF_ERROR(spec::set_key(key, job, key.negated_switch ? !on : on));
      continue;
    }
    if (Status s = spec::set_key_from_text(key, job, vm[key.option].as<std::string>()); !s.ok())
      return with_option_name(s);
  }
  auto& d = job.data;
  auto dataset = spec::find_dataset(d.dataset);
  if (!dataset.ok()) return Status::invalid_argument("--dataset: " + dataset.status().message());
  if (d.data_dir.empty()) d.data_dir = spec::default_data_dir(**dataset);
  if (d.data_dir.empty() && (*dataset)->needs_files)
    return Status::invalid_argument("--data-dir: where are the " + d.dataset + " files? (nothing is downloaded)");

  auto spec = model_spec_from(vm, vm["arch"].as<std::string>());
  if (!spec.ok()) return spec.status();
  job.model = *spec;
  // The dataset decides what the model takes unless the user said otherwise.
  spec::ModelSpec implied = job.model;
  spec::apply_dataset_defaults(**dataset, implied);
  if (vm["classes"].defaulted()) job.model.classes = implied.classes;
  if (vm["in-channels"].defaulted()) job.model.in_channels = implied.in_channels;
  if (vm["input-size"].defaulted()) job.model.input_size = implied.input_size;
  if (Status s = spec::validate(job); !s.ok()) return with_option_name(s);
  return job;
}

}  // namespace deepreduce::cli
