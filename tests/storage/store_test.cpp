// The Store contract, on real RocksDB in temporary folders and (the contract
// tests, StoreContractTest) on the in-memory store as well.
#include "storage/store.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "spec/relu_plan.h"
#include "tests/storage/raw_db.h"
#include "tests/test_dirs.h"

namespace deepreduce::storage {
namespace {
namespace fs = std::filesystem;

using testing::with_raw_db;

const std::string kToken = "0123456789abcdef0123456789abcdef";
const std::string kOther = "fedcba9876543210fedcba9876543210";

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = deepreduce::testing::fresh_test_dir("store");
    store_ = open();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  virtual std::unique_ptr<Store> open(StoreOptions o = {}) {
    auto s = open_store(dir_.string(), o);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(*s) : nullptr;
  }
  // A teacher (alpha 1) and its KD student (alpha 0.5), added; their ids.
  std::pair<std::string, std::string> add_teacher_and_student() {
    const spec::TrialSpec teacher = spec(1.0);
    const spec::TrialSpec student = spec(0.5, trial_id(teacher));
    EXPECT_TRUE(store_->add_trials("exp", {teacher, student}).ok());
    return {trial_id(teacher), trial_id(student)};
  }
  static spec::TrialSpec spec(double alpha, std::string teacher = "") {
    spec::TrialSpec s;
    s.job.model.alpha = alpha;
    s.job.train.epochs = 2;
    s.teacher = std::move(teacher);
    return s;
  }
  fs::path dir_;
  std::unique_ptr<Store> store_;
};

// What every Store promises, whatever holds its files: "disk" is RocksDB in a
// temporary folder, "memory" the same store over RocksDB's in-memory
// filesystem (kept across reopens by the fixture, like a disk).
class StoreContractTest : public StoreTest, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "memory") memory_.reset(rocksdb::NewMemEnv(rocksdb::Env::Default()));
    StoreTest::SetUp();
  }
  void TearDown() override {
    StoreTest::TearDown();
    memory_.reset();
  }
  std::unique_ptr<Store> open(StoreOptions o = {}) override {
    if (!memory_) return StoreTest::open(o);
    o.env = memory_.get();
    auto s = open_store("/memory/store", o);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(*s) : nullptr;
  }
  std::unique_ptr<rocksdb::Env> memory_;
};
INSTANTIATE_TEST_SUITE_P(Backends, StoreContractTest, ::testing::Values("disk", "memory"),
                         [](const auto& info) { return info.param; });

TEST(TrialIdTest, SameSpecSameIdAndLocalPathsDoNotCount) {
  spec::TrialSpec a;
  spec::TrialSpec b;
  EXPECT_EQ(trial_id(a), trial_id(b));
  EXPECT_EQ(trial_id(a).size(), 32u);
  b.job.train.kd.teacher = "/tmp/somewhere/model.pt";  // where a worker put the file
  b.job.train.kd.temperature = 8;                        // meaningless without a teacher
  EXPECT_EQ(trial_id(a), trial_id(b));
  b.job.model = *spec::thin(b.job.model, {"s3"});
  EXPECT_NE(trial_id(a), trial_id(b));
  auto back = spec::trial_spec_from_json(nlohmann::json::parse(canonical_json(b)));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(spec::trial_id(*back), trial_id(b));
  // Keys are sorted and every field is present.
  const std::string text = canonical_json(a);
  EXPECT_LT(text.find("\"base\""), text.find("\"job\""));
  EXPECT_NE(text.find("\"relu_off\":[]"), std::string::npos);
}

