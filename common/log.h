// Logging: one format for every process, levels, and JSON lines for clusters.
//
// Components (coordinator, worker, trial runner, migrate) take a `Log`, a
// callable that a caller sets to where lines go; the commands set it to
// logger(who), which writes through spdlog to stderr in the format chosen by
// --log-format (text: "HH:MM:SS who: line", JSON: one object per line) at the
// level chosen by --log-level. Tests set a Log to a lambda that keeps lines.
//
// Torch-free and spdlog-free: only common/log.cpp includes spdlog.
#pragma once

#include <functional>
#include <string>
#include <type_traits>
#include <utility>

#include "common/status.h"

namespace deepreduce {

enum class LogLevel { kDebug, kInfo, kWarn, kError };

// "debug", "info", "warn", "error".
const char* log_level_name(LogLevel level);

// Where a component's lines go. Empty: nowhere. Built from a callable taking
// (LogLevel, line) or just (line), which then receives every level.
class Log {
 public:
  Log() = default;
  template <class F, std::enable_if_t<!std::is_same_v<std::decay_t<F>, Log> &&
                                          std::is_invocable_v<F&, LogLevel, const std::string&>,
                                      int> = 0>
  Log(F f) : fn_(std::move(f)) {}
  template <class F, std::enable_if_t<!std::is_same_v<std::decay_t<F>, Log> &&
                                          !std::is_invocable_v<F&, LogLevel, const std::string&> &&
                                          std::is_invocable_v<F&, const std::string&>,
                                      int> = 0>
  Log(F f) : fn_([f = std::move(f)](LogLevel, const std::string& line) mutable { f(line); }) {}

  void operator()(LogLevel level, const std::string& line) const {
    if (fn_) fn_(level, line);
  }
  // An event worth telling a person (info).
  void operator()(const std::string& line) const { (*this)(LogLevel::kInfo, line); }
  void debug(const std::string& line) const { (*this)(LogLevel::kDebug, line); }
  void info(const std::string& line) const { (*this)(LogLevel::kInfo, line); }
  // Something went wrong and the process goes on (a refused message, a failed trial).
  void warn(const std::string& line) const { (*this)(LogLevel::kWarn, line); }
  // Something the process cannot do (a store that takes no writes).
  void error(const std::string& line) const { (*this)(LogLevel::kError, line); }
  explicit operator bool() const { return static_cast<bool>(fn_); }

 private:
  std::function<void(LogLevel, const std::string&)> fn_;
};

// Sets the level and format of every logger(); "debug|info|warn|error|off" and
// "text|json". InvalidArgument naming the option and the choices otherwise.
// Before any call: info, text.
Status configure_logging(const std::string& level, const std::string& format);

// Lines of `who` ("coordinator", "worker", "run") on stderr, one whole line at
// a time across threads and loggers:
//   text: "07:45:43 coordinator: trial 3f2a... done on w1 (top-1 71.90)";
//         warnings and errors say so: "07:45:43 run: warning: ...".
//   json: {"time":"2026-12-06T07:45:43.123Z","level":"info","source":"coordinator","pid":4242,"message":"..."}
//         (invalid UTF-8 in a message is replaced, never breaks the line).
Log logger(const std::string& who);

}  // namespace deepreduce
