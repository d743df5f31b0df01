// `deepreduce status` and `export` on a real store, while it is open for writing.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "spec/relu_plan.h"
#include "storage/export.h"
#include "storage/store.h"
#include "tests/cli/run_binary.h"
#include "tests/test_dirs.h"

namespace {
namespace fs = std::filesystem;
using namespace deepreduce::storage;
namespace spec = deepreduce::spec;
using deepreduce::testing::run_deepreduce;

class StoreCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = deepreduce::testing::fresh_test_dir("storecmd");
    store_ = (*open_store(dir_.string()));
    ASSERT_TRUE(store_->put_experiment({"quick", "name: quick\n", "grid", 0, kSchemaVersion, ""}).ok());
    spec::TrialSpec base;
    base.job.train.epochs = 2;
    spec::TrialSpec culled = base;
    culled.job.model = *deepreduce::spec::cull(base.job.model, {"stem", "s1"});
    culled.teacher = spec::trial_id(base);
    spec::TrialSpec other = base;
    other.job.model.alpha = 0.5;
    other.name = "half-width";  // a name a trial list gave it
    ASSERT_TRUE(store_->add_trials("quick", {base, culled, other}).ok());
    base_ = spec::trial_id(base);
    other_ = spec::trial_id(other);
    ASSERT_TRUE(store_->lease(base_, "gpu-node-3", now_ms() + 60000, "0123456789abcdef0123456789abcdef").ok());
    ASSERT_TRUE(store_->complete(base_, "gpu-node-3", 1, "0123456789abcdef0123456789abcdef",
                                 {{"top1", 93.25}, {"top5", 99.5}, {"epochs", {{{"seconds", 10.0}}, {{"seconds", 11.5}}}}},
                                 std::string("w")).ok());
    ASSERT_TRUE(store_->unblock_ready().ok());
    ASSERT_TRUE(store_->lease(trial_id(culled), "gpu-node-7", now_ms() + 60000, "0123456789abcdef0123456789abcdef").ok());
    ASSERT_TRUE(store_->record_progress(trial_id(culled), "gpu-node-7", {{"epoch", 1}, {"top1", 40.5}}).ok());
    ASSERT_TRUE(store_->lease(other_, "gpu-node-1", now_ms() + 60000, "0123456789abcdef0123456789abcdef").ok());
    ASSERT_TRUE(store_->release(other_, "CUDA out of memory", ReleaseCause::kTrialFailed, {1, 10}).ok());
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  fs::path dir_;
  std::unique_ptr<Store> store_;  // held open for writing throughout, like a coordinator
  std::string base_, other_;
};

TEST_F(StoreCommandsTest, StatusShowsStatesRunningTrialsAndFailures) {
  auto r = run_deepreduce("status --db " + dir_.string());
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* part : {"experiment quick", "strategy grid", "trials 3:", "leased 1", "done 1", "failed 1",
                           "gpu-node-7", "1/2", "40.50", "CUDA out of memory", "1/0"})
    EXPECT_NE(r.out.find(part), std::string::npos) << part << "\n" << r.out;
}