// Done is final but for damage: a done trial whose artifact failed
// verification is damaged, and only then trained again. Any unfinished state
// may become done again only by re-adoption (`repair` found its result and
// artifacts whole after the records lost them): storage/lifecycle.h.
TEST(TransitionTableTest, DoneIsFinalAndOnlyTableEntriesAreLegal) {
  for (auto to : all_states())
    EXPECT_EQ(transition_allowed(TrialState::kDone, to), to == TrialState::kDamaged) << state_name(to);
  EXPECT_TRUE(transition_allowed(TrialState::kDamaged, TrialState::kPending));
  for (auto from : all_states())
    EXPECT_EQ(transition_allowed(from, TrialState::kDone), from != TrialState::kDone) << state_name(from);
  EXPECT_TRUE(transition_allowed(TrialState::kPending, TrialState::kLeased));
  EXPECT_FALSE(transition_allowed(TrialState::kBlocked, TrialState::kLeased));
  EXPECT_FALSE(transition_allowed(TrialState::kFailed, TrialState::kLeased));
  auto s = check_transition("abc", TrialState::kDone, TrialState::kPending);
  EXPECT_EQ(s.message(), "trial abc: illegal transition done -> pending");
}

TEST_P(StoreContractTest, TrialsAreAddedIdempotentlyAndDependenciesBlock) {
  auto teacher = spec(1.0);
  const std::string tid = trial_id(teacher);
  auto student = spec(0.5, tid);
  auto added = store_->add_trials("exp", {teacher, student, teacher});
  ASSERT_TRUE(added.ok()) << added.status().message();
  ASSERT_EQ(added->size(), 3u);
  EXPECT_TRUE((*added)[0].created);
  EXPECT_EQ((*added)[0].state, TrialState::kPending);
  EXPECT_EQ((*added)[1].state, TrialState::kBlocked);
  EXPECT_FALSE((*added)[2].created);
  auto again = store_->add_trials("exp", {student});
  EXPECT_FALSE((*again)[0].created);
  auto counts = *store_->count_by_state();
  EXPECT_EQ(counts[0], (std::pair<TrialState, int64_t>{TrialState::kBlocked, 1}));
  EXPECT_EQ(counts[1], (std::pair<TrialState, int64_t>{TrialState::kPending, 1}));

  auto orphan = spec(0.25, "0123456789abcdef0123456789abcdef");
  auto bad = store_->add_trials("exp", {orphan});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("not in the store"), std::string::npos);
}

TEST_P(StoreContractTest, LifecycleLeaseCompleteAndUnblock) {
  auto teacher = spec(1.0);
  const std::string tid = trial_id(teacher);
  auto student = spec(0.5, tid);
  const std::string sid = trial_id(student);
  ASSERT_TRUE(store_->add_trials("exp", {teacher, student}).ok());
  EXPECT_FALSE(store_->lease(sid, "w1", now_ms() + 1000, kToken).ok());  // blocked
  auto leased = store_->lease(tid, "w1", now_ms() + 1000, kToken);
  ASSERT_TRUE(leased.ok());
  EXPECT_EQ(leased->attempt, 1);
  EXPECT_TRUE(store_->renew(tid, "w1", 1, now_ms() + 5000).ok());
  EXPECT_FALSE(store_->renew(tid, "w2", 1, now_ms() + 5000).ok());
  EXPECT_TRUE(store_->record_progress(tid, "w1", {{"epoch", 1}}).ok());
  EXPECT_TRUE(store_->unblock_ready()->empty());
  EXPECT_FALSE(store_->complete(tid, "w1", 1, kOther, {{"top1", 91.5}}, std::nullopt).ok());  // another token
  EXPECT_FALSE(store_->complete(tid, "w2", 1, kToken, {{"top1", 91.5}}, std::nullopt).ok());  // another worker
  ASSERT_TRUE(store_->complete(tid, "w1", 1, kToken, {{"top1", 91.5}}, std::string("weights")).ok());
  auto dup = store_->complete(tid, "w2", 1, kToken, {{"top1", 10.0}}, std::nullopt);
  EXPECT_FALSE(dup.ok());
  EXPECT_NE(dup.message().find("already done"), std::string::npos);
  EXPECT_EQ((**store_->get_result(tid))["top1"], 91.5);
  EXPECT_EQ(**store_->get_artifact(tid, deepreduce::spec::ArtifactKind::kModel), "weights");
  EXPECT_EQ(*store_->unblock_ready(), std::vector<std::string>{sid});
  EXPECT_EQ(store_->get_trial(sid)->state, TrialState::kPending);
  EXPECT_FALSE(store_->cancel(tid, "").ok());  // done is immutable
}

