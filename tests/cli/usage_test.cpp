// What a user who mistypes meets: a command or an option near a known one is
// named, a prefix of an option is not guessed, and `help CMD` is CMD --help.
#include <gtest/gtest.h>

#include "tests/cli/run_binary.h"

namespace {
using deepreduce::testing::run_deepreduce;

TEST(UsageTest, AnUnknownCommandNamesTheNearestAndNotTheWholeUsage) {
  auto r = run_deepreduce("plna configs/quickstart.yaml");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("deepreduce: unknown command \"plna\"; did you mean plan?"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("Commands:"), std::string::npos) << "a typo gets one line, not the usage:\n" << r.out;
  auto far = run_deepreduce("frobnicate");
  EXPECT_EQ(far.code, 2);
  EXPECT_EQ(far.out.find("did you mean"), std::string::npos) << far.out;
  EXPECT_NE(far.out.find("deepreduce --help lists the commands"), std::string::npos) << far.out;
}

TEST(UsageTest, HelpCommandIsTheCommandsHelp) {
  auto help = run_deepreduce("help plan");
  auto flag = run_deepreduce("plan --help");
  EXPECT_EQ(help.code, 0) << help.out;
  EXPECT_EQ(help.out, flag.out);
  EXPECT_NE(help.out.find("--all"), std::string::npos) << help.out;
  auto typo = run_deepreduce("help stauts");
  EXPECT_EQ(typo.code, 2);
  EXPECT_NE(typo.out.find("deepreduce help: unknown command \"stauts\"; did you mean status?"), std::string::npos)
      << typo.out;
}

TEST(UsageTest, AnUnknownOptionNamesTheNearestOne) {
  auto r = run_deepreduce(std::string("plan ") + DEEPREDUCE_SOURCE_DIR + "/configs/quickstart.yaml --jsno");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("unrecognised option '--jsno'; did you mean --json?"), std::string::npos) << r.out;
}

// Boost would take --assume for --assume-order: an abbreviation that is unambiguous
// today becomes ambiguous when an option is added, so none is guessed.
TEST(UsageTest, APrefixOfAnOptionIsNotGuessed) {
  auto r = run_deepreduce(std::string("plan ") + DEEPREDUCE_SOURCE_DIR + "/configs/quickstart.yaml --assume ab");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("unrecognised option '--assume'; did you mean --assume-order?"), std::string::npos) << r.out;
}

}  // namespace
