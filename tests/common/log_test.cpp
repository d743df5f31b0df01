// The log format every process writes: text lines for a terminal, JSON lines
// for a cluster's log collector, filtered by level. stderr is captured into a
// file for each check.
#include "common/log.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace deepreduce {
namespace {

// What `write` sends to stderr, line by line.
template <class F>
std::vector<std::string> stderr_lines(F write) {
  char path[] = "/tmp/deepreduce_log_test_XXXXXX";
  const int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  std::fflush(stderr);
  const int saved = dup(2);
  dup2(fd, 2);
  write();
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  close(fd);
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::remove(path);
  return lines;
}

class LogTest : public ::testing::Test {
 protected:
  void TearDown() override { ASSERT_TRUE(configure_logging("info", "text").ok()); }
};

TEST_F(LogTest, TextLinesNameTheSourceAndSayWarningsAndErrors) {
  ASSERT_TRUE(configure_logging("info", "text").ok());
  const Log log = logger("coordinator");
  auto lines = stderr_lines([&] {
    log("trial 3f2a done");
    log.warn("worker w1 quarantined");
    log.error("store: the disk is full");
    log.debug("not shown at info");
  });
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_TRUE(std::regex_match(lines[0], std::regex(R"(\d\d:\d\d:\d\d coordinator: trial 3f2a done)"))) << lines[0];
  EXPECT_TRUE(std::regex_match(lines[1], std::regex(R"(\d\d:\d\d:\d\d coordinator: warning: worker w1 quarantined)")))
      << lines[1];
  EXPECT_TRUE(std::regex_match(lines[2], std::regex(R"(\d\d:\d\d:\d\d coordinator: error: store: the disk is full)")))
      << lines[2];
}

TEST_F(LogTest, JsonLinesAreOneObjectEachWhateverTheMessageHolds) {
  ASSERT_TRUE(configure_logging("debug", "json").ok());
  const Log log = logger("worker");
  auto lines = stderr_lines([&] {
    log.debug("assigned");
    log.warn("a \"quoted\" name\nsecond line \x1b[31m and bad UTF-8 \xff\xfe");
  });
  ASSERT_EQ(lines.size(), 2u);
  const auto first = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(first["level"], "debug");
  EXPECT_EQ(first["source"], "worker");
  EXPECT_EQ(first["message"], "assigned");
  EXPECT_EQ(first["pid"], static_cast<int64_t>(getpid()));
  EXPECT_TRUE(std::regex_match(first["time"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
      << first["time"];
  const auto second = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(second["level"], "warn");
  const std::string message = second["message"];
  EXPECT_EQ(message.rfind("a \"quoted\" name\nsecond line \x1b[31m and bad UTF-8 ", 0), 0u) << message;
  EXPECT_EQ(message.find('\xff'), std::string::npos) << "invalid UTF-8 is replaced";
}

TEST_F(LogTest, TheLevelFiltersEveryLogger) {
  ASSERT_TRUE(configure_logging("warn", "text").ok());
  const Log a = logger("run"), b = logger("worker");
  auto lines = stderr_lines([&] {
    a.info("hidden");
    b.debug("hidden");
    b.warn("shown");
    a.error("shown too");
  });
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("worker: warning: shown"), std::string::npos);
  EXPECT_NE(lines[1].find("run: error: shown too"), std::string::npos);
  ASSERT_TRUE(configure_logging("off", "text").ok());
  EXPECT_TRUE(stderr_lines([&] { a.error("nothing"); }).empty());
}

TEST_F(LogTest, UnknownLevelsAndFormatsAreRefusedNamingTheChoices) {
  Status s = configure_logging("verbose", "text");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "--log-level verbose: expected debug, info, warn, error or off");
  s = configure_logging("info", "xml");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "--log-format xml: expected text or json");
}

TEST_F(LogTest, ALogTakesLambdasWithOrWithoutTheLevel) {
  std::vector<std::string> kept;
  Log plain = [&](const std::string& line) { kept.push_back(line); };
  Log leveled = [&](LogLevel level, const std::string& line) { kept.push_back(std::string(log_level_name(level)) + " " + line); };
  plain.warn("a");
  leveled.warn("b");
  leveled("c");
  Log copy = leveled;
  copy.error("d");
  Log empty;
  empty("nowhere");
  EXPECT_FALSE(empty);
  EXPECT_TRUE(copy);
  EXPECT_EQ(kept, (std::vector<std::string>{"a", "warn b", "info c", "error d"}));
}

}  // namespace
}  // namespace deepreduce
