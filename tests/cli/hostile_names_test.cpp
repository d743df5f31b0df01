// Names from a hostile config, and from a store an older build wrote: refused
// where they are read (FILE:LINE and the key), and escaped for every medium
// they reach anyway (terminal, CSV, JSON, HTML/SVG), so that no name can
// retitle a terminal, spoof a line, split a CSV row, break a report's XML or
// make a store path leave runs/.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "storage/store.h"
#include "tests/cli/run_binary.h"
#include "tests/test_dirs.h"

namespace {
namespace fs = std::filesystem;
using namespace deepreduce::storage;
namespace spec = deepreduce::spec;
using deepreduce::testing::run_deepreduce;

// What a terminal or an XML parser must never receive raw.
bool has_control(const std::string& s, bool allow_newlines) {
  for (unsigned char c : s) {
    if (allow_newlines && (c == '\n' || c == '\t')) continue;
    if (c < 0x20 || c == 0x7F) return true;
  }
  return false;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class HostileNamesTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = deepreduce::testing::fresh_test_dir("hostile"); }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(HostileNamesTest, PlanRefusesEachAtTheLineOfTheName) {
  const std::vector<std::pair<std::string, std::string>> names = {
      {"path", "\"../../../x\""},        {"separator", "a/b"},          {"escape", "\"a\\e]0;pwned\\a\""},
      {"cr", "\"line\\rspoofed\""},       {"nul", "\"a\\0b\""},          {"bel", "\"\\a\""},
      {"not utf-8", "\"caf\xE9\""},       {"dash", "\"--db\""},          {"long", std::string(200, 'n')},
  };
  for (const auto& [what, name] : names) {
    for (bool list : {false, true}) {
      const fs::path file = dir_ / (std::string(list ? "l" : "s") + ".yaml");
      std::ofstream(file, std::ios::binary)
          << (list ? "defaults: {dataset: synthetic}\nname: " + name + "\ntrials:\n  - {name: a}\n"
                   : "dataset: {name: synthetic}\nname: " + name + "\nmodel: {arch: resnet18}\nsearch: {strategy: grid}\n");
      auto r = run_deepreduce("plan " + file.string());
      EXPECT_EQ(r.code, 2) << what << (list ? " (list)" : " (sweep)") << ": " << r.out;
      EXPECT_NE(r.out.find(file.string() + ":2: name: not a usable experiment name"), std::string::npos)
          << what << (list ? " (list)" : " (sweep)") << ": " << r.out;
      EXPECT_FALSE(has_control(r.out, true)) << what << ": the refusal itself shows the name escaped";
    }
    const fs::path file = dir_ / "t.yaml";
    std::ofstream(file, std::ios::binary) << "name: ok\ndefaults: {dataset: synthetic}\ntrials:\n  - {name: a}\n  - name: "
                                          << name << "\n";
    auto r = run_deepreduce("plan " + file.string());
    EXPECT_EQ(r.code, 2) << what << " (trial): " << r.out;
    EXPECT_NE(r.out.find(file.string() + ":5: name: not a usable trial name"), std::string::npos)
        << what << " (trial): " << r.out;
  }
  EXPECT_FALSE(fs::exists(dir_ / ".." / ".." / ".." / "x.db"));
}

// A store an older build wrote, with hostile names and reasons in it: every
// output escapes them for its medium.
TEST_F(HostileNamesTest, EveryOutputEscapesWhatAnOlderStoreHolds) {
  const std::string evil = "evil\x1b]0;pwned\x07\r,\"<b>&\xff\xfe";
  {
    auto store = *open_store((dir_ / "db").string());
    ASSERT_TRUE(store->put_experiment({evil, "name: x\n", "grid", 0, kSchemaVersion, ""}).ok());
    spec::TrialSpec t;
    t.job.train.epochs = 2;
    t.job.data.dataset = "synthetic";
    t.name = evil;
    ASSERT_TRUE(store->add_trials(evil, {t}).ok());
    const std::string id = spec::trial_id(t);
    ASSERT_TRUE(store->lease(id, "w", now_ms() + 60000, "0123456789abcdef0123456789abcdef").ok());
    ASSERT_TRUE(store->complete(id, "w", 1, "0123456789abcdef0123456789abcdef",
                                {{"top1", 50.0}, {"epochs", {{{"seconds", 1.0}}}}}, std::string("weights"))
                    .ok());
    spec::TrialSpec u = t;
    u.job.model.alpha = 0.5;
    u.name = evil + "2";
    ASSERT_TRUE(store->add_trials(evil, {u}).ok());
    ASSERT_TRUE(store->lease(spec::trial_id(u), "w", now_ms() + 60000, "0123456789abcdef0123456789abcdef").ok());
    ASSERT_TRUE(store->fail(spec::trial_id(u), "reason " + evil).ok());
  }
  const std::string db = (dir_ / "db").string();
  auto status = run_deepreduce("status --db " + db);
  EXPECT_EQ(status.code, 0) << status.out;
  EXPECT_FALSE(has_control(status.out, true)) << status.out;
  EXPECT_NE(status.out.find("evil\\x1B]0;pwned\\x07\\x0D"), std::string::npos) << status.out;
  auto json = run_deepreduce("status --db " + db + " --json");
  EXPECT_EQ(json.code, 0) << json.out;
  EXPECT_NO_THROW((void)nlohmann::json::parse(json.out)) << json.out;
  for (const char* format : {"csv", "json"}) {
    const fs::path out = dir_ / (std::string("trials.") + format);
    auto r = run_deepreduce("export --db " + db + " --format " + format + " --out " + out.string());
    ASSERT_EQ(r.code, 0) << format << ": " << r.out;
    const std::string text = slurp(out);
    if (std::string(format) == "json") {
      EXPECT_NO_THROW((void)nlohmann::json::parse(text)) << text;
    } else {
      // RFC 4180: the CR and the comma and quote sit inside a quoted field, quotes doubled; each
      // record still ends where a line ends outside quotes.
      int records = 0;
      bool quoted = false;
      for (char c : text) {
        if (c == '"') quoted = !quoted;
        if (c == '\n' && !quoted) ++records;
      }
      EXPECT_EQ(records, 3) << "a header and two rows:\n" << text;
      EXPECT_NE(text.find("\"evil\x1b]0;pwned\x07\r,\"\"<b>&"), std::string::npos) << text;
    }
  }
  auto report = run_deepreduce("report --db " + db + " --out " + (dir_ / "report").string());
  EXPECT_EQ(report.code, 0) << report.out;
  for (const char* f : {"report.html", "figure-relus.svg"}) {
    const std::string text = slurp(dir_ / "report" / f);
    EXPECT_FALSE(has_control(text, true)) << f << " holds a raw control character";
    EXPECT_EQ(text.find("<b>&"), std::string::npos) << f << " holds the name's markup unescaped";
    EXPECT_EQ(text.find('\xff'), std::string::npos) << f << " holds bytes that are not UTF-8";
  }
}

}  // namespace
