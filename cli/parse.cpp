#include "cli/parse.h"

#include <iostream>

#include "cli/commands.h"

namespace deepreduce::cli {
namespace po = boost::program_options;

std::optional<int> parse_command(int argc, char** argv, const po::options_description& desc, po::variables_map& vm,
                                 const std::string& command, const char* positional, bool notify, int positional_count) {
  try {
    po::positional_options_description pos;
    if (positional) pos.add(positional, positional_count);
    po::store(po::command_line_parser(argc, argv).options(desc).positional(pos).run(), vm);
    if (vm.count("help")) {
      std::cout << desc << "\n";
      return kExitOk;
    }
    if (notify) po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "deepreduce " << command << ": " << e.what() << "\n(see deepreduce " << command << " --help)\n";
    return kExitUsage;
  }
  return std::nullopt;
}

}  // namespace deepreduce::cli
