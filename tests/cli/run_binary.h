// Runs the real deepreduce binary as a user would, capturing its output.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace deepreduce::testing {

struct CmdRun {
  int code;
  std::string out;  // stdout and stderr together
};

inline CmdRun run_deepreduce(const std::string& args) {
  const std::string cmd = std::string(DEEPREDUCE_BIN) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

}  // namespace deepreduce::testing