TEST_P(StoreContractTest, OnlyTheTrialsOwnFailuresUseUpItsAttempts) {
  auto t = spec(1.0);
  const std::string id = trial_id(t);
  ASSERT_TRUE(store_->add_trials("exp", {t}).ok());
  const AttemptLimits limits{3, 2};
  // Restarts, stops and broken surroundings are free, however many.
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store_->lease(id, "w", now_ms() + 1000, kToken).ok());
    auto r = store_->release(id, "coordinator restarted", ReleaseCause::kNotCharged, limits);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->state, TrialState::kPending);
  }
  ASSERT_TRUE(store_->lease(id, "w", now_ms() + 1000, kToken).ok());
  EXPECT_EQ(store_->release(id, "worker lost", ReleaseCause::kWorkerLost, limits)->state, TrialState::kPending);
  for (int attempt = 1; attempt <= 3; ++attempt) {
    ASSERT_TRUE(store_->lease(id, "w" + std::to_string(attempt), now_ms() + 1000, kToken).ok());
    auto r = store_->release(id, "loss is nan", ReleaseCause::kTrialFailed, limits);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->state, attempt < 3 ? TrialState::kPending : TrialState::kFailed);
  }
  auto rec = *store_->get_trial(id);
  EXPECT_EQ(rec.charged, 3);
  EXPECT_EQ(rec.lost, 1);
  EXPECT_EQ(rec.reasons.back(), "attempt 9 on w3: loss is nan (3 failed attempt(s): no attempts left)");
  ASSERT_TRUE(store_->retry(id, "retried by the user").ok());
  rec = *store_->get_trial(id);
  EXPECT_EQ(rec.state, TrialState::kPending);
  EXPECT_EQ(rec.charged, 0);
  // A second lost worker fails it (max_lost 2): a trial that kills its workers.
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(store_->lease(id, "w", now_ms() + 1000, kToken).ok());
    (void)store_->release(id, "worker lost", ReleaseCause::kWorkerLost, limits);
  }
  EXPECT_EQ(store_->get_trial(id)->state, TrialState::kFailed);
}

TEST_P(StoreContractTest, ARetriedStudentWaitsForItsRetriedTeacher) {
  const auto [tid, sid] = add_teacher_and_student();
  ASSERT_TRUE(store_->lease(tid, "w", now_ms() + 1000, kToken).ok());
  ASSERT_TRUE(store_->fail(tid, "bad data").ok());
  ASSERT_EQ(*store_->unblock_ready(), std::vector<std::string>{sid});
  ASSERT_EQ(store_->get_trial(sid)->state, TrialState::kFailed);
  ASSERT_TRUE(store_->retry(tid, "retried by the user").ok());
  ASSERT_TRUE(store_->retry(sid, "retried by the user").ok());
  EXPECT_EQ(store_->get_trial(tid)->state, TrialState::kPending);
  EXPECT_EQ(store_->get_trial(sid)->state, TrialState::kBlocked);
  EXPECT_FALSE(store_->retry(tid, "retried by the user").ok());  // only failed or cancelled trials
}

// A failure names the dependency that failed, and a permanent failure counts
// as one of the trial's own.
TEST_P(StoreContractTest, ADependentSaysWhichDependencyFailed) {
  auto teacher = spec(1.0);
  teacher.name = "the-teacher";
  const std::string tid = trial_id(teacher);
  auto student = spec(0.5, tid);
  const std::string sid = trial_id(student);
  ASSERT_TRUE(store_->add_trials("exp", {teacher, student}).ok());
  ASSERT_TRUE(store_->lease(tid, "w", now_ms() + 1000, kToken).ok());
  ASSERT_TRUE(store_->fail(tid, "loss is not finite").ok());
  EXPECT_EQ(store_->get_trial(tid)->charged, 1);
  ASSERT_EQ(*store_->unblock_ready(), std::vector<std::string>{sid});
  EXPECT_EQ(store_->get_trial(sid)->reasons.back(),
            "a dependency failed: trial " + tid.substr(0, 12) + " (the-teacher)");
}