// A coordinator that could not store a result paused its dispatch: status
// (text and JSON) says so until the pause ends.
TEST_F(StoreCommandsTest, StatusShowsAPausedDispatchUntilItEnds) {
  ASSERT_TRUE(store_->put_decisions("quick", {dispatch_decision(true, "db: the disk is full: storing the model of "
                                                                      "trial x needs 9 bytes")})
                  .ok());
  auto r = run_deepreduce("status --db " + dir_.string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("dispatch is paused since "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("the store takes no results (db: the disk is full: storing the model of trial x needs 9 bytes)"),
            std::string::npos)
      << r.out;
  auto j = nlohmann::json::parse(run_deepreduce("status --json --db " + dir_.string()).out);
  EXPECT_EQ(j["paused"]["reason"], "db: the disk is full: storing the model of trial x needs 9 bytes");
  ASSERT_TRUE(store_->put_decisions("quick", {dispatch_decision(false, "the store takes results again")}).ok());
  r = run_deepreduce("status --db " + dir_.string());
  EXPECT_EQ(r.out.find("dispatch is paused"), std::string::npos) << r.out;
  j = nlohmann::json::parse(run_deepreduce("status --json --db " + dir_.string()).out);
  EXPECT_TRUE(j["paused"].is_null()) << j.dump();
}

TEST_F(StoreCommandsTest, ExportWritesOneRowPerTrial) {
  auto r = run_deepreduce("export --db " + dir_.string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 4);
  EXPECT_EQ(r.out.rfind("id,experiment,arch,plan,alpha,rho,blocks,kd,state,relus,macs,params,top1,top5,epochs,seconds",
                        0),
            0u);
  EXPECT_NE(r.out.find(base_ + ",quick,resnet18,all,1,1,\"2,2,2,2\",no,done,557056,"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cull stem,s1"), std::string::npos);
  const fs::path out = dir_.string() + ".json";
  r = run_deepreduce("export --db " + dir_.string() + " --format json --out " + out.string());
  ASSERT_EQ(r.code, 0) << r.out;
  std::ifstream in(out);
  auto j = nlohmann::json::parse(in);
  fs::remove(out);
  ASSERT_EQ(j.size(), 3u);
  for (const auto& row : j)
    if (row["id"] == base_) {
      EXPECT_EQ(row["top1"], 93.25);
      EXPECT_EQ(row["epochs"], 2);
      EXPECT_DOUBLE_EQ(row["seconds"].get<double>(), 21.5);
    }
}

// A trial list's names reach status and both exports; a search's roles too.
TEST_F(StoreCommandsTest, NamesAndRolesAreShownWhereverTrialsAre) {
  auto r = run_deepreduce("status --db " + dir_.string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("role or name"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("half-width"), std::string::npos) << "the failed trial by its name\n" << r.out;
  r = run_deepreduce("status --db " + dir_.string() + " --json");
  auto status = nlohmann::json::parse(r.out);
  EXPECT_EQ(status["failed"][0]["name"], "half-width") << r.out;
  r = run_deepreduce("export --db " + dir_.string());
  EXPECT_NE(r.out.find(",half-width,,"), std::string::npos) << r.out;
  const fs::path out = dir_.string() + ".json";
  r = run_deepreduce("export --db " + dir_.string() + " --format json --out " + out.string());
  std::ifstream in(out);
  auto rows = nlohmann::json::parse(in);
  fs::remove(out);
  for (const auto& row : rows) EXPECT_EQ(row["name"], row["id"] == other_ ? nlohmann::json("half-width") : nlohmann::json()) << row;
}

// A report of nothing is no report: it says where the experiment stands.
TEST_F(StoreCommandsTest, AReportOfAStoreWithNothingTrainedFails) {
  const fs::path empty = dir_.string() + "-empty";
  { auto s = *open_store(empty.string()); ASSERT_TRUE(s->put_experiment({"e", "name: e\n", "grid", 0, kSchemaVersion, ""}).ok()); }
  auto r = run_deepreduce("report --db " + empty.string() + " --out " + (dir_.string() + "-rep"));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("nothing to report yet: 0 trials"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir_.string() + "-rep"));
  fs::remove_all(empty);
}

// A report folder on a full disk: an error naming the file it could not
// write, never an abort, and the store untouched.
TEST_F(StoreCommandsTest, AReportOnAFullDiskSaysWhatItCouldNotWrite) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a small tmpfs (the disk that fills up)";
  const fs::path mnt = fs::temp_directory_path() / ("deepreduce_fullreport_" + std::to_string(::getpid()));
  fs::create_directories(mnt);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=16k") != 0) {
    fs::remove_all(mnt);
    GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
  }
  auto r = run_deepreduce("report --db " + dir_.string() + " --out " + (mnt / "report").string());
  ::umount2(mnt.c_str(), MNT_DETACH);
  fs::remove_all(mnt);
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find((mnt / "report").string()), std::string::npos) << r.out;
  EXPECT_TRUE(r.out.find("disk full") != std::string::npos || r.out.find("No space left on device") != std::string::npos)
      << r.out;
  EXPECT_EQ(run_deepreduce("verify --db " + dir_.string()).code, 0) << "the store is untouched";
}

TEST_F(StoreCommandsTest, StatusSaysHowToRetry) {
  auto r = run_deepreduce("status --db " + dir_.string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("deepreduce retry --db " + dir_.string() + " --failed"), std::string::npos) << r.out;
}

TEST(RetryCommandTest, FailedTrialsAndTheirFailedDependentsComeBack) {
  const fs::path dir = deepreduce::testing::fresh_test_dir("retry");
  const std::string token(32, 'a');
  std::string teacher, student, other;
  {
    auto store = *open_store(dir.string());
    spec::TrialSpec t;
    t.job.train.epochs = 2;
    spec::TrialSpec s = t;
    s.job.model.alpha = 0.5;
    s.teacher = spec::trial_id(t);
    spec::TrialSpec o = t;
    o.job.model.alpha = 0.25;
    ASSERT_TRUE(store->add_trials("x", {t, s, o}).ok());
    teacher = spec::trial_id(t);
    student = trial_id(s);
    other = spec::trial_id(o);
    ASSERT_TRUE(store->lease(teacher, "w", now_ms() + 1000, token).ok());
    ASSERT_TRUE(store->fail(teacher, "bad data").ok());
    ASSERT_TRUE(store->unblock_ready().ok());  // the student fails with it
    ASSERT_EQ(store->get_trial(student)->state, TrialState::kFailed);
  }
  auto r = run_deepreduce("retry --db " + dir.string());
  EXPECT_EQ(r.code, 2) << r.out;
  r = run_deepreduce("retry --db " + dir.string() + " " + other.substr(0, 8));  // pending: not failed
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("only failed or cancelled"), std::string::npos) << r.out;
  r = run_deepreduce("retry --db " + dir.string() + " --failed");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("2 trial(s) back in the queue"), std::string::npos) << r.out;
  {
    auto store = *open_store(dir.string());
    EXPECT_EQ(store->get_trial(teacher)->state, TrialState::kPending);
    EXPECT_EQ(store->get_trial(student)->state, TrialState::kBlocked);  // waits for its retried teacher
  }
  fs::remove_all(dir);
}

TEST(StoreCommandsErrorsTest, MissingStoreAndBadFormat) {
  auto r = run_deepreduce("status --db /nonexistent/store");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("no deepreduce store here"), std::string::npos) << r.out;
  r = run_deepreduce("export --db /tmp --format xml");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("expected csv or json"), std::string::npos);
}

// The built-in reference sets, with their tasks and sources, without a store.
TEST(ReportCommandTest, ListsTheReferenceSetsWithTheirSources) {
  auto r = run_deepreduce("report --list-references");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("snl-cifar100"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("deepreduce-resnet18-tiny-imagenet"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("cryptonas-cifar10: Ghodsi et al., CryptoNAS"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" any "), std::string::npos) << "other methods' sets hold for any architecture";
  r = run_deepreduce("report --list-references --db /tmp/x");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("--list-references takes no --db"), std::string::npos) << r.out;
}

}  // namespace
