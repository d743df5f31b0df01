// Command-line options that describe a network (--arch, --cull, --alpha, ...),
// shared by the subcommands that take one.
#pragma once

#include <boost/program_options.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "spec/model_spec.h"

namespace deepreduce::cli {

namespace po = boost::program_options;

// Adds --arch, --classes, --in-channels, --input-size, --alpha, --rho, --blocks,
// --cull, --thin, --only, --relus, --no-relus.
void add_model_options(po::options_description& desc, bool arch_may_be_list = false);

// The names of the options above (refused beside `train --resume`).
const std::vector<std::string>& model_option_names();
// The option that sets a ModelSpec key path ("model.input_size" -> "input");
// "" for keys no option sets directly.
std::string model_option_for_key(const std::string& key_path);

// Builds the spec for `arch` from the parsed options; the message of a failure
// names the option and the valid choices.
Result<spec::ModelSpec> model_spec_from(const po::variables_map& vm, const std::string& arch);

// "a,b,c" -> {"a","b","c"}, trimming blanks and dropping empty items.
std::vector<std::string> split_list(const std::string& s);
Result<std::vector<int64_t>> parse_int_list(const std::string& s, const std::string& option);

}  // namespace deepreduce::cli
