// Config revisions as a user meets them: a run fails on a config mistake, the
// config is fixed and the same command run again; the store keeps every done
// trial the new config still plans, sets the others aside (cancelled or
// retired, never lost) and brings them back when a later revision plans them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/cli/run_binary.h"
#include "tests/test_dirs.h"

namespace {
namespace fs = std::filesystem;
using deepreduce::testing::run_deepreduce;

class RevisionTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = deepreduce::testing::fresh_test_dir("revision"); }
  void TearDown() override { fs::remove_all(dir_); }
  // The same experiment, its learning rate and culled stages as given.
  deepreduce::testing::CmdRun run(const std::string& lr, const std::string& cull) {
    std::ofstream(dir_ / "exp.yaml") << "name: fixme\n"
                                        "dataset: {name: synthetic, train_subset: 256, test_subset: 100}\n"
                                        "model: {arch: resnet18, alpha: 0.125, blocks: [1, 1, 1, 1]}\n"
                                        "train: {epochs: 1, batch: 64, lr: " << lr << "}\n"
                                        "search: {strategy: grid, cull: " << cull << ", kd: [false]}\n";
    return run_deepreduce("run " + (dir_ / "exp.yaml").string() + " --db " + db() + " --max-attempts 1");
  }
  std::string db() const { return (dir_ / "db").string(); }
  nlohmann::json trials() {
    auto r = run_deepreduce("export --db " + db() + " --format json --out " + (dir_ / "t.json").string());
    EXPECT_EQ(r.code, 0) << r.out;
    std::ifstream in(dir_ / "t.json");
    return nlohmann::json::parse(in);
  }
  fs::path dir_;
};

TEST_F(RevisionTest, AFixedConfigKeepsWhatItStillPlansAndSetsAsideTheRest) {
  // 1. A learning rate that diverges: both trials fail, and the advice says
  //    what to do about a config mistake.
  auto r = run("1e30", "[[], [s1]]");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("(lr 1e+30); lower the learning rate"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("a mistake in the config: fix it and run the same command again"), std::string::npos) << r.out;

  // 2. Fixed in place: a revision, not a refusal; the failed trials are cancelled.
  r = run("0.05", "[[], [s1]]");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("experiment fixme: revision 2 ("), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("lr 1e+30 -> 0.05"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 done trials kept, 2 new, 2 no longer planned"), std::string::npos) << r.out;
  // The run's local workers are gone once it ended, not active.
  auto status = run_deepreduce("status --db " + db() + " --json");
  for (const auto& w : nlohmann::json::parse(status.out)["workers"]) EXPECT_EQ(w["state"], "gone") << w.dump();
  int done = 0, cancelled = 0;
  for (const auto& t : trials()) {
    done += t["state"] == "done";
    cancelled += t["state"] == "cancelled";
  }
  EXPECT_EQ(done, 2);
  EXPECT_EQ(cancelled, 2);

  // 3. Another stage culled: the unculled network is kept, not retrained; the
  //    one no longer planned keeps its result but leaves the front.
  r = run("0.05", "[[], [s1, s2]]");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("revision 3 ("), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1 done trial kept, 1 new, 1 no longer planned"), std::string::npos) << r.out;
  std::string retired_id;
  for (const auto& t : trials())
    if (!t["retired"].is_null()) {
      EXPECT_EQ(t["state"], "done");
      EXPECT_NE(t["retired"].get<std::string>().find("no longer planned by revision 3 of experiment fixme"),
                std::string::npos);
      EXPECT_TRUE(t["top1"].is_number()) << "its result is kept";
      retired_id = t["id"];
    }
  ASSERT_FALSE(retired_id.empty());
  r = run_deepreduce("report --db " + db() + " --out " + (dir_ / "report").string());
  ASSERT_EQ(r.code, 0) << r.out;
  std::ifstream pareto(dir_ / "report" / "pareto.csv");
  const std::string front((std::istreambuf_iterator<char>(pareto)), std::istreambuf_iterator<char>());
  EXPECT_EQ(front.find(retired_id), std::string::npos) << "a retired network is left out of the front\n" << front;
  std::ifstream summary(dir_ / "report" / "summary.md");
  const std::string text((std::istreambuf_iterator<char>(summary)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("experiment fixme revision 3: the config changed"), std::string::npos) << text;

  // 4. Back to revision 2's config: the retired network counts again, nothing retrains.
  r = run("0.05", "[[], [s1]]");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("2 done trials kept, 0 new, 1 no longer planned"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("epoch 1/1"), std::string::npos) << "nothing is trained again\n" << r.out;
  for (const auto& t : trials())
    if (t["id"] == retired_id) EXPECT_TRUE(t["retired"].is_null()) << t.dump();

  // The history is in status.
  r = run_deepreduce("status --db " + db());
  EXPECT_NE(r.out.find("revision 4"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("revision/2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("revision/4"), std::string::npos) << r.out;
}

}  // namespace
