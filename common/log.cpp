#include "common/log.h"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <spdlog/logger.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <fmt/format.h>

namespace deepreduce {
namespace {

// "07:45:43 coordinator: line", with "warning: " or "error: " before the line
// at those levels.
class TextFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::time_t t = std::chrono::system_clock::to_time_t(msg.time);
    std::tm local{};
    localtime_r(&t, &local);
    const char* prefix = msg.level == spdlog::level::warn ? "warning: " : msg.level >= spdlog::level::err ? "error: " : "";
    fmt::format_to(std::back_inserter(dest), "{:02}:{:02}:{:02} {}: {}{}\n", local.tm_hour, local.tm_min, local.tm_sec,
                   fmt::string_view(msg.logger_name.data(), msg.logger_name.size()), prefix,
                   fmt::string_view(msg.payload.data(), msg.payload.size()));
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<TextFormatter>(); }
};

// One JSON object per line: what log collectors on a cluster (Loki, Elastic,
// journald's JSON export) take without a parser of their own.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto since = msg.time.time_since_epoch();
    const std::time_t t = std::chrono::duration_cast<std::chrono::seconds>(since).count();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(since).count() % 1000;
    std::tm utc{};
    gmtime_r(&t, &utc);
    const nlohmann::json line = {
        {"time", fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900, utc.tm_mon + 1,
                             utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, ms)},
        {"level", level_name(msg.level)},
        {"source", std::string(msg.logger_name.data(), msg.logger_name.size())},
        {"pid", static_cast<int64_t>(::getpid())},
        {"message", std::string(msg.payload.data(), msg.payload.size())},
    };
    const std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(text.data(), text.data() + text.size());
    dest.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }

 private:
  static const char* level_name(spdlog::level::level_enum level) {
    switch (level) {
      case spdlog::level::trace:
      case spdlog::level::debug: return "debug";
      case spdlog::level::info: return "info";
      case spdlog::level::warn: return "warn";
      default: return "error";
    }
  }
};

// The one sink every logger writes to: stderr, a whole line per write, under
// one lock (lines of threads and loggers never interleave).
std::shared_ptr<spdlog::sinks::stderr_sink_mt> shared_sink() {
  static const auto sink = [] {
    auto s = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    s->set_formatter(std::make_unique<TextFormatter>());
    s->set_level(spdlog::level::info);
    return s;
  }();
  return sink;
}

spdlog::level::level_enum to_spdlog(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
  }
  return spdlog::level::info;
}

}  // namespace

const char* log_level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

Status configure_logging(const std::string& level, const std::string& format) {
  spdlog::level::level_enum l;
  if (level == "debug") l = spdlog::level::debug;
  else if (level == "info") l = spdlog::level::info;
  else if (level == "warn") l = spdlog::level::warn;
  else if (level == "error") l = spdlog::level::err;
  else if (level == "off") l = spdlog::level::off;
  else return Status::invalid_argument("--log-level " + level + ": expected debug, info, warn, error or off");
  std::unique_ptr<spdlog::formatter> formatter;
  if (format == "text") formatter = std::make_unique<TextFormatter>();
  else if (format == "json") formatter = std::make_unique<JsonFormatter>();
  else return Status::invalid_argument("--log-format " + format + ": expected text or json");
  auto sink = shared_sink();
  sink->set_level(l);
  sink->set_formatter(std::move(formatter));
  return Status::ok_status();
}

Log logger(const std::string& who) {
  auto log = std::make_shared<spdlog::logger>(who, shared_sink());
  log->set_level(spdlog::level::trace);  // the sink decides
  log->flush_on(spdlog::level::trace);
  return Log([log](LogLevel level, const std::string& line) { log->log(to_spdlog(level), "{}", line); });
}

}  // namespace deepreduce