// What a config revision does to trials it no longer plans: unfinished ones
// are cancelled with the reason (failed ones too), done ones are retired and
// keep their result; both come back when planned again.
TEST_P(StoreContractTest, TrialsSetAsideByARevisionKeepEverythingAndComeBack) {
  auto teacher = spec(1.0);
  const std::string tid = trial_id(teacher);
  auto student = spec(0.5, tid);
  const std::string sid = trial_id(student);
  auto other = spec(0.25);
  const std::string oid = trial_id(other);
  ASSERT_TRUE(store_->add_trials("exp", {teacher, student, other}).ok());
  ASSERT_TRUE(store_->lease(tid, "w", now_ms() + 1000, kToken).ok());
  ASSERT_TRUE(store_->complete(tid, "w", 1, kToken, {{"top1", 91.5}}, std::string("weights")).ok());
  ASSERT_TRUE(store_->lease(oid, "w", now_ms() + 1000, kToken).ok());
  ASSERT_TRUE(store_->fail(oid, "bad lr").ok());
  EXPECT_FALSE(store_->set_retired(sid, "no longer planned").ok()) << "only done trials are retired";
  ASSERT_TRUE(store_->set_retired(tid, "no longer planned by revision 2 of experiment exp").ok());
  ASSERT_TRUE(store_->cancel(oid, "no longer planned by revision 2 of experiment exp").ok());
  auto t = *store_->get_trial(tid);
  EXPECT_EQ(t.state, TrialState::kDone);
  EXPECT_EQ(t.retired, "no longer planned by revision 2 of experiment exp");
  EXPECT_EQ((**store_->get_result(tid))["top1"], 91.5);
  EXPECT_EQ(**store_->get_artifact(tid, deepreduce::spec::ArtifactKind::kModel), "weights");
  EXPECT_EQ(store_->get_trial(oid)->state, TrialState::kCancelled);
  EXPECT_EQ(store_->get_trial(oid)->reasons.back(), "no longer planned by revision 2 of experiment exp");
  // Survives a reopen.
  store_.reset();
  store_ = open();
  EXPECT_EQ(store_->get_trial(tid)->retired, "no longer planned by revision 2 of experiment exp");
  ASSERT_TRUE(store_->set_retired(tid, "").ok());
  EXPECT_TRUE(store_->get_trial(tid)->retired.empty());
  ASSERT_TRUE(store_->retry(oid, "planned again by revision 3 of experiment exp").ok());
  EXPECT_EQ(store_->get_trial(oid)->state, TrialState::kPending);
  // A cancelled trial whose dependency is not done comes back blocked, not pending.
  ASSERT_TRUE(store_->cancel(sid, "no longer planned").ok());
  ASSERT_TRUE(store_->set_retired(tid, "").ok());
  auto t2 = spec(0.75);
  const std::string t2id = trial_id(t2);
  auto s2 = spec(0.6, t2id);
  const std::string s2id = trial_id(s2);
  ASSERT_TRUE(store_->add_trials("exp", {t2, s2}).ok());
  ASSERT_TRUE(store_->cancel(s2id, "no longer planned").ok());
  ASSERT_TRUE(store_->retry(s2id, "planned again").ok());
  EXPECT_EQ(store_->get_trial(s2id)->state, TrialState::kBlocked);
}

