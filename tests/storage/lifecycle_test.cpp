// The trial lifecycle on its own (storage/lifecycle.h): every action against
// records in every state, no database. The store's contract suite
// (store_test.cpp) holds the same rules through RocksDB.
#include <gtest/gtest.h>

#include <map>

#include "storage/lifecycle.h"

namespace deepreduce::storage {
namespace {

constexpr int64_t kNow = 1000;

struct Fixture {
  std::map<std::string, TrialState> states;  // the dependencies the context knows
  LifecycleContext ctx() {
    LifecycleContext c;
    c.now_ms = kNow;
    c.state_of = [this](const std::string& id) -> std::optional<TrialState> {
      auto it = states.find(id);
      if (it == states.end()) return std::nullopt;
      return it->second;
    };
    c.describe = [](const std::string& id) { return id.substr(0, 12); };
    return c;
  }
};

TrialRecord record(TrialState state, const std::string& teacher = "") {
  TrialRecord r;
  r.spec.teacher = teacher;
  r.id = spec::trial_id(r.spec);
  r.state = state;
  if (state == TrialState::kLeased) {
    r.worker = "w1";
    r.attempt = 1;
    r.lease = "token";
  }
  return r;
}

const std::string kTeacher = std::string(32, 'a');

TEST(LifecycleTest, CreateIsPendingBlockedOrFailedByItsDependencies) {
  Fixture f;
  spec::TrialSpec s;
  s.teacher = kTeacher;
  for (auto [dep, expected] : std::vector<std::pair<TrialState, TrialState>>{
           {TrialState::kDone, TrialState::kPending},
           {TrialState::kLeased, TrialState::kBlocked},
           {TrialState::kFailed, TrialState::kFailed}}) {
    f.states[kTeacher] = dep;
    auto c = transition({}, action::Create{"x", s}, f.ctx());
    ASSERT_TRUE(c.ok()) << c.status().message();
    EXPECT_EQ(c->record.state, expected) << state_name(dep);
    EXPECT_FALSE(c->from.has_value());
    EXPECT_EQ(c->event->type, "trial_created");
    EXPECT_EQ(c->record.created_ms, kNow);
  }
  f.states.clear();
  auto missing = transition({}, action::Create{"x", s}, f.ctx());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("not in the store"), std::string::npos);
}

TEST(LifecycleTest, LeaseCountsTheAttemptAndOnlyTheLiveLeaseCompletes) {
  Fixture f;
  auto leased = transition(record(TrialState::kPending), action::Lease{"w1", 5000, "tok"}, f.ctx());
  ASSERT_TRUE(leased.ok());
  EXPECT_EQ(leased->record.state, TrialState::kLeased);
  EXPECT_EQ(leased->record.attempt, 1);
  EXPECT_EQ(leased->event->type, "leased");
  const TrialRecord r = leased->record;
  // Another worker, another attempt, another token: refused, nothing changes.
  for (const auto& bad : {action::Complete{"w2", 1, "tok", 1.0}, action::Complete{"w1", 2, "tok", 1.0},
                          action::Complete{"w1", 1, "forged", 1.0}}) {
    auto c = transition(r, bad, f.ctx());
    EXPECT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), Status::Code::kFailedPrecondition);
  }
  auto done = transition(r, action::Complete{"w1", 1, "tok", 71.5}, f.ctx());
  ASSERT_TRUE(done.ok()) << done.status().message();
  EXPECT_EQ(done->record.state, TrialState::kDone);
  EXPECT_TRUE(done->record.lease.empty());
  EXPECT_EQ(done->event->detail["top1"], 71.5);
  auto again = transition(done->record, action::Complete{"w1", 1, "tok", 71.5}, f.ctx());
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("already done"), std::string::npos);
  // A renewal is a heartbeat: no event.
  auto renewed = transition(r, action::Renew{"w1", 1, 9000}, f.ctx());
  ASSERT_TRUE(renewed.ok());
  EXPECT_EQ(renewed->record.lease_deadline_ms, 9000);
  EXPECT_FALSE(renewed->event.has_value());
}

TEST(LifecycleTest, ReleaseChargesOnlyItsCauseAndFailsAtTheLimit) {
  Fixture f;
  const AttemptLimits limits{2, 3};
  TrialRecord r = record(TrialState::kLeased);
  auto free = transition(r, action::Release{"stopping", ReleaseCause::kNotCharged, limits}, f.ctx());
  ASSERT_TRUE(free.ok());
  EXPECT_EQ(free->record.state, TrialState::kPending);
  EXPECT_EQ(free->record.charged + free->record.lost, 0);
  auto once = transition(r, action::Release{"nan", ReleaseCause::kTrialFailed, limits}, f.ctx());
  ASSERT_TRUE(once.ok());
  EXPECT_EQ(once->record.state, TrialState::kPending);
  EXPECT_EQ(once->record.charged, 1);
  r.charged = 1;
  auto twice = transition(r, action::Release{"nan", ReleaseCause::kTrialFailed, limits}, f.ctx());
  ASSERT_TRUE(twice.ok());
  EXPECT_EQ(twice->record.state, TrialState::kFailed);
  EXPECT_EQ(twice->event->type, "failed");
  EXPECT_NE(twice->record.reasons.back().find("no attempts left"), std::string::npos);
  // Not leased: the table says why.
  auto idle = transition(record(TrialState::kDone), action::Release{"x", ReleaseCause::kNotCharged, limits}, f.ctx());
  ASSERT_FALSE(idle.ok());
  EXPECT_NE(idle.status().message().find("illegal transition done -> pending"), std::string::npos);
}

