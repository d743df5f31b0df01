// A store whose own files a disk damaged: a flipped range in the write-ahead
// log, in a table file, in the manifest; a missing CURRENT; a log cut short.
// Each is said by every open (never a smaller experiment shown as if nothing
// happened), and repair_store() brings every finished trial back from its
// result copy and artifacts on disk: planned again (as `run` does), nothing
// done is to be trained again and the rest waits as before.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "storage/recovery.h"
#include "storage/store.h"
#include "tests/storage/noop_trials.h"
#include "tests/storage/raw_db.h"
#include "tests/test_dirs.h"

namespace deepreduce::storage {
namespace {

namespace fs = std::filesystem;

constexpr int kTrials = 40, kDone = 30;

class DamageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = deepreduce::testing::fresh_test_dir("damage") / "db";
    trials_ = deepreduce::testing::noop_trials(kTrials);
    auto store = open_store(dir_.string());
    ASSERT_TRUE(store.ok()) << store.status().message();
    ASSERT_TRUE((*store)->add_trials("x", trials_).ok());
    for (int i = 0; i < kDone; ++i) {
      const std::string id = spec::trial_id(trials_[i]);
      auto leased = (*store)->lease(id, "w1", now_ms() + 60000, "tok" + std::to_string(i));
      ASSERT_TRUE(leased.ok()) << leased.status().message();
      ASSERT_TRUE((*store)->record_progress(id, "w1", {{"epoch", 1}}).ok());
      ASSERT_TRUE((*store)
                      ->complete(id, "w1", leased->attempt, "tok" + std::to_string(i), {{"top1", 50.0 + i}},
                                 "weights of " + id)
                      .ok());
      done_.push_back(id);
    }
  }

  // The largest file of the database whose name ends in `suffix` (or starts with it).
  fs::path db_file(const std::string& pattern) const {
    fs::path best;
    uintmax_t size = 0;
    for (const auto& e : fs::directory_iterator(dir_)) {
      const std::string n = e.path().filename().string();
      const bool match = n.rfind(pattern, 0) == 0 ||
                         (n.size() >= pattern.size() && n.compare(n.size() - pattern.size(), pattern.size(), pattern) == 0);
      if (e.is_regular_file() && match && e.file_size() >= size) {
        best = e.path();
        size = e.file_size();
      }
    }
    return best;
  }

  // What a disk does: `n` bytes from `at` (a fraction of the file) inverted.
  static void flip(const fs::path& file, double at, size_t n) {
    ASSERT_FALSE(file.empty());
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    const auto size = static_cast<size_t>(fs::file_size(file));
    ASSERT_GT(size, n);
    const size_t from = std::min(static_cast<size_t>(static_cast<double>(size) * at), size - n);
    std::string bytes(n, '\0');
    f.seekg(static_cast<std::streamoff>(from));
    f.read(bytes.data(), static_cast<std::streamsize>(n));
    for (auto& c : bytes) c = static_cast<char>(~c);
    f.seekp(static_cast<std::streamoff>(from));
    f.write(bytes.data(), static_cast<std::streamsize>(n));
  }

  // The records moved from the log into table files (as RocksDB does once a log is large).
  void flush() {
    testing::with_raw_db(dir_, [](rocksdb::DB* db, const std::vector<rocksdb::ColumnFamilyHandle*>& h) {
      ASSERT_TRUE(db->Flush(rocksdb::FlushOptions(), h).ok());
    });
  }

  // Every open says the store is damaged, names repair, and changes nothing.
  void expect_damage_said() {
    for (bool read_only : {true, false}) {
      StoreOptions o;
      o.read_only = read_only;
      o.create_if_missing = false;
      auto store = open_store(dir_.string(), o);
      ASSERT_FALSE(store.ok()) << (read_only ? "read-only" : "writable") << " open of a damaged store succeeded";
      EXPECT_EQ(store.status().code(), Status::Code::kCorruption) << store.status().message();
      EXPECT_NE(store.status().message().find("the store is damaged"), std::string::npos) << store.status().message();
      EXPECT_NE(store.status().message().find("deepreduce repair --db " + dir_.string()), std::string::npos);
    }
  }

  // After the repair and the trials planned again: every finished trial done
  // with its result and verified model, the rest waiting; the store opens.
  void expect_whole_after_repair(const RepairOptions& options = {}) {
    auto rep = repair_store(dir_.string(), options);
    ASSERT_TRUE(rep.ok()) << rep.status().message();
    EXPECT_TRUE(rep->records_repaired);
    EXPECT_TRUE(fs::is_directory(rep->kept_in)) << "the damaged files are kept";
    auto& store = *rep->store;
    ASSERT_TRUE(store.add_trials("x", trials_).ok());  // `run` plans them again
    for (int i = 0; i < kTrials; ++i) {
      const std::string id = spec::trial_id(trials_[i]);
      auto t = store.get_trial(id);
      ASSERT_TRUE(t.ok()) << t.status().message();
      if (i < kDone) {
        EXPECT_EQ(t->state, TrialState::kDone) << "trial " << i << " would be trained again";
        auto result = store.get_result(id);
        ASSERT_TRUE(result.ok() && *result) << "trial " << i;
        EXPECT_EQ((**result)["top1"], 50.0 + i);
        auto model = store.get_artifact(id, spec::ArtifactKind::kModel);
        ASSERT_TRUE(model.ok() && *model) << model.status().message();
        EXPECT_EQ(**model, "weights of " + id);
      } else {
        EXPECT_EQ(t->state, TrialState::kPending) << "trial " << i;
      }
    }
    rep->store.reset();
    StoreOptions o;
    o.create_if_missing = false;
    auto again = open_store(dir_.string(), o);
    ASSERT_TRUE(again.ok()) << "the repaired store opens: " << again.status().message();
    EXPECT_TRUE((*again)->verify_records().ok());
    auto counts = (*again)->count_by_state();
    ASSERT_TRUE(counts.ok());
    for (const auto& [state, n] : *counts)
      if (state == TrialState::kDone) EXPECT_EQ(n, kDone);
  }