TEST_P(StoreContractTest, AResultWithoutTheLiveLeaseIsNeverApplied) {
  auto t = spec(1.0);
  const std::string id = trial_id(t);
  ASSERT_TRUE(store_->add_trials("exp", {t}).ok());
  EXPECT_FALSE(store_->complete(id, "forger", 1, kToken, {{"top1", 99.9}}, std::nullopt).ok());  // pending
  ASSERT_TRUE(store_->lease(id, "slow", now_ms(), kToken).ok());
  ASSERT_TRUE(store_->release(id, "lease expired", ReleaseCause::kWorkerLost, {}).ok());
  ASSERT_TRUE(store_->lease(id, "fast", now_ms() + 1000, kOther).ok());
  EXPECT_FALSE(store_->complete(id, "slow", 1, kToken, {{"top1", 50.0}}, std::nullopt).ok());  // its lease is gone
  EXPECT_TRUE(store_->complete(id, "fast", 2, kOther, {{"top1", 51.0}}, std::nullopt).ok());
  EXPECT_EQ((**store_->get_result(id))["top1"], 51.0);
  int done_events = 0;
  for (const auto& e : *store_->events(0, 1000)) done_events += e.type == "done";
  EXPECT_EQ(done_events, 1);
}

TEST_P(StoreContractTest, EventsAreGapFreeAcrossReopens) {
  ASSERT_TRUE(store_->add_trials("exp", {spec(1.0), spec(0.5)}).ok());
  ASSERT_TRUE(store_->append_event({0, 0, "worker_joined", "", "w1", {{"host", "h"}}}).ok());
  EXPECT_FALSE(store_->lease("nope", "w", 0, kToken).ok());  // a refused call writes no event
  store_.reset();
  store_ = open();
  ASSERT_TRUE(store_->append_event({0, 0, "worker_lost", "", "w1", nullptr}).ok());
  auto events = *store_->events(0, 100);
  ASSERT_EQ(events.size(), 4u);
  for (size_t i = 0; i < events.size(); ++i) EXPECT_EQ(events[i].seq, i + 1);
  EXPECT_EQ(store_->last_seq(), 4u);
  EXPECT_EQ(store_->events(2, 1)->front().seq, 3u);
}

TEST_F(StoreTest, ArtifactsAreFilesOutsideTheWalReplacedAndVerified) {
  const std::string t1(32, '1'), t2(32, '2');
  std::string big(3 * (1 << 20) + 17, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 31 % 251);
  ASSERT_TRUE(store_->put_artifact(t1, deepreduce::spec::ArtifactKind::kCheckpoint, big).ok());
  EXPECT_EQ(**store_->get_artifact(t1, deepreduce::spec::ArtifactKind::kCheckpoint), big);
  ASSERT_TRUE(store_->put_artifact(t1, deepreduce::spec::ArtifactKind::kCheckpoint, "small").ok());
  EXPECT_EQ(**store_->get_artifact(t1, deepreduce::spec::ArtifactKind::kCheckpoint), "small");
  EXPECT_FALSE(store_->get_artifact(t1, deepreduce::spec::ArtifactKind::kModel)->has_value());
  ASSERT_TRUE(store_->put_artifact(t2, deepreduce::spec::ArtifactKind::kModel, big).ok());
  EXPECT_FALSE(store_->put_artifact("../../etc", deepreduce::spec::ArtifactKind::kModel, "x").ok());  // ids name files: checked
  // One file per (trial, kind): the replaced checkpoint is gone.
  auto files = [&] {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_ / "artifacts")) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  };
  ASSERT_EQ(files().size(), 2u);
  // Many checkpoints of a trial do not grow the store: the WAL holds records only.
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(store_->put_artifact(t1, deepreduce::spec::ArtifactKind::kCheckpoint, big + std::to_string(i)).ok());
  uintmax_t wal = 0;
  for (const auto& e : fs::directory_iterator(dir_))
    if (e.path().extension() == ".log") wal += fs::file_size(e.path());
  EXPECT_LT(wal, uintmax_t{1} << 20) << "artifacts passed through the WAL";
  EXPECT_EQ(files().size(), 2u);
  // Removed: record and file.
  ASSERT_TRUE(store_->put_artifact(t2, deepreduce::spec::ArtifactKind::kCheckpoint, "ckpt").ok());
  ASSERT_EQ(files().size(), 3u);
  ASSERT_TRUE(store_->remove_artifact(t2, deepreduce::spec::ArtifactKind::kCheckpoint).ok());
  EXPECT_FALSE(store_->get_artifact(t2, deepreduce::spec::ArtifactKind::kCheckpoint)->has_value());
  EXPECT_TRUE(store_->remove_artifact(t2, deepreduce::spec::ArtifactKind::kCheckpoint).ok());  // absent: fine
  EXPECT_EQ(files().size(), 2u);
  // A file no record names (a crash between writing it and committing) goes on open.
  std::ofstream(dir_ / "artifacts" / "orphan.model.0000") << "left over";
  store_.reset();
  store_ = open();
  EXPECT_EQ(files().size(), 2u);
  // Damage the model's file behind the store's back.
  store_.reset();
  for (const auto& name : files())
    if (name.find(".model.") != std::string::npos) {
      std::fstream f(dir_ / "artifacts" / name, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(1 << 20);
      f.put('x');
    }
  store_ = open();
  auto bad = store_->get_artifact(t2, deepreduce::spec::ArtifactKind::kModel);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kCorruption);
  EXPECT_NE(bad.status().message().find("checksum mismatch"), std::string::npos);
}

