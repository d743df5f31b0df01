// The live page of a store whose coordinator paused dispatch (a full disk):
// served in process, its script run by a real browser, the "Now" section says
// so; once the pause has ended it says nothing.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "cli/live_page.h"
#include "storage/export.h"
#include "tests/test_dirs.h"

namespace deepreduce::cli {
namespace {
namespace fs = std::filesystem;

std::string browse(int port, const fs::path& out) {
  const std::string cmd = "timeout 60 /usr/bin/chromium --headless --no-sandbox --disable-gpu "
                          "--virtual-time-budget=5000 --dump-dom http://127.0.0.1:" + std::to_string(port) + "/ > " +
                          out.string() + " 2>/dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream in(out);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(LivePagePausedTest, TheNowSectionSaysDispatchIsPausedWhileItIs) {
  if (!fs::exists("/usr/bin/chromium")) GTEST_SKIP() << "no /usr/bin/chromium to run the page's script";
  const fs::path dir = deepreduce::testing::fresh_test_dir("livepaused");
  auto store = storage::open_store((dir / "db").string());
  ASSERT_TRUE(store.ok()) << store.status().message();
  auto& s = **store;
  ASSERT_TRUE(s.put_experiment({"paused", "name: paused\n", "grid", 0, storage::kSchemaVersion, ""}).ok());
  spec::TrialSpec t;
  const std::string id = spec::trial_id(t), lease(32, 'a');
  ASSERT_TRUE(s.add_trials("paused", {t}).ok());
  ASSERT_TRUE(s.lease(id, "w1", storage::now_ms() + 60000, lease).ok());
  ASSERT_TRUE(s.complete(id, "w1", 1, lease, {{"top1", 61.5}}, std::string("weights")).ok());
  ASSERT_TRUE(s.put_decisions("paused", {storage::dispatch_decision(
                                             true, "db: the disk is full: storing the model of trial x needs 9 bytes")})
                  .ok());
  LivePageOptions o;
  o.address = "127.0.0.1:0";
  o.db = (dir / "db").string();
  auto page = LivePage::start(o, Log());
  ASSERT_TRUE(page.ok()) << page.status().message();
  (*page)->attach(s);
  std::string dom = browse((*page)->port(), dir / "dom.html");
  // (The script's own text holds the sentence's start; only the rendered one holds the reason.)
  EXPECT_NE(dom.find("Dispatch is paused: the store takes no results (db: the disk is full: storing the model of "
                     "trial x needs 9 bytes); it resumes once they fit."),
            std::string::npos)
      << dom;
  ASSERT_TRUE(s.put_decisions("paused", {storage::dispatch_decision(false, "the store takes results again")}).ok());
  dom = browse((*page)->port(), dir / "dom2.html");
  EXPECT_NE(dom.find("<p id=\"now-paused\" class=\"warn\"></p>"), std::string::npos) << "no pause shown\n" << dom;
  EXPECT_NE(dom.find("1 trial: 1 done"), std::string::npos) << dom;
  page->reset();
  store->reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace deepreduce::cli