TEST(LifecycleTest, DamageCountsAsAnAttemptAndRetrainsThroughTheTable) {
  Fixture f;
  TrialRecord done = record(TrialState::kDone, kTeacher);
  done.retired = "no longer planned";
  f.states[kTeacher] = TrialState::kDone;
  auto kept = transition(done, action::Damage{"checksum", false}, f.ctx());
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->record.state, TrialState::kDamaged);
  EXPECT_EQ(kept->record.charged, 1);
  EXPECT_TRUE(kept->record.retired.empty()) << "a damaged trial is trained again, not left retired";
  auto again = transition(done, action::Damage{"checksum", true}, f.ctx());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->record.state, TrialState::kPending);
  f.states[kTeacher] = TrialState::kDamaged;
  auto waits = transition(done, action::Damage{"checksum", true}, f.ctx());
  ASSERT_TRUE(waits.ok());
  EXPECT_EQ(waits->record.state, TrialState::kBlocked) << "its own dependency is not whole";
  EXPECT_FALSE(transition(record(TrialState::kPending), action::Damage{"x", true}, f.ctx()).ok());
  // repair: damaged -> pending, counts start over.
  auto repaired = transition(kept->record, action::Retrain{"repair"}, f.ctx());
  ASSERT_TRUE(repaired.ok());
  EXPECT_EQ(repaired->record.charged, 0);
  EXPECT_FALSE(transition(record(TrialState::kDone), action::Retrain{"repair"}, f.ctx()).ok());
}

TEST(LifecycleTest, RetryRetireAndUnblockFollowTheTable) {
  Fixture f;
  for (auto from : {TrialState::kFailed, TrialState::kCancelled}) {
    TrialRecord r = record(from);
    r.charged = 3;
    auto c = transition(r, action::Retry{"retried by the user"}, f.ctx());
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->record.state, TrialState::kPending);
    EXPECT_EQ(c->record.charged, 0);
  }
  for (auto from : {TrialState::kPending, TrialState::kLeased, TrialState::kDone})
    EXPECT_FALSE(transition(record(from), action::Retry{"x"}, f.ctx()).ok()) << state_name(from);
  // Retired: done trials only; the same why twice changes nothing.
  EXPECT_FALSE(transition(record(TrialState::kPending), action::Retire{"gone"}, f.ctx()).ok());
  auto retired = transition(record(TrialState::kDone), action::Retire{"gone"}, f.ctx());
  ASSERT_TRUE(retired.ok());
  EXPECT_EQ(retired->event->type, "retired");
  auto same = transition(retired->record, action::Retire{"gone"}, f.ctx());
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->changed);
  // Unblock: waits, opens, or fails with its dependency.
  TrialRecord blocked = record(TrialState::kBlocked, kTeacher);
  f.states[kTeacher] = TrialState::kLeased;
  auto wait = transition(blocked, action::Unblock{}, f.ctx());
  ASSERT_TRUE(wait.ok());
  EXPECT_FALSE(wait->changed);
  f.states[kTeacher] = TrialState::kDone;
  EXPECT_EQ(transition(blocked, action::Unblock{}, f.ctx())->record.state, TrialState::kPending);
  f.states[kTeacher] = TrialState::kFailed;
  auto failed = transition(blocked, action::Unblock{}, f.ctx());
  EXPECT_EQ(failed->record.state, TrialState::kFailed);
  EXPECT_NE(failed->record.reasons.back().find("a dependency failed"), std::string::npos);
}

TEST(LifecycleTest, ReadoptBringsAnyUnfinishedStateToDoneOnce) {
  Fixture f;
  for (auto from : {TrialState::kBlocked, TrialState::kPending, TrialState::kLeased, TrialState::kFailed,
                    TrialState::kCancelled, TrialState::kDamaged}) {
    auto c = transition(record(from), action::Readopt{"its result and model were found whole", "w3"}, f.ctx());
    ASSERT_TRUE(c.ok()) << state_name(from) << ": " << c.status().message();
    EXPECT_EQ(c->record.state, TrialState::kDone);
    EXPECT_EQ(c->record.worker, "w3");
    EXPECT_TRUE(c->record.lease.empty());
    EXPECT_EQ(c->event->type, "readopted");
  }
  auto done = transition(record(TrialState::kDone), action::Readopt{"x", "w"}, f.ctx());
  ASSERT_TRUE(done.ok());
  EXPECT_FALSE(done->changed);
}

}  // namespace
}  // namespace deepreduce::storage
