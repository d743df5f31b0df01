#include "cli/trial_list.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "cli/option_file.h"
#include "cli/train_options.h"
#include "common/digest.h"
#include "common/files.h"
#include "common/utf8.h"
#include "search/config_reader.h"
#include "search/registry.h"
#include "search/sweep.h"
#include "search/yaml_lint.h"

namespace deepreduce::cli {
namespace po = boost::program_options;

Result<TrialList> load_trial_list(const std::string& path) {
  auto text = read_text_file(path, search::kMaxConfigBytes);
  if (!text.ok()) return text.status();
  TrialList list;
  list.yaml_text = *text;
  YAML::Node root;
  try {
    root = YAML::Load(list.yaml_text);
  } catch (const YAML::Exception& e) {
    return Status::invalid_argument(path + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
  }
  auto at = [&](const YAML::Node& n) { return path + ":" + std::to_string(n.Mark().line + 1); };
  if (!root.IsMap()) return Status::invalid_argument(path + ":1: expected a mapping with name, defaults, trials");
  DR_RETURN_IF_ERROR(search::lint_yaml(root, path, list.yaml_text));
  for (const auto& kv : root) {
    const std::string key = kv.first.Scalar();
    if (key != "name" && key != "defaults" && key != "trials")
      return Status::invalid_argument(at(kv.first) + ": " + key + ": " +
                                      search::ConfigReader::unknown_key(key, {"name", "defaults", "trials"}));
  }
  list.name = std::filesystem::path(path).stem().string();
  if (root["name"]) DR_RETURN_IF_ERROR(search::read_scalar(root["name"], path, "name", "a name", list.name));
  if (const std::string why = name_problem(list.name); !why.empty())
    return Status::invalid_argument((root["name"] ? at(root["name"]) : path) + ": name: not a usable experiment name" +
                                    (root["name"] ? "" : " (the file's name, as none is given)") + ": " + why);
  const YAML::Node defaults = root["defaults"] ? root["defaults"] : YAML::Node(YAML::NodeType::Map);
  if (!defaults.IsMap()) return Status::invalid_argument(at(defaults) + ": defaults: expected a mapping of option: value");
  const YAML::Node trials = root["trials"];
  if (!trials || !trials.IsSequence() || trials.size() == 0)
    return Status::invalid_argument(at(trials ? trials : root) + ": trials: expected a non-empty list of trials");
  const po::options_description desc = job_options_description();
  const std::vector<std::string> ours = {"name", "teacher", "kind"};
  std::map<std::string, std::string> id_of;
  for (const auto& entry : trials) {
    if (!entry.IsMap()) return Status::invalid_argument(at(entry) + ": a trial is a mapping of options");
    po::variables_map vm;
    DR_RETURN_IF_ERROR(store_option_node(entry, path, desc, vm, {}, ours));
    DR_RETURN_IF_ERROR(store_option_node(defaults, path, desc, vm, {}, ours));
    po::notify(vm);
    auto job = job_from_options(vm);
    if (!job.ok()) {
      // At the trial's key, else at the defaults' (where the bad value came from).
      if (auto located = locate_job_error(job.status(), entry, path)) return *located;
      if (auto located = locate_job_error(job.status(), defaults, path, "defaults.")) return *located;
      return job.status().with_context(at(entry));
    }
    spec::TrialSpec spec;
    spec.job = *job;
    if (entry["kind"]) {
      std::string kind;
      DR_RETURN_IF_ERROR(search::read_scalar(entry["kind"], path, "kind", "train or noop", kind));
      auto parsed = parse_enum(kind, spec::kTrialKindNames);
      if (!parsed.ok()) return Status::invalid_argument(at(entry["kind"]) + ": kind: " + parsed.status().message());
      spec.kind = *parsed;
    }
    if (entry["teacher"]) {
      std::string t;
      DR_RETURN_IF_ERROR(search::read_scalar(entry["teacher"], path, "teacher", "the name of an earlier trial", t));
      auto it = id_of.find(t);
      if (it == id_of.end())
        return Status::invalid_argument(at(entry["teacher"]) + ": teacher: no trial named \"" + t +
                                        "\" earlier in the list");
      spec.teacher = it->second;
    }
    std::string name;
    if (entry["name"]) DR_RETURN_IF_ERROR(search::read_scalar(entry["name"], path, "name", "a name", name));
    if (!name.empty()) {
      if (const std::string why = name_problem(name); !why.empty())
        return Status::invalid_argument(at(entry["name"]) + ": name: not a usable trial name: " + why);
      if (id_of.count(name)) return Status::invalid_argument(at(entry["name"]) + ": name: \"" + name + "\" is used twice");
      id_of[name] = spec::trial_id(spec);
    }
    spec.name = name;  // kept with the trial (status, exports), not part of its id
    list.names.push_back(name);
    list.trials.push_back(spec);
  }
  return list;
}

Result<Experiment> load_experiment(const std::string& path) {
  auto text = read_text_file(path, search::kMaxConfigBytes);
  if (!text.ok()) return text.status();
  Experiment e;
  if (search::looks_like_sweep(*text)) {
    auto sweep = search::parse_sweep(*text, path);
    if (!sweep.ok()) return sweep.status();
    auto strategy = search::make_strategy(*sweep);
    if (!strategy.ok()) return strategy.status().with_context(path);
    auto planned = (*strategy)->propose({});
    if (!planned.ok()) return planned.status().with_context(path);
    e.name = sweep->name;
    e.yaml_text = sweep->yaml_text;
    // The search's methods ("deepreduce", "deepreduce+linearize"), and halving where it shortens them.
    for (const auto& m : sweep->methods)
      if ((*search::find_strategy(m.strategy))->section == "search")
        e.strategy += (e.strategy.empty() ? "" : "+") + m.strategy;
    if (sweep->halving.enabled) e.strategy += "+successive_halving";
    e.definition = experiment_definition(e.yaml_text);
    e.sweep = *sweep;
    e.search = std::move(*strategy);
    for (auto& p : *planned) {
      e.trials.push_back(p.spec);
      e.roles.push_back(spec::role_name(p.role));
    }
    return e;
  }
  auto list = load_trial_list(path);
  if (!list.ok()) return list.status();
  e.name = list->name;
  e.yaml_text = list->yaml_text;
  e.strategy = "list";
  e.trials = list->trials;
  e.roles = list->names;
  e.definition = experiment_definition(e.yaml_text);
  return e;
}

std::string experiment_definition(const std::string& yaml_text) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception&) {
    return blake2b_hex(yaml_text, 16);  // not YAML: the text is all there is
  }
  auto drop = [](YAML::Node node, std::initializer_list<const char*> keys) {
    if (!node.IsMap()) return;
    for (const char* k : keys)
      if (node[k]) node.remove(k);
  };
  if (root.IsMap()) {
    if (const YAML::Node d = root["dataset"]) drop(d, {"path"});
    if (const YAML::Node d = root["defaults"]) drop(d, {"data-dir", "data_dir"});
    if (const YAML::Node trials = root["trials"]; trials && trials.IsSequence())
      for (YAML::Node t : trials) drop(t, {"data-dir", "data_dir"});
  }
  YAML::Emitter out;
  out << root;
  return blake2b_hex(std::string(out.c_str(), out.size()), 16);
}

}  // namespace deepreduce::cli
