// The coordinator in process, against a raw DEALER speaking the protocol.
#include "coordinator/coordinator.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>
#include <thread>

#include "protocol/transport.h"
#include "tests/test_dirs.h"

namespace deepreduce::coordinator {
namespace {
namespace proto = deepreduce::protocol;

// READY carries an absolute count of free slots, so two READYs can cross an
// ASSIGN in flight. A worker that announced one slot must still never be
// handed a second trial while it holds one (two trials in one process would
// also race on torch's global generator).
TEST(CoordinatorTest, AWorkerNeverHoldsMoreTrialsThanTheSlotsItAnnounced) {
  const auto dir = deepreduce::testing::fresh_test_dir("coordinator");
  auto store = *storage::open_store((dir / "db").string());
  std::vector<storage::TrialSpec> trials(3);
  for (size_t i = 0; i < trials.size(); ++i) {
    trials[i].kind = "noop";
    trials[i].job.train.seed = i;
  }
  ASSERT_TRUE(store->add_trials("x", trials).ok());
  zmq::context_t ctx;
  CoordinatorOptions o;
  o.bind = "inproc://dispatch-test";
  o.exit_when_done = false;
  Coordinator c(ctx, *store, o);
  std::thread serve([&] { EXPECT_TRUE(c.run().ok()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));

  zmq::socket_t w(ctx, zmq::socket_type::dealer);
  w.set(zmq::sockopt::routing_id, "w");
  w.connect(o.bind);
  proto::send_frames(w, proto::encode(proto::make(
                            proto::Type::kHello, {{"worker", "w"}, {"host", "h"}, {"pid", 1}, {"devices", {"cpu"}},
                                                  {"threads", 1}, {"slots", 1}, {"running", nlohmann::json::array()}})));
  proto::send_frames(w, proto::encode(proto::make(proto::Type::kReady, {{"slots", 1}})));
  int assigned = 0;
  bool second_ready = false;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  while (std::chrono::steady_clock::now() < until) {
    zmq::pollitem_t items[] = {{static_cast<void*>(w), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 1, std::chrono::milliseconds(50));
    while (auto frames = proto::recv_frames(w)) {
      auto m = proto::decode(*frames);
      ASSERT_TRUE(m.ok()) << m.status().message();
      if (m->type == proto::Type::kAssign) ++assigned;
      if (assigned == 1 && !second_ready) {
        // The READY the worker sent before this ASSIGN reached it.
        proto::send_frames(w, proto::encode(proto::make(proto::Type::kReady, {{"slots", 1}})));
        second_ready = true;
      }
      if (m->type == proto::Type::kHeartbeat) proto::send_frames(w, proto::encode(proto::make(proto::Type::kHeartbeat)));
    }
  }
  EXPECT_EQ(assigned, 1);
  c.request_stop();
  serve.join();
  store.reset();
  std::filesystem::remove_all(dir);
}

// A KD student whose teacher is done without weights (a store from before
// results carried their models) is not handed out to fail: it waits, and goes
// as soon as the weights are there.
TEST(CoordinatorTest, AStudentWaitsForItsTeachersWeightsInsteadOfFailing) {
  const auto dir = deepreduce::testing::fresh_test_dir("coordinator");
  auto store = *storage::open_store((dir / "db").string());
  storage::TrialSpec teacher;
  teacher.kind = "noop";
  storage::TrialSpec student = teacher;
  student.job.model.alpha = 0.5;
  student.teacher = storage::trial_id(teacher);
  const std::string tid = storage::trial_id(teacher), sid = storage::trial_id(student);
  ASSERT_TRUE(store->add_trials("x", {teacher, student}).ok());
  const std::string token(32, 'a');
  ASSERT_TRUE(store->lease(tid, "old", storage::now_ms() + 1000, token).ok());
  ASSERT_TRUE(store->complete(tid, "old", 1, token, {{"top1", 50.0}}, std::nullopt).ok());
  ASSERT_TRUE(store->unblock_ready().ok());
  ASSERT_EQ(store->get_trial(sid)->state, storage::TrialState::kPending);
  zmq::context_t ctx;
  CoordinatorOptions o;
  o.bind = "inproc://waiting-test";
  o.exit_when_done = false;
  std::vector<std::string> lines;
  std::mutex mu;
  o.log = [&](const std::string& line) {
    std::lock_guard<std::mutex> lock(mu);
    lines.push_back(line);
  };
  Coordinator c(ctx, *store, o);
  std::thread serve([&] { EXPECT_TRUE(c.run().ok()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  zmq::socket_t w(ctx, zmq::socket_type::dealer);
  w.connect(o.bind);
  proto::send_frames(w, proto::encode(proto::make(
                            proto::Type::kHello, {{"worker", "w"}, {"host", "h"}, {"pid", 1}, {"devices", {"cpu"}},
                                                  {"threads", 1}, {"slots", 1}, {"running", nlohmann::json::array()}})));
  auto assigned_within = [&](int ms) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < until) {
      zmq::pollitem_t items[] = {{static_cast<void*>(w), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 1, std::chrono::milliseconds(50));
      while (auto frames = proto::recv_frames(w)) {
        auto m = proto::decode(*frames);
        if (!m.ok()) continue;
        if (m->type == proto::Type::kAssign) return m->header["trial"].get<std::string>();
        if (m->type == proto::Type::kHeartbeat) proto::send_frames(w, proto::encode(proto::make(proto::Type::kHeartbeat)));
      }
    }
    return std::string();
  };
  EXPECT_EQ(assigned_within(1200), "") << "a student was handed out without its teacher's weights";
  {
    std::lock_guard<std::mutex> lock(mu);
    bool said = false;
    for (const auto& l : lines) said |= l.find("waits: the model of") != std::string::npos;
    EXPECT_TRUE(said);
  }
  ASSERT_TRUE(store->put_artifact(tid, "model", "weights").ok());
  EXPECT_EQ(assigned_within(2000), sid);
  EXPECT_EQ(store->get_trial(sid)->attempt, 1);
  c.request_stop();
  serve.join();
  store.reset();
  std::filesystem::remove_all(dir);
}

// The coordinator can die after it stored a lease and before its ASSIGN left
// the machine. The worker it named never had the trial, so when that worker
// rejoins a restarted coordinator without it, the trial goes back to pending
// at once instead of waiting out the restart grace period. Leases that name
// other workers still wait for them.
TEST(CoordinatorTest, ALeaseWhoseAssignDiedWithTheLastCoordinatorIsReleasedWhenItsWorkerRejoins) {
  const auto dir = deepreduce::testing::fresh_test_dir("coordinator");
  auto store = *storage::open_store((dir / "db").string());
  std::vector<storage::TrialSpec> trials(2);
  for (size_t i = 0; i < trials.size(); ++i) {
    trials[i].kind = "noop";
    trials[i].job.train.seed = i;
  }
  const std::string lost = storage::trial_id(trials[0]), elsewhere = storage::trial_id(trials[1]);
  ASSERT_TRUE(store->add_trials("x", trials).ok());
  ASSERT_TRUE(store->lease(lost, "w", storage::now_ms() + 60000, std::string(32, 'a')).ok());
  ASSERT_TRUE(store->lease(elsewhere, "v", storage::now_ms() + 60000, std::string(32, 'b')).ok());
  zmq::context_t ctx;
  CoordinatorOptions o;
  o.bind = "inproc://lost-assign-test";
  o.exit_when_done = false;
  o.restart_grace_ms = 60000;
  std::vector<std::string> lines;
  std::mutex mu;
  o.log = [&](const std::string& line) {
    std::lock_guard<std::mutex> lock(mu);
    lines.push_back(line);
  };
  Coordinator c(ctx, *store, o);
  std::thread serve([&] { EXPECT_TRUE(c.run().ok()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  zmq::socket_t w(ctx, zmq::socket_type::dealer);
  w.connect(o.bind);
  proto::send_frames(w, proto::encode(proto::make(
                            proto::Type::kHello, {{"worker", "w"}, {"host", "h"}, {"pid", 1}, {"devices", {"cpu"}},
                                                  {"threads", 1}, {"slots", 2}, {"running", nlohmann::json::array()}})));
  std::vector<std::string> assigned;
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2000);
  while (std::chrono::steady_clock::now() < until) {
    zmq::pollitem_t items[] = {{static_cast<void*>(w), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 1, std::chrono::milliseconds(50));
    while (auto frames = proto::recv_frames(w)) {
      auto m = proto::decode(*frames);
      if (!m.ok()) continue;
      if (m->type == proto::Type::kAssign) assigned.push_back(m->header["trial"].get<std::string>());
      if (m->type == proto::Type::kHeartbeat) proto::send_frames(w, proto::encode(proto::make(proto::Type::kHeartbeat)));
    }
  }
  EXPECT_EQ(assigned, std::vector<std::string>{lost}) << "the lost lease waited out the grace period";
  EXPECT_EQ(store->get_trial(elsewhere)->state, storage::TrialState::kLeased);
  EXPECT_EQ(store->get_trial(elsewhere)->worker, "v");
  {
    std::lock_guard<std::mutex> lock(mu);
    bool said = false;
    for (const auto& l : lines) said |= l.find("back to pending: worker w rejoined without it") != std::string::npos;
    EXPECT_TRUE(said);
  }
  c.request_stop();
  serve.join();
  store.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace deepreduce::coordinator