TEST_F(StoreTest, CreationIsAllOrNothing) {
  store_.reset();
  const fs::path target = dir_.parent_path() / (dir_.filename().string() + "-new");
  fs::remove_all(target);
  // What a kill during creation leaves: a temp folder of a dead process, no store.
  const fs::path stale = target.parent_path() / (target.filename().string() + ".creating-999999999");
  fs::create_directories(stale);
  std::ofstream(stale / "CURRENT") << "half";
  StoreOptions ro;
  ro.read_only = true;
  auto none = open_store(target.string(), ro);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("no deepreduce store here"), std::string::npos);
  auto made = open_store(target.string());
  ASSERT_TRUE(made.ok()) << made.status().message();
  EXPECT_FALSE(fs::exists(stale)) << "the dead process's temp folder was left";
  made->reset();
  EXPECT_TRUE(open_store(target.string(), ro).ok());
  // A folder that is not a store is not taken over.
  const fs::path other = target.parent_path() / (target.filename().string() + "-other");
  fs::create_directories(other);
  std::ofstream(other / "notes.txt") << "mine";
  auto refused = open_store(other.string());
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("not a deepreduce store"), std::string::npos);
  fs::remove_all(target);
  fs::remove_all(other);
}

TEST_P(StoreContractTest, ExperimentsKeepTheirConfigVerbatim) {
  Experiment e{"quick", "name: quick\nsearch: {}\n", "grid", 0, kSchemaVersion, ""};
  ASSERT_TRUE(store_->put_experiment(e).ok());
  ASSERT_TRUE(store_->put_experiment(e).ok());  // the same again is fine
  auto got = *store_->get_experiment("quick");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->config_yaml, "name: quick\nsearch: {}\n");
  EXPECT_GT(got->created_ms, 0);
  EXPECT_EQ(got->revision, 1);
  e.config_yaml += "# changed\n";  // without a digest the text is the definition
  ASSERT_TRUE(store_->put_experiment(e).ok());
  EXPECT_EQ((*store_->get_experiment("quick"))->revision, 2);
  EXPECT_EQ(store_->list_experiments()->size(), 1u);
}

// With a definition digest, the same experiment in another text (its data
// moved, a comment) is the same revision with its latest text kept; another
// definition is the next revision, whatever the text.
TEST_P(StoreContractTest, AnExperimentIsItsDefinitionNotItsText) {
  Experiment e{"moved", "name: moved\ndataset: {path: /a}\n", "grid", 0, kSchemaVersion, "digest-1"};
  ASSERT_TRUE(store_->put_experiment(e).ok());
  e.config_yaml = "name: moved\ndataset: {path: /b}  # elsewhere now\n";
  ASSERT_TRUE(store_->put_experiment(e).ok());
  EXPECT_EQ((*store_->get_experiment("moved"))->config_yaml, e.config_yaml);
  EXPECT_EQ((*store_->get_experiment("moved"))->revision, 1);
  e.definition = "digest-2";
  e.strategy = "deepreduce";
  ASSERT_TRUE(store_->put_experiment(e).ok());
  auto revised = *store_->get_experiment("moved");
  EXPECT_EQ(revised->definition, "digest-2");
  EXPECT_EQ(revised->strategy, "deepreduce");
  EXPECT_EQ(revised->revision, 2);
  ASSERT_TRUE(store_->put_experiment(e).ok());  // the revision again is no new one
  EXPECT_EQ((*store_->get_experiment("moved"))->revision, 2);
}

