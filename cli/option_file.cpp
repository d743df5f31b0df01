#include "cli/option_file.h"

#include <yaml-cpp/yaml.h>

#include "cli/parse.h"
#include "cli/train_options.h"
#include "common/files.h"
#include "search/yaml_lint.h"

#include <algorithm>
#include <filesystem>

namespace deepreduce::cli {
namespace po = boost::program_options;

Status store_option_file(const std::string& path, const po::options_description& desc, po::variables_map& vm,
                         const std::vector<std::string>& refused) {
  if (!std::filesystem::exists(path)) return Status::not_found(path + ": no such file");
  auto text = read_text_file(path, search::kMaxConfigBytes);
  if (!text.ok()) return text.status();
  YAML::Node root;
  try {
    root = YAML::Load(*text);
  } catch (const YAML::Exception& e) {
    return Status::invalid_argument(path + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
  }
  if (!root.IsMap()) return Status::invalid_argument(path + ":1: expected a mapping of option: value");
  DR_RETURN_IF_ERROR(search::lint_yaml(root, path, *text));
  return store_option_node(root, path, desc, vm, refused);
}

Status store_option_node(const YAML::Node& root, const std::string& path, const po::options_description& desc,
                         po::variables_map& vm, const std::vector<std::string>& refused,
                         const std::vector<std::string>& skip) {
  if (!root.IsMap())
    return Status::invalid_argument(path + ":" + std::to_string(root.Mark().line + 1) + ": expected a mapping of option: value");
  std::vector<std::string> args;
  for (const auto& kv : root) {
    const std::string where = path + ":" + std::to_string(kv.first.Mark().line + 1);
    if (!kv.first.IsScalar()) return Status::invalid_argument(where + ": a key must be a plain option name");
    std::string key = kv.first.Scalar();
    std::replace(key.begin(), key.end(), '_', '-');
    if (std::find(skip.begin(), skip.end(), key) != skip.end()) continue;
    const po::option_description* opt = desc.find_nothrow(key, false);
    if (!opt || std::find(refused.begin(), refused.end(), key) != refused.end())
      return Status::invalid_argument(where + ": " + key + ": unknown option" + did_you_mean_option(desc, key) +
                                      " (see --help for the options)");
    const YAML::Node& v = kv.second;
    std::string value;
    if (v.IsSequence()) {
      for (const auto& item : v) {
        if (!item.IsScalar()) return Status::invalid_argument(where + ": " + key + ": expected a list of scalars");
        value += (value.empty() ? "" : ",") + item.Scalar();
      }
    } else if (v.IsScalar()) {
      value = v.Scalar();
    } else {
      return Status::invalid_argument(where + ": " + key + ": expected a value or a list");
    }
    std::vector<std::string> one;
    if (opt->semantic()->max_tokens() == 0) {  // a switch
      if (value == "true" || value == "yes" || value == "on") {
        one.push_back("--" + key);
      } else if (value != "false" && value != "no" && value != "off") {
        return Status::invalid_argument(where + ": " + key + ": expected true or false, got \"" + value + "\"");
      }
    } else {
      one.push_back("--" + key + "=" + value);
    }
    try {
      po::variables_map probe;
      po::store(po::command_line_parser(one).options(desc).style(command_line_style()).run(), probe);
    } catch (const po::error& e) {
      return Status::invalid_argument(where + ": " + key + ": " + e.what());
    }
    args.insert(args.end(), one.begin(), one.end());
  }
  try {
    po::store(po::command_line_parser(args).options(desc).style(command_line_style()).run(), vm);
  } catch (const po::error& e) {
    return Status::invalid_argument(path + ": " + e.what());
  }
  return Status();
}

std::optional<Status> locate_job_error(const Status& s, const YAML::Node& map, const std::string& path,
                                       const std::string& prefix) {
  const std::string& msg = s.message();
  const size_t colon = msg.find(": ");
  if (colon == std::string::npos || !map.IsMap()) return std::nullopt;
  const std::string key = msg.substr(0, colon);
  std::string option = option_for_key(key);
  if (option.empty() && key.rfind("--", 0) == 0) option = key.substr(2);
  if (option.empty()) return std::nullopt;
  std::string underscored = option;
  std::replace(underscored.begin(), underscored.end(), '-', '_');
  for (const auto& kv : map)
    if (kv.first.IsScalar() && (kv.first.Scalar() == option || kv.first.Scalar() == underscored))
      return Status::invalid_argument(path + ":" + std::to_string(kv.first.Mark().line + 1) + ": " + prefix + option +
                                      ": " + msg.substr(colon + 2));
  return std::nullopt;
}

Status locate_job_error_in_file(const Status& s, const std::string& path) {
  auto text = read_text_file(path, search::kMaxConfigBytes);
  if (!text.ok()) return s;
  try {
    return locate_job_error(s, YAML::Load(*text), path).value_or(s);
  } catch (const YAML::Exception&) {
    return s;
  }
}

}  // namespace deepreduce::cli
