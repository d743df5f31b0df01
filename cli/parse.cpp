#include "cli/parse.h"

#include "common/log.h"

#include <iostream>

#include "cli/commands.h"
#include "common/nearest.h"

namespace deepreduce::cli {
namespace po = boost::program_options;

int command_line_style() {
  // Boost's unix style also guesses a long option from a prefix (--epoch for
  // --epochs, --worker for --workers): an option is spelt out or refused.
  return po::command_line_style::unix_style & ~po::command_line_style::allow_guessing;
}

std::string did_you_mean_option(const po::options_description& desc, const std::string& given) {
  std::string name = given;
  while (!name.empty() && name[0] == '-') name.erase(0, 1);
  const size_t eq = name.find('=');
  if (eq != std::string::npos) name.resize(eq);
  std::vector<std::string> known;
  for (const auto& o : desc.options())
    if (!o->long_name().empty()) known.push_back(o->long_name());
  std::string near = nearest(name, known);
  if (near.empty() && name.size() >= 2) {
    // A prefix of one option (refused, not guessed) names it.
    for (const auto& k : known) {
      if (k.rfind(name, 0) != 0) continue;
      if (!near.empty()) return "";
      near = k;
    }
  }
  return near.empty() ? "" : "; did you mean --" + near + "?";
}

std::optional<int> parse_command(int argc, char** argv, const po::options_description& desc, po::variables_map& vm,
                                 const std::string& command, const char* positional, bool notify, int positional_count) {
  try {
    po::positional_options_description pos;
    if (positional) pos.add(positional, positional_count);
    po::store(po::command_line_parser(argc, argv).options(desc).positional(pos).style(command_line_style()).run(), vm);
    if (vm.count("help")) {
      std::cout << desc << "\n";
      return kExitOk;
    }
    if (notify) po::notify(vm);
  } catch (const po::unknown_option& e) {
    std::cerr << "deepreduce " << command << ": " << e.what() << did_you_mean_option(desc, e.get_option_name())
              << "\n(see deepreduce " << command << " --help)\n";
    return kExitUsage;
  } catch (const po::error& e) {
    std::cerr << "deepreduce " << command << ": " << e.what() << "\n(see deepreduce " << command << " --help)\n";
    return kExitUsage;
  }
  return std::nullopt;
}

void add_log_options(po::options_description& desc) {
  desc.add_options()
      ("log-level", po::value<std::string>()->default_value("info"),
       "lines logged from this level up: debug, info, warn, error or off")
      ("log-format", po::value<std::string>()->default_value("text"),
       "text (HH:MM:SS who: line) or json (one object per line: time, level, source, pid, message)");
}

bool apply_log_options(const po::variables_map& vm, const std::string& command) {
  const Status s = configure_logging(vm["log-level"].as<std::string>(), vm["log-format"].as<std::string>());
  if (!s.ok()) std::cerr << "deepreduce " << command << ": " << s.message() << "\n";
  return s.ok();
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  size_t begin = 0;
  while (begin <= text.size()) {
    size_t end = text.find(',', begin);
    if (end == std::string::npos) end = text.size();
    if (end > begin) out.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return out;
}

bool parse_count(const std::string& text, int64_t& out) {
  if (text.empty() || text.size() > 18 || text.find_first_not_of("0123456789") != std::string::npos) return false;
  out = std::stoll(text);
  return true;
}

}  // namespace deepreduce::cli
