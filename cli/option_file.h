// YAML files of command-line options: `epochs: 3`, `cull: [stem, s1]`,
// `nesterov: true`. Keys are the long option names (with - or _). Options on
// the command line win over the file's.
#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <string>
#include <vector>
#include <yaml-cpp/yaml.h>

#include "common/status.h"

namespace deepreduce::cli {

// Parses `path` against `desc` and stores its options into `vm` (after the
// command line was stored, so the command line wins). An unknown key, a bad
// value or a YAML syntax error is an error naming file:line and the key.
// Keys in `refused` (e.g. "trial", "help") are errors too.
Status store_option_file(const std::string& path, const boost::program_options::options_description& desc,
                         boost::program_options::variables_map& vm,
                         const std::vector<std::string>& refused = {});

// The same for one YAML mapping inside a larger file; `path` names the file in
// messages. Keys in `skip` are left for the caller.
Status store_option_node(const YAML::Node& node, const std::string& path,
                         const boost::program_options::options_description& desc,
                         boost::program_options::variables_map& vm, const std::vector<std::string>& refused = {},
                         const std::vector<std::string>& skip = {});

// Where in a YAML mapping of options the error of validating a job came from:
// "train.lr: expected ..." becomes "FILE:LINE: lr: expected ..." when `map`
// wrote the option (train_options.h's option_for_key); nullopt when it did not.
std::optional<Status> locate_job_error(const Status& s, const YAML::Node& map, const std::string& path,
                                       const std::string& prefix = "");
// The same for an option file read from `path`; `s` itself when the file does not name the key.
Status locate_job_error_in_file(const Status& s, const std::string& path);

}  // namespace deepreduce::cli
