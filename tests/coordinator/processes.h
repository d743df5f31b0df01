// Real processes for fault tests: the deepreduce binary started, signalled and
// reaped, its output in a log file.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace deepreduce::testing {

class Process {
 public:
  Process(const std::vector<std::string>& args, const std::string& log_path) : log_(log_path) {
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
      std::vector<char*> argv;
      std::string bin = DEEPREDUCE_BIN;
      argv.push_back(bin.data());
      for (auto& a : const_cast<std::vector<std::string>&>(args)) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
  }
  ~Process() {
    if (running()) {
      kill(pid_, SIGKILL);
      wait();
    }
  }
  pid_t pid() const { return pid_; }
  void signal(int sig) { ::kill(pid_, sig); }
  bool running() {
    if (done_) return false;
    int status;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      done_ = true;
      status_ = status;
      return false;
    }
    return true;
  }
  // Waits up to `seconds`; true if it exited.
  bool wait(double seconds = 1e9) {
    auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (running()) {
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }
  int exit_code() const { return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1; }
  std::string log() const {
    std::ifstream in(log_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  pid_t pid_ = -1;
  bool done_ = false;
  int status_ = 0;
  std::string log_;
};

}  // namespace deepreduce::testing
