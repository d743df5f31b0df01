// The one way a subcommand parses its options.
#pragma once

#include <boost/program_options.hpp>
#include <optional>
#include <string>

namespace deepreduce::cli {

// Parses argv against desc into vm. Returns the exit code when the command is
// already finished: 0 after printing --help, 2 after printing what was wrong
// with the options. nullopt: go on. With notify false, po::notify is left to
// the caller (who may add options from a file first).
std::optional<int> parse_command(int argc, char** argv, const boost::program_options::options_description& desc,
                                 boost::program_options::variables_map& vm, const std::string& command,
                                 const char* positional = nullptr, bool notify = true, int positional_count = 1);

}  // namespace deepreduce::cli