TEST_F(StoreTest, ReadOnlyOpenSeesTheDataBesideAWriterAndRefusesWrites) {
  ASSERT_TRUE(store_->add_trials("exp", {spec(1.0)}).ok());
  StoreOptions ro;
  ro.read_only = true;
  auto reader = open_store(dir_.string(), ro);  // while store_ holds the write lock
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  EXPECT_EQ((*reader)->list_trials()->size(), 1u);
  EXPECT_EQ((*reader)->add_trials("exp", {spec(0.5)}).status().code(), Status::Code::kFailedPrecondition);
  auto second_writer = open_store(dir_.string());
  ASSERT_FALSE(second_writer.ok());
  EXPECT_NE(second_writer.status().message().find("in use by another process"), std::string::npos)
      << second_writer.status().message();
}

TEST_P(StoreContractTest, GroupCommitIsDurableAfterSync) {
  store_.reset();
  StoreOptions group;
  group.durability = Durability::kGroupCommit;
  store_ = open(group);
  ASSERT_TRUE(store_->add_trials("exp", {spec(1.0), spec(0.5)}).ok());
  ASSERT_TRUE(store_->sync().ok());
  store_.reset();
  store_ = open();
  EXPECT_EQ(store_->list_trials()->size(), 2u);
}

TEST_P(StoreContractTest, ConcurrentLeasesGrantEachTrialOnce) {
  std::vector<spec::TrialSpec> specs;
  for (int i = 0; i < 40; ++i) specs.push_back(spec(0.05 + 0.01 * i));
  ASSERT_TRUE(store_->add_trials("exp", specs).ok());
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 4; ++w)
    threads.emplace_back([&, w] {
      for (const auto& s : specs)
        if (store_->lease(trial_id(s), "w" + std::to_string(w), now_ms() + 1000, kToken).ok()) ++granted;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(granted.load(), 40);
  EXPECT_EQ(store_->list_trials(TrialState::kLeased)->size(), 40u);
}

// Artifacts through the interface alone: kept across a reopen, replaced, named
// by their digest, removed; a done trial whose artifact is damaged waits
// (its dependents with it) and comes back by retraining.
TEST_P(StoreContractTest, ArtifactsAndDamageThroughTheInterface) {
  const auto [tid, sid] = add_teacher_and_student();
  ASSERT_TRUE(store_->lease(tid, "w", now_ms() + 1000, kToken).ok());
  std::string big(2 * (1 << 20) + 5, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 % 253);
  ASSERT_TRUE(store_->complete(tid, "w", 1, kToken, {{"top1", 60.0}}, big).ok());
  ASSERT_TRUE(store_->unblock_ready().ok());
  EXPECT_EQ(store_->get_trial(sid)->state, TrialState::kPending);
  store_.reset();
  store_ = open();
  EXPECT_EQ(**store_->get_artifact(tid, deepreduce::spec::ArtifactKind::kModel), big);
  EXPECT_TRUE(*store_->has_artifact(tid, deepreduce::spec::ArtifactKind::kModel));
  EXPECT_EQ(store_->artifact_digests(tid)->at(spec::ArtifactKind::kModel).size(), 64u);
  ASSERT_TRUE(store_->put_artifact(tid, deepreduce::spec::ArtifactKind::kCheckpoint, "first").ok());
  ASSERT_TRUE(store_->put_artifact(tid, deepreduce::spec::ArtifactKind::kCheckpoint, "second").ok());
  EXPECT_EQ(**store_->get_artifact(tid, deepreduce::spec::ArtifactKind::kCheckpoint), "second");
  ASSERT_TRUE(store_->remove_artifact(tid, deepreduce::spec::ArtifactKind::kCheckpoint).ok());
  EXPECT_FALSE(store_->get_artifact(tid, deepreduce::spec::ArtifactKind::kCheckpoint)->has_value());
  EXPECT_FALSE(store_->put_artifact("../../etc", deepreduce::spec::ArtifactKind::kModel, "x").ok());
  // Damage: the teacher waits for retraining and its pending student is blocked again.
  auto blocked = store_->damage(tid, "its model failed verification", /*retrain=*/false);
  ASSERT_TRUE(blocked.ok()) << blocked.status().message();
  EXPECT_EQ(*blocked, std::vector<std::string>{sid});
  EXPECT_EQ(store_->get_trial(tid)->state, TrialState::kDamaged);
  EXPECT_EQ(store_->get_trial(sid)->state, TrialState::kBlocked);
  ASSERT_TRUE(store_->retrain(tid, "repaired").ok());
  EXPECT_EQ(store_->get_trial(tid)->state, TrialState::kPending);
}

// The in-memory store: everything a store does, nothing on disk, gone with it.
TEST(MemoryStoreTest, WorksWithoutAFolderAndLeavesNothing) {
  auto store = open_memory_store();
  ASSERT_TRUE(store.ok()) << store.status().message();
  spec::TrialSpec t;
  ASSERT_TRUE((*store)->add_trials("exp", {t}).ok());
  ASSERT_TRUE((*store)->lease(trial_id(t), "w", now_ms() + 1000, kToken).ok());
  ASSERT_TRUE((*store)->complete(trial_id(t), "w", 1, kToken, {{"top1", 50.0}}, std::string("weights")).ok());
  EXPECT_EQ(**(*store)->get_artifact(trial_id(t), deepreduce::spec::ArtifactKind::kModel), "weights");
  EXPECT_EQ((*store)->last_seq(), 3u);
  EXPECT_FALSE(fs::exists("/deepreduce-memory-store"));
}

class BadStoreTest : public StoreTest {};

TEST_F(BadStoreTest, AFutureSchemaIsRefused) {
  store_.reset();
  with_raw_db(dir_, [&](rocksdb::DB* raw, const std::vector<rocksdb::ColumnFamilyHandle*>& h) {
    ASSERT_TRUE(raw->Put(rocksdb::WriteOptions(), h[0], "schema_version", "7").ok());
    ASSERT_TRUE(raw->Put(rocksdb::WriteOptions(), h[2], "deadbeef", "{not json").ok());
  });
  auto s = open_store(dir_.string());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("store schema version 7, this deepreduce reads version " + std::to_string(kSchemaVersion)), std::string::npos)
      << s.status().message();
}

TEST_F(BadStoreTest, ACorruptRecordIsAnErrorNamingIt) {
  store_.reset();
  with_raw_db(dir_, [&](rocksdb::DB* raw, const std::vector<rocksdb::ColumnFamilyHandle*>& h) {
    ASSERT_TRUE(raw->Put(rocksdb::WriteOptions(), h[2], "deadbeef", "{not json").ok());
  });
  store_ = open();
  auto r = store_->get_trial("deadbeef");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_NE(r.status().message().find("trial deadbeef: record is not JSON"), std::string::npos);
  EXPECT_FALSE(store_->list_trials().ok());
}

TEST_F(BadStoreTest, AMissingColumnFamilyIsNamed) {
  store_.reset();
  fs::remove_all(dir_);
  {
    rocksdb::DB* raw;
    rocksdb::Options o;
    o.create_if_missing = true;
    ASSERT_TRUE(rocksdb::DB::Open(o, dir_.string(), &raw).ok());
    delete raw;
  }
  auto s = open_store(dir_.string());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("column family \"experiments\" is missing"), std::string::npos)
      << s.status().message();
}

}  // namespace
}  // namespace deepreduce::storage
