// The one way a subcommand parses its options.
#pragma once

#include <boost/program_options.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace deepreduce::cli {

// The command-line style of every command: Boost's unix style without
// guessing a long option from a prefix.
int command_line_style();
// "; did you mean --epochs?" for an unknown option near a known one, else "".
std::string did_you_mean_option(const boost::program_options::options_description& desc, const std::string& given);

// Parses argv against desc into vm. An unknown option near a known one is
// answered with the one meant. Returns the exit code when the command is
// already finished: 0 after printing --help, 2 after printing what was wrong
// with the options. nullopt: go on. With notify false, po::notify is left to
// the caller (who may add options from a file first).
std::optional<int> parse_command(int argc, char** argv, const boost::program_options::options_description& desc,
                                 boost::program_options::variables_map& vm, const std::string& command,
                                 const char* positional = nullptr, bool notify = true, int positional_count = 1);

// --log-level and --log-format (common/log.h) for the commands that log
// (run, coordinator, worker, migrate).
void add_log_options(boost::program_options::options_description& desc);
// Applies them; false after saying what is wrong (exit 2).
bool apply_log_options(const boost::program_options::variables_map& vm, const std::string& command);

// "12000,6000" -> {"12000", "6000"} (empty parts dropped).
std::vector<std::string> split_commas(const std::string& text);
// A whole decimal integer (no sign, no trailing text); false otherwise.
bool parse_count(const std::string& text, int64_t& out);

}  // namespace deepreduce::cli
