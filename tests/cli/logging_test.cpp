// `run --log-format json` as a cluster's log collector reads it: every line the
// run logs on stderr is one JSON object with time, level, source, pid and
// message; failed trials are warnings; --log-level warn leaves out the rest.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/cli/run_binary.h"
#include "tests/test_dirs.h"

namespace {
namespace fs = std::filesystem;

class LoggingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = deepreduce::testing::fresh_test_dir("logging");
    // A learning rate that diverges: the run's one trial fails at once.
    std::ofstream(dir_ / "exp.yaml") << "name: logs\n"
                                        "dataset: {name: synthetic, train_subset: 128, test_subset: 64}\n"
                                        "model: {arch: resnet18, alpha: 0.125, blocks: [1, 1, 1, 1]}\n"
                                        "train: {epochs: 1, batch: 64, lr: 1e30}\n"
                                        "search: {strategy: grid, cull: [[]], kd: [false]}\n";
  }
  void TearDown() override { fs::remove_all(dir_); }
  // Runs `run` with `flags`; returns its exit code, stderr's lines in `lines`.
  int run(const std::string& flags, const std::string& db, std::vector<std::string>& lines) {
    const fs::path err = dir_ / "stderr.txt";
    const std::string cmd = std::string(DEEPREDUCE_BIN) + " run " + (dir_ / "exp.yaml").string() + " --db " +
                            (dir_ / db).string() + " --max-attempts 1 --workers 1 " + flags + " >/dev/null 2>" +
                            err.string();
    const int status = std::system(cmd.c_str());
    std::ifstream in(err);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  fs::path dir_;
};

TEST_F(LoggingTest, JsonLinesCarryLevelSourceAndMessage) {
  std::vector<std::string> lines;
  EXPECT_EQ(run("--log-format json --log-level debug", "json.db", lines), 1);
  int objects = 0, warnings = 0;
  bool listening = false;
  for (const auto& line : lines) {
    if (line.empty() || line[0] != '{') continue;  // the failure report after the run is prose
    const auto j = nlohmann::json::parse(line);
    ++objects;
    for (const char* key : {"time", "level", "source", "pid", "message"}) EXPECT_TRUE(j.contains(key)) << line;
    const std::string message = j["message"];
    listening |= j["source"] == "run" && message.find("coordinator listening on") == 0;
    if (j["level"] == "warn" && message.find("failed") != std::string::npos) ++warnings;
  }
  EXPECT_GE(objects, 4);
  EXPECT_TRUE(listening);
  EXPECT_GE(warnings, 1) << "the failed trial is a warning";
}

TEST_F(LoggingTest, WarnLevelLeavesOutTheEvents) {
  std::vector<std::string> lines;
  EXPECT_EQ(run("--log-level warn", "warn.db", lines), 1);
  std::string all;
  for (const auto& line : lines) all += line + "\n";
  EXPECT_EQ(all.find("coordinator listening on"), std::string::npos) << all;
  EXPECT_NE(all.find("run: warning: trial "), std::string::npos) << all;
}

TEST_F(LoggingTest, AnUnknownFormatIsRefusedBeforeAnythingIsCreated) {
  std::vector<std::string> lines;
  EXPECT_EQ(run("--log-format xml", "none.db", lines), 2);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], "deepreduce run: --log-format xml: expected text or json");
  EXPECT_FALSE(fs::exists(dir_ / "none.db"));
}

}  // namespace
