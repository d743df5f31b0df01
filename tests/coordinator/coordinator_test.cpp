// The coordinator in process, against a raw DEALER speaking the protocol.
#include "coordinator/coordinator.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

#include "protocol/transport.h"
#include "tests/storage/noop_trials.h"
#include "tests/test_dirs.h"

namespace deepreduce::coordinator {
namespace {
namespace proto = deepreduce::protocol;

// A coordinator served in this process on an inproc address, its log kept,
// and a raw DEALER speaking for one worker.
class Served {
 public:
  Served(storage::Store& store, const std::string& address, CoordinatorOptions o = {}) {
    o.bind = address;
    o.exit_when_done = false;
    o.log = [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.push_back(line);
    };
    coordinator_ = std::make_unique<Coordinator>(ctx_, store, o);
    serve_ = std::thread([this] { EXPECT_TRUE(coordinator_->run().ok()); });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    worker_.set(zmq::sockopt::routing_id, "w");
    worker_.connect(address);
  }
  ~Served() {
    coordinator_->request_stop();
    serve_.join();
  }
  zmq::socket_t& worker() { return worker_; }
  void send(proto::Type type, nlohmann::json header = nlohmann::json::object()) {
    proto::send_frames(worker_, proto::encode(proto::make(type, std::move(header))));
  }
  void hello(const std::string& name, int slots) {
    send(proto::Type::kHello, {{"worker", name}, {"host", "h"}, {"pid", 1}, {"devices", {"cpu"}}, {"threads", 1},
                               {"slots", slots}, {"running", nlohmann::json::array()}});
  }
  // Every message for `ms`, heartbeats answered; `each` sees the others.
  void receive(int ms, const std::function<void(const proto::Message&)>& each) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < until) {
      zmq::pollitem_t items[] = {{static_cast<void*>(worker_), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 1, std::chrono::milliseconds(50));
      while (auto frames = proto::recv_frames(worker_)) {
        auto m = proto::decode(*frames);
        ASSERT_TRUE(m.ok()) << m.status().message();
        if (m->type == proto::Type::kHeartbeat) send(proto::Type::kHeartbeat);
        else each(*m);
      }
    }
  }
  // The trials ASSIGNed within `ms`.
  std::vector<std::string> assigned_within(int ms) {
    std::vector<std::string> out;
    receive(ms, [&](const proto::Message& m) {
      if (m.type == proto::Type::kAssign) out.push_back(m.header["trial"].get<std::string>());
    });
    return out;
  }
  bool said(const std::string& text) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& l : lines_)
      if (l.find(text) != std::string::npos) return true;
    return false;
  }

 private:
  zmq::context_t ctx_;
  zmq::socket_t worker_{ctx_, zmq::socket_type::dealer};
  std::unique_ptr<Coordinator> coordinator_;
  std::thread serve_;
  std::mutex mu_;
  std::vector<std::string> lines_;
};

// READY carries an absolute count of free slots, so two READYs can cross an
// ASSIGN in flight. A worker that announced one slot must still never be
// handed a second trial while it holds one (two trials in one process would
// also race on torch's global generator).
TEST(CoordinatorTest, AWorkerNeverHoldsMoreTrialsThanTheSlotsItAnnounced) {
  const auto dir = deepreduce::testing::fresh_test_dir("coordinator");
  auto store = *storage::open_store((dir / "db").string());
  std::vector<spec::TrialSpec> trials = deepreduce::testing::noop_trials(3);
  ASSERT_TRUE(store->add_trials("x", trials).ok());
  int assigned = 0;
  bool second_ready = false;
  {
    Served served(*store, "inproc://dispatch-test");
    served.hello("w", 1);
    served.send(proto::Type::kReady, {{"slots", 1}});
    served.receive(1500, [&](const proto::Message& m) {
      if (m.type == proto::Type::kAssign) ++assigned;
      if (assigned == 1 && !second_ready) {
        // The READY the worker sent before this ASSIGN reached it.
        served.send(proto::Type::kReady, {{"slots", 1}});
        second_ready = true;
      }
    });
  }
  EXPECT_EQ(assigned, 1);
  store.reset();
  std::filesystem::remove_all(dir);
}

// A KD student whose teacher is done without weights (a store from before
// results carried their models) is not handed out to fail: it waits, and goes
// as soon as the weights are there.
TEST(CoordinatorTest, AStudentWaitsForItsTeachersWeightsInsteadOfFailing) {
  const auto dir = deepreduce::testing::fresh_test_dir("coordinator");
  auto store = *storage::open_store((dir / "db").string());
  spec::TrialSpec teacher;
  teacher.kind = spec::TrialKind::kNoop;
  spec::TrialSpec student = teacher;
  student.job.model.alpha = 0.5;
  student.teacher = spec::trial_id(teacher);
  const std::string tid = spec::trial_id(teacher), sid = spec::trial_id(student);
  ASSERT_TRUE(store->add_trials("x", {teacher, student}).ok());
  const std::string token(32, 'a');
  ASSERT_TRUE(store->lease(tid, "old", storage::now_ms() + 1000, token).ok());
  ASSERT_TRUE(store->complete(tid, "old", 1, token, {{"top1", 50.0}}, std::nullopt).ok());
  ASSERT_TRUE(store->unblock_ready().ok());
  ASSERT_EQ(store->get_trial(sid)->state, storage::TrialState::kPending);
  {
    Served served(*store, "inproc://waiting-test");
    served.hello("w", 1);
    EXPECT_TRUE(served.assigned_within(1200).empty()) << "a student was handed out without its teacher's weights";
    EXPECT_TRUE(served.said("waits: the model of"));
    ASSERT_TRUE(store->put_artifact(tid, deepreduce::spec::ArtifactKind::kModel, "weights").ok());
    EXPECT_EQ(served.assigned_within(2000), std::vector<std::string>{sid});
  }
  EXPECT_EQ(store->get_trial(sid)->attempt, 1);
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
  std::vector<spec::TrialSpec> trials = deepreduce::testing::noop_trials(2);
  const std::string lost = spec::trial_id(trials[0]), elsewhere = spec::trial_id(trials[1]);
  ASSERT_TRUE(store->add_trials("x", trials).ok());
  ASSERT_TRUE(store->lease(lost, "w", storage::now_ms() + 60000, std::string(32, 'a')).ok());
  ASSERT_TRUE(store->lease(elsewhere, "v", storage::now_ms() + 60000, std::string(32, 'b')).ok());
  CoordinatorOptions o;
  o.restart_grace_ms = 60000;
  {
    Served served(*store, "inproc://lost-assign-test", o);
    served.hello("w", 2);
    EXPECT_EQ(served.assigned_within(2000), std::vector<std::string>{lost}) << "the lost lease waited out the grace period";
    EXPECT_TRUE(served.said("back to pending: worker w rejoined without it"));
  }
  EXPECT_EQ(store->get_trial(elsewhere)->state, storage::TrialState::kLeased);
  EXPECT_EQ(store->get_trial(elsewhere)->worker, "v");
  store.reset();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace deepreduce::coordinator
