// A schema-2 store, written record by record as an earlier build laid it out
// (ids that hash the data folder, artifacts in chunks), migrated to this schema:
// every trial, result and artifact survives under its new id, references
// follow, and a migration SIGKILLed at random moments always ends complete.
#include "storage/migrate.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <thread>

#include "common/digest.h"
#include "tests/storage/raw_db.h"
#include "tests/test_dirs.h"

namespace deepreduce::storage {
namespace {
namespace fs = std::filesystem;

// The id schema 2 gave a spec: its stored JSON, data folder included, hashed.
std::string v2_id(const spec::TrialSpec& spec) {
  nlohmann::json j = to_json(spec);
  j.erase("role");
  j.erase("phase");
  return blake2b_hex(j.dump(), 16);
}

spec::TrialSpec job(const std::string& data_dir, uint64_t seed) {
  spec::TrialSpec s;
  s.job.data.dataset = "fashion-mnist";
  s.job.model.in_channels = 1;
  s.job.data.data_dir = data_dir;
  s.job.train.seed = seed;
  return s;
}

struct OldTrial {
  spec::TrialSpec spec;  // teacher/base hold old ids
  TrialState state;
  std::optional<nlohmann::json> result;
  std::optional<std::string> model, checkpoint;
};

// Writes a schema-2 store holding `trials` under their v2 ids.
void write_v2_store(const fs::path& dir, const std::vector<OldTrial>& trials) {
  { ASSERT_TRUE(open_store(dir.string()).ok()); }  // every family, then rewritten by hand
  testing::with_raw_db(dir, [&](rocksdb::DB* raw, const std::vector<rocksdb::ColumnFamilyHandle*>& h) {
  rocksdb::WriteOptions w;
  ASSERT_TRUE(raw->Put(w, h[0], "schema_version", "2").ok());
  ASSERT_TRUE(raw->Put(w, h[1], "old", nlohmann::json({{"name", "old"}, {"config_yaml", "name: old\n"},
                                                       {"strategy", "list"}, {"created_ms", 1},
                                                       {"schema_version", 2}}).dump()).ok());
  for (const auto& t : trials) {
    TrialRecord r;
    r.id = v2_id(t.spec);
    r.experiment = "old";
    r.spec = t.spec;
    r.state = t.state;
    r.attempt = t.state == TrialState::kPending || t.state == TrialState::kBlocked ? 0 : 1;
    if (t.state == TrialState::kLeased) {
      r.worker = "gone";
      r.lease = "0123456789abcdef0123456789abcdef";
      r.lease_deadline_ms = now_ms() + 60000;
    }
    if (t.state == TrialState::kFailed) r.reasons = {"out of memory"};
    nlohmann::json j = to_json(r);
    j.erase("lease");  // schema-2 records predate some fields: read with defaults
    j.erase("lost");
    ASSERT_TRUE(raw->Put(w, h[2], r.id, j.dump()).ok());
    ASSERT_TRUE(raw->Put(w, h[3], std::string(state_name(r.state)) + "/" + r.id, "").ok());
    if (t.result) {
      ASSERT_TRUE(raw->Put(w, h[4], r.id, t.result->dump()).ok());
    }
    for (const auto& [kind, bytes] : {std::pair{"model", t.model}, std::pair{"checkpoint", t.checkpoint}}) {
      if (!bytes) continue;
      const std::string base = r.id + "/" + kind + "/";
      // Chunks of 4 bytes, as the earliest builds stored artifacts (in 1 MiB ones).
      uint64_t chunks = 0;
      for (size_t at = 0; at < bytes->size(); at += 4, ++chunks) {
        char key[16];
        std::snprintf(key, sizeof key, "%08llu", static_cast<unsigned long long>(chunks));
        ASSERT_TRUE(raw->Put(w, h[5], base + key, bytes->substr(at, 4)).ok());
      }
      ASSERT_TRUE(raw->Put(w, h[5], base + "meta",
                           nlohmann::json({{"size", bytes->size()}, {"blake2b", blake2b_hex(*bytes)},
                                           {"chunks", chunks}}).dump()).ok());
    }
  }
  });
}

class MigrateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = deepreduce::testing::fresh_test_dir("migrate");
    db_ = root_ / "store";
    base_ = job("/data/here", 1);
    base_elsewhere_ = job("/elsewhere/fmnist", 1);  // the same trial, its data in another folder
    student_ = job("/data/here", 2);
    student_.teacher = v2_id(base_);
    student_.job.model.relu_off = {"s1.b0.relu1"};
    resumed_ = job("/data/here", 3);
    resumed_.base = v2_id(base_);
    cancelled_ = job("/data/here", 4);
    leased_ = job("/data/here", 5);
    trials_ = {{base_, TrialState::kDone, nlohmann::json{{"top1", 71.5}}, "MODEL-OF-BASE", std::nullopt},
               {base_elsewhere_, TrialState::kFailed, std::nullopt, std::nullopt, std::nullopt},
               {student_, TrialState::kDone, nlohmann::json{{"top1", 69.0}}, "STUDENT", "STUDENT-CKPT"},
               {resumed_, TrialState::kPending, std::nullopt, std::nullopt, "HALF-TRAINED"},
               {cancelled_, TrialState::kCancelled, std::nullopt, std::nullopt, std::nullopt},
               {leased_, TrialState::kLeased, std::nullopt, std::nullopt, "LEASED-CKPT"}};
    write_v2_store(db_, trials_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // The migrated store holds what the old one did, under the new ids.
  void expect_migrated() {
    StoreOptions ro;
    ro.read_only = true;
    auto s = open_store(db_.string(), ro);
    ASSERT_TRUE(s.ok()) << s.status().message();
    Store& st = **s;
    auto all = st.list_trials();
    ASSERT_TRUE(all.ok());
    EXPECT_EQ(all->size(), 5u) << "the two data folders of one trial become one trial";
    spec::TrialSpec base = base_, student = student_, resumed = resumed_;
    student.teacher = trial_id(base);
    resumed.base = trial_id(base);
    auto b = st.get_trial(trial_id(base));
    ASSERT_TRUE(b.ok()) << b.status().message();
    EXPECT_EQ(b->state, TrialState::kDone) << "of the merged pair, the done one wins";
    EXPECT_EQ((*st.get_result(trial_id(base)))->at("top1"), 71.5);
    EXPECT_EQ(**st.get_artifact(trial_id(base), deepreduce::spec::ArtifactKind::kModel), "MODEL-OF-BASE");
    auto kd = st.get_trial(trial_id(student));
    ASSERT_TRUE(kd.ok()) << "the student's id follows its teacher's: " << kd.status().message();
    EXPECT_EQ(kd->state, TrialState::kDone);
    EXPECT_EQ(kd->spec.teacher, trial_id(base));
    EXPECT_EQ((*st.get_result(trial_id(student)))->at("top1"), 69.0);
    EXPECT_EQ(**st.get_artifact(trial_id(student), deepreduce::spec::ArtifactKind::kModel), "STUDENT");
    EXPECT_EQ(**st.get_artifact(trial_id(student), deepreduce::spec::ArtifactKind::kCheckpoint), "STUDENT-CKPT");
    auto r = st.get_trial(trial_id(resumed));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->state, TrialState::kPending);
    EXPECT_EQ(**st.get_artifact(trial_id(resumed), deepreduce::spec::ArtifactKind::kCheckpoint), "HALF-TRAINED");
    EXPECT_EQ(st.get_trial(trial_id(cancelled_))->state, TrialState::kCancelled);
    auto l = st.get_trial(trial_id(leased_));
    ASSERT_TRUE(l.ok());
    EXPECT_EQ(l->state, TrialState::kPending) << "its worker belonged to the old store";
    EXPECT_EQ(**st.get_artifact(trial_id(leased_), deepreduce::spec::ArtifactKind::kCheckpoint), "LEASED-CKPT");
    // Where the data lives is stored, not hashed.
    EXPECT_EQ(trial_id(base_), trial_id(base_elsewhere_));
    EXPECT_EQ(b->spec.job.data.data_dir, "/data/here");
  }

