// A full disk under the store, through the filesystem seam (StoreOptions::env
// and tests/storage/quota_env.h): no root, no tmpfs. Every case is an error
// that names the store and what it was writing, never an abort, and nothing
// committed before is lost. (coordinator_tests' FullDisk* cases do the same on
// a real tmpfs with real processes, as root.)
#include <gtest/gtest.h>

#include <filesystem>

#include "storage/store.h"
#include "tests/storage/quota_env.h"
#include "tests/test_dirs.h"

namespace deepreduce::storage {
namespace {
namespace fs = std::filesystem;

const std::string kToken = "0123456789abcdef0123456789abcdef";

class FullDiskSeamTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = deepreduce::testing::fresh_test_dir("fullseam"); }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
  Result<std::unique_ptr<Store>> open(deepreduce::testing::QuotaEnv& q, bool read_only = false) {
    StoreOptions o;
    o.env = q.env();
    o.read_only = read_only;
    return open_store(db(), o);
  }
  std::string db() const { return (dir_ / "db").string(); }
  static spec::TrialSpec spec(int seed) {
    spec::TrialSpec t;
    t.job.train.seed = seed;
    return t;
  }
  fs::path dir_;
};

TEST_F(FullDiskSeamTest, CreatingAStoreWithoutRoomSaysSo) {
  deepreduce::testing::QuotaEnv q;
  q.set_left(64 << 10);
  auto s = open(q);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Status::Code::kIOError);
  EXPECT_NE(s.status().message().find(db() + ": the disk is full: creating a store needs 1048576 bytes free, 65536 are"),
            std::string::npos)
      << s.status().message();
}

TEST_F(FullDiskSeamTest, OpeningForWritingWithoutRoomSaysSoAndReadingStillWorks) {
  deepreduce::testing::QuotaEnv q;
  {
    auto s = open(q);
    ASSERT_TRUE(s.ok()) << s.status().message();
    ASSERT_TRUE((*s)->add_trials("exp", {spec(1)}).ok());
  }
  q.set_left(100 << 10);
  auto s = open(q);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("the disk is full: opening the store for writing needs 1048576 bytes free"),
            std::string::npos)
      << s.status().message();
  auto reader = open(q, /*read_only=*/true);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  EXPECT_EQ((*reader)->list_trials()->size(), 1u);
}

TEST_F(FullDiskSeamTest, AFullWalStopsTheWritingAndKeepsWhatWasCommitted) {
  // The failed DB is left open to the process's end (closing it would assert
  // in Debian's RocksDB), so its filesystem must outlive this test.
  auto* q = new deepreduce::testing::QuotaEnv;
  auto s = open(*q);
  ASSERT_TRUE(s.ok()) << s.status().message();
  auto store = std::move(*s);
  ASSERT_TRUE(store->add_trials("exp", {spec(1), spec(2)}).ok());
  q->set_left(0);
  auto failed = store->add_trials("exp", {spec(3)});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), Status::Code::kIOError);
  EXPECT_NE(failed.status().message().find(db() + ": write: the disk is full"), std::string::npos)
      << failed.status().message();
  EXPECT_NE(failed.status().message().find("everything committed before is kept"), std::string::npos);
  // This store object writes no more: the next call says why. (The quota
  // stays spent: RocksDB's own recovery of the leaked DB must not write while
  // the store is read below.)
  auto again = store->lease(trial_id(spec(1)), "w", now_ms() + 1000, kToken);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("the disk is full"), std::string::npos) << again.status().message();
  store.reset();  // no abort
  // Everything committed before the failure is there, nothing after it.
  StoreOptions ro;
  ro.read_only = true;
  auto reader = open_store(db(), ro);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  EXPECT_EQ((*reader)->list_trials()->size(), 2u);
  EXPECT_EQ((*reader)->get_trial(trial_id(spec(1)))->state, TrialState::kPending);
}

TEST_F(FullDiskSeamTest, AModelThatDoesNotFitLeavesTheLeaseAndTheStoreWritable) {
  deepreduce::testing::QuotaEnv q("/artifacts/");
  auto s = open(q);
  ASSERT_TRUE(s.ok()) << s.status().message();
  auto store = std::move(*s);
  const std::string id = trial_id(spec(1));
  ASSERT_TRUE(store->add_trials("exp", {spec(1)}).ok());
  ASSERT_TRUE(store->lease(id, "w", now_ms() + 60000, kToken).ok());
  ASSERT_TRUE(store->put_artifact(id, deepreduce::spec::ArtifactKind::kCheckpoint, std::string(2000, 'c')).ok());
  q.set_left(1000);
  const std::string model(100 << 10, 'm');
  Status full = store->complete(id, "w", 1, kToken, {{"top1", 50.0}}, model);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.message(), db() + ": the disk is full: storing the model of trial " + id +
                                " needs 102400 bytes (IO error: No space left on device: No space left on device "
                                "(test quota)); free space: everything stored before is kept")
      << full.message();
  // Nothing changed: still leased, no result, the old checkpoint intact, no half file.
  EXPECT_EQ(store->get_trial(id)->state, TrialState::kLeased);
  EXPECT_FALSE(store->get_result(id)->has_value());
  EXPECT_EQ(**store->get_artifact(id, deepreduce::spec::ArtifactKind::kCheckpoint), std::string(2000, 'c'));
  EXPECT_FALSE(store->put_artifact(id, deepreduce::spec::ArtifactKind::kCheckpoint, std::string(4000, 'd')).ok());
  EXPECT_EQ(**store->get_artifact(id, deepreduce::spec::ArtifactKind::kCheckpoint), std::string(2000, 'c'));
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir_ / "db" / "artifacts")) {
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
    ++files;
  }
  EXPECT_EQ(files, 1);
  // The records still fit: the store goes on, and once there is room the same result is stored.
  ASSERT_TRUE(store->record_progress(id, "w", {{"epoch", 1}}).ok());
  q.unlimited();
  ASSERT_TRUE(store->complete(id, "w", 1, kToken, {{"top1", 50.0}}, model).ok());
  EXPECT_EQ(store->get_trial(id)->state, TrialState::kDone);
  EXPECT_EQ(**store->get_artifact(id, deepreduce::spec::ArtifactKind::kModel), model);
}

}  // namespace
}  // namespace deepreduce::storage