  fs::path dir_;
  std::vector<spec::TrialSpec> trials_;
  std::vector<std::string> done_;
};

TEST_F(DamageTest, AnUndamagedStoreOpensAndRepairChangesNothing) {
  auto rep = repair_store(dir_.string());
  ASSERT_TRUE(rep.ok()) << rep.status().message();
  EXPECT_FALSE(rep->records_repaired);
  EXPECT_TRUE(rep->readopted.trials.empty());
  EXPECT_TRUE(rep->readopted.unusable.empty());
}

TEST_F(DamageTest, AFlippedRangeInTheLogIsSaidAndRepaired) {
  flip(db_file(".log"), 0.5, 32);
  expect_damage_said();
  expect_whole_after_repair();
}

TEST_F(DamageTest, ALogCutShortIsSaidAndRepaired) {
  // A log cut short looks like a crash mid-write to RocksDB, which drops the
  // tail: the result copies on disk say what it held.
  const fs::path log = db_file(".log");
  fs::resize_file(log, fs::file_size(log) * 6 / 10);
  expect_damage_said();
  expect_whole_after_repair();
}

TEST_F(DamageTest, AFlippedRangeInATableIsSaidAndRepaired) {
  flush();
  flip(db_file(".sst"), 0.5, 32);
  // Opening may not read the damaged block; verify does, and so does repair.
  StoreOptions o;
  o.read_only = true;
  auto store = open_store(dir_.string(), o);
  if (store.ok()) {
    Status s = (*store)->verify_records();
    EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.message();
    EXPECT_NE(s.message().find("deepreduce repair"), std::string::npos) << s.message();
  } else {
    EXPECT_NE(store.status().message().find("deepreduce repair"), std::string::npos) << store.status().message();
  }
  store = Result<std::unique_ptr<Store>>(Status::unavailable("closed"));
  expect_whole_after_repair();
}

TEST_F(DamageTest, AFlippedRangeInTheManifestIsSaidAndRepaired) {
  flush();
  flip(db_file("MANIFEST-"), 0.3, 16);
  expect_damage_said();
  expect_whole_after_repair();
}

TEST_F(DamageTest, AMissingCurrentIsSaidAndRepaired) {
  fs::remove(dir_ / "CURRENT");
  expect_damage_said();
  expect_whole_after_repair();
}

TEST_F(DamageTest, ACheckpointCanReplaceDamagedRecords) {
  {
    auto store = open_store(dir_.string());
    ASSERT_TRUE(store.ok());
    auto cp = (*store)->checkpoint(2);
    ASSERT_TRUE(cp.ok()) << cp.status().message();
    // Older checkpoints beyond the newest two go.
    ASSERT_TRUE((*store)->checkpoint(2).ok());
    ASSERT_TRUE((*store)->checkpoint(2).ok());
    EXPECT_EQ(list_checkpoints(dir_.string()).size(), 2u);
  }
  fs::remove(dir_ / "CURRENT");
  flip(db_file("MANIFEST-"), 0.3, 16);
  expect_damage_said();
  RepairOptions o;
  o.from_checkpoint = "latest";
  expect_whole_after_repair(o);
}

TEST_F(DamageTest, ADamagedModelIsNotBroughtBackAndItsTrialTrainsAgain) {
  // The records lose their tail and one finished trial's model is damaged too.
  const std::string victim = done_.back();
  for (const auto& e : fs::directory_iterator(dir_ / "artifacts"))
    if (e.path().filename().string().rfind(victim + ".model.", 0) == 0) flip(e.path(), 0.5, 4);
  const fs::path log = db_file(".log");
  fs::resize_file(log, fs::file_size(log) * 6 / 10);
  auto rep = repair_store(dir_.string());
  ASSERT_TRUE(rep.ok()) << rep.status().message();
  ASSERT_EQ(rep->readopted.unusable.size(), 1u);
  EXPECT_NE(rep->readopted.unusable[0].first.find(victim), std::string::npos);
  ASSERT_TRUE(rep->store->add_trials("x", trials_).ok());
  EXPECT_NE(rep->store->get_trial(victim)->state, TrialState::kDone) << "a damaged model is trained again";
  rep->store.reset();
  auto again = open_store(dir_.string());
  ASSERT_TRUE(again.ok()) << "the copy that could not be used does not block the next open: "
                          << again.status().message();
}

TEST_F(DamageTest, AResultInFlightWhenTheWriterDiedIsNotDamage) {
  // A crash between writing a result's copy and committing it leaves a copy
  // of the next event: the store opens, and the copy goes with the rest of
  // the uncommitted files.
  const std::string id = spec::trial_id(trials_[kDone]);
  uint64_t last = 0;
  {
    auto store = open_store(dir_.string());
    ASSERT_TRUE(store.ok());
    last = (*store)->last_seq();
  }
  { std::ofstream(dir_ / "artifacts" / (id + ".result." + std::to_string(last + 1) + ".json")) << "{}"; }
  auto store = open_store(dir_.string());
  ASSERT_TRUE(store.ok()) << store.status().message();
  EXPECT_FALSE(fs::exists(dir_ / "artifacts" / (id + ".result." + std::to_string(last + 1) + ".json")));
}

}  // namespace
}  // namespace deepreduce::storage