  fs::path root_, db_;
  spec::TrialSpec base_, base_elsewhere_, student_, resumed_, cancelled_, leased_;
  std::vector<OldTrial> trials_;
};

TEST_F(MigrateTest, ASchema2StoreIsRefusedWithTheCommandThatMigratesIt) {
  auto s = open_store(db_.string());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("deepreduce migrate --db " + db_.string()), std::string::npos)
      << s.status().message();
}

TEST_F(MigrateTest, KeepsEveryTrialResultAndArtifactUnderTheNewIds) {
  std::vector<std::string> said;
  MigrationOptions o;
  o.log = [&](const std::string& line) { said.push_back(line); };
  auto sum = migrate_store(db_.string(), o);
  ASSERT_TRUE(sum.ok()) << sum.status().message();
  EXPECT_EQ(sum->from_version, 2);
  EXPECT_EQ(sum->trials, 6);
  EXPECT_EQ(sum->merged, 1);
  EXPECT_EQ(sum->results, 2);
  EXPECT_EQ(sum->ids.size(), 6u);
  EXPECT_EQ(sum->ids.at(v2_id(base_)), sum->ids.at(v2_id(base_elsewhere_)));
  expect_migrated();
  // The old store is kept, still schema 2, and migrating again is refused.
  EXPECT_EQ(*store_schema_version(sum->backup), 2);
  auto again = migrate_store(db_.string());
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("already at schema version " + std::to_string(kSchemaVersion)), std::string::npos);
}

TEST_F(MigrateTest, AStoreInUseIsNotMigrated) {
  StoreOptions so;
  so.accept_schema = 2;
  auto holder = open_store(db_.string(), so);  // a coordinator of the old build, say
  ASSERT_TRUE(holder.ok()) << holder.status().message();
  auto sum = migrate_store(db_.string());
  ASSERT_FALSE(sum.ok());
  EXPECT_NE(sum.status().message().find("in use by another process"), std::string::npos) << sum.status().message();
  EXPECT_FALSE(fs::exists(db_.string() + ".migrating"));
}

TEST_F(MigrateTest, SigkilledAtRandomMomentsItAlwaysEndsComplete) {
  std::mt19937 rng(7);
  int killed = 0;
  for (int round = 0; round < 12; ++round) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto sum = migrate_store(db_.string());
      _exit(sum.ok() ? 0 : 1);
    }
    // Anywhere from before the old store opens to after the renames.
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 60000));
    ::kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    killed += WIFSIGNALED(status);
    if (!WIFSIGNALED(status)) break;  // it finished before the kill: done
  }
  EXPECT_GT(killed, 0) << "no kill landed during a migration";
  // Whatever state the kills left, one more run completes the migration (or
  // says it is complete), and the store holds everything.
  auto last = migrate_store(db_.string());
  if (!last.ok()) {
    EXPECT_NE(last.status().message().find("already at schema version " + std::to_string(kSchemaVersion)), std::string::npos)
        << last.status().message();
  }
  EXPECT_FALSE(fs::exists(db_.string() + ".migrating"));
  expect_migrated();
}

}  // namespace
}  // namespace deepreduce::storage
