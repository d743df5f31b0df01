#include "cli/option_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>

namespace deepreduce::cli {
namespace po = boost::program_options;

Status store_option_file(const std::string& path, const po::options_description& desc, po::variables_map& vm,
                         const std::vector<std::string>& refused) {
  if (!std::filesystem::exists(path)) return Status::not_found(path + ": no such file");
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return Status::invalid_argument(path + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
  }
  if (!root.IsMap()) return Status::invalid_argument(path + ": expected a mapping of option: value");
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
    std::string key = kv.first.as<std::string>();
    std::replace(key.begin(), key.end(), '_', '-');
    if (std::find(skip.begin(), skip.end(), key) != skip.end()) continue;
    const po::option_description* opt = desc.find_nothrow(key, false);
    if (!opt || std::find(refused.begin(), refused.end(), key) != refused.end())
      return Status::invalid_argument(where + ": " + key + ": unknown option (see --help for the options)");
    const YAML::Node& v = kv.second;
    std::string value;
    if (v.IsSequence()) {
      for (const auto& item : v) {
        if (!item.IsScalar()) return Status::invalid_argument(where + ": " + key + ": expected a list of scalars");
        value += (value.empty() ? "" : ",") + item.as<std::string>();
      }
    } else if (v.IsScalar()) {
      value = v.as<std::string>();
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
      po::store(po::command_line_parser(one).options(desc).run(), probe);
    } catch (const po::error& e) {
      return Status::invalid_argument(where + ": " + key + ": " + e.what());
    }
    args.insert(args.end(), one.begin(), one.end());
  }
  try {
    po::store(po::command_line_parser(args).options(desc).run(), vm);
  } catch (const po::error& e) {
    return Status::invalid_argument(path + ": " + e.what());
  }
  return Status();
}

}  // namespace deepreduce::cli
