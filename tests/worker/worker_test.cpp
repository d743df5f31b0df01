// A real worker against a raw ROUTER playing the coordinator: what it
// announces for its devices and slots, and how it refuses a device it lacks.
#include "worker/worker.h"

#include <gtest/gtest.h>

#include <optional>
#include <thread>

#include "protocol/transport.h"
#include "storage/trial.h"
#include "tests/test_dirs.h"
#include "train/trainer.h"

namespace deepreduce::worker {
namespace {
namespace proto = deepreduce::protocol;

TEST(DeviceListTest, SplitsTrimsAndDropsEmptyItems) {
  EXPECT_EQ(device_list("cpu"), std::vector<std::string>{"cpu"});
  EXPECT_EQ(device_list(" cuda:0, cuda:1 ,,cuda:3"), (std::vector<std::string>{"cuda:0", "cuda:1", "cuda:3"}));
  EXPECT_TRUE(device_list(" , ").empty());
}

// The HELLO a worker sends first, read by a ROUTER bound where it connects.
nlohmann::json first_hello(WorkerOptions o) {
  zmq::context_t ctx;
  zmq::socket_t router(ctx, zmq::socket_type::router);
  router.bind(o.connect);
  o.give_up_after_ms = 5000;
  Worker w(ctx, o);
  std::thread t([&] { (void)w.run(); });
  nlohmann::json hello;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (hello.is_null() && std::chrono::steady_clock::now() < until) {
    zmq::pollitem_t items[] = {{static_cast<void*>(router), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 1, std::chrono::milliseconds(50));
    while (auto frames = proto::recv_frames(router)) {
      frames->erase(frames->begin());  // the routing id
      auto m = proto::decode(*frames);
      if (m.ok() && m->type == proto::Type::kHello) hello = m->header;
    }
  }
  w.request_stop();
  t.join();
  return hello;
}

TEST(WorkerDevicesTest, SlotsPerDeviceMultipliesOverTheDeviceList) {
  const auto dir = deepreduce::testing::fresh_test_dir("worker");
  WorkerOptions o;
  o.connect = "inproc://worker-devices";
  o.scratch = (dir / "scratch").string();
  o.device = "cpu, cpu";  // two "devices" that exist everywhere
  o.slots_per_device = 2;
  auto hello = first_hello(o);
  ASSERT_FALSE(hello.is_null()) << "no HELLO";
  EXPECT_EQ(hello["devices"], nlohmann::json({"cpu", "cpu"}));
  EXPECT_EQ(hello["slots"], 4);
  std::filesystem::remove_all(dir);
}

// A coordinator counts a worker lost after liveness x ITS interval without a
// word: the worker must heartbeat at the pace WELCOME gives, not its own default.
TEST(WorkerHeartbeatTest, HeartbeatsFollowTheIntervalTheCoordinatorSets) {
  const auto dir = deepreduce::testing::fresh_test_dir("worker");
  zmq::context_t ctx;
  zmq::socket_t router(ctx, zmq::socket_type::router);
  router.bind("inproc://worker-pace");
  WorkerOptions o;
  o.connect = "inproc://worker-pace";
  o.scratch = (dir / "scratch").string();
  o.heartbeat_ms = 1000;  // its default
  o.give_up_after_ms = 5000;
  Worker w(ctx, o);
  std::thread t([&] { (void)w.run(); });
  int heartbeats = 0;
  std::optional<std::chrono::steady_clock::time_point> welcomed;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(4);
  while (std::chrono::steady_clock::now() < until) {
    zmq::pollitem_t items[] = {{static_cast<void*>(router), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 1, std::chrono::milliseconds(20));
    while (auto frames = proto::recv_frames(router)) {
      const std::string id = frames->front();
      frames->erase(frames->begin());
      auto m = proto::decode(*frames);
      if (!m.ok()) continue;
      if (m->type == proto::Type::kHello && !welcomed) {
        proto::send_frames(router, proto::encode(proto::make(proto::Type::kWelcome, {{"heartbeat_ms", 100}})), &id);
        welcomed = std::chrono::steady_clock::now();
      } else if (m->type == proto::Type::kHeartbeat && welcomed &&
                 std::chrono::steady_clock::now() - *welcomed < std::chrono::seconds(2)) {
        ++heartbeats;
        proto::send_frames(router, proto::encode(proto::make(proto::Type::kHeartbeat)), &id);
      }
    }
    if (welcomed && std::chrono::steady_clock::now() - *welcomed > std::chrono::seconds(2)) break;
  }
  w.request_stop();
  t.join();
  ASSERT_TRUE(welcomed) << "no HELLO";
  EXPECT_GE(heartbeats, 10) << "2 s at a 100 ms pace; at its own 1 s default it would send 2";
  std::filesystem::remove_all(dir);
}

// The coordinator can lease a trial anew to the worker that held it before
// (lost for a while, then back) while the worker's old attempt is still
// ending. The new ASSIGN must not be dropped as "already in hand": the trial
// would stay leased to a worker that never trains it.
TEST(WorkerLeaseTest, ANewLeaseOfATrialStillEndingHereIsTrainedOnceTheOldAttemptStops) {
  const auto dir = deepreduce::testing::fresh_test_dir("worker");
  zmq::context_t ctx;
  zmq::socket_t router(ctx, zmq::socket_type::router);
  router.bind("inproc://worker-relet");
  WorkerOptions o;
  o.connect = "inproc://worker-relet";
  o.scratch = (dir / "scratch").string();
  o.threads = 1;
  o.give_up_after_ms = 30000;
  Worker w(ctx, o);
  std::thread t([&] { (void)w.run(); });

  storage::TrialSpec spec;
  spec.job.model.alpha = 0.125;
  spec.job.model.blocks = {1, 1, 1, 1};
  spec.job.data.train_subset = 128;
  spec.job.data.test_subset = 20;
  spec.job.train.epochs = 3;
  spec.job.train.batch_size = 32;
  const std::string trial = storage::trial_id(spec);
  const std::string old_lease = "0123456789abcdef0123456789abcdef", new_lease = "fedcba9876543210fedcba9876543210";
  auto assign = [&](const std::string& id, int attempt, const std::string& lease) {
    proto::send_frames(router,
                       proto::encode(proto::make(proto::Type::kAssign, {{"trial", trial},
                                                                        {"attempt", attempt},
                                                                        {"lease", lease},
                                                                        {"spec", storage::to_json(spec)},
                                                                        {"checkpoint", false}})),
                       &id);
  };
  bool relet = false, trained_anew = false;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!trained_anew && std::chrono::steady_clock::now() < until) {
    zmq::pollitem_t items[] = {{static_cast<void*>(router), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 1, std::chrono::milliseconds(20));
    while (auto frames = proto::recv_frames(router)) {
      const std::string id = frames->front();
      frames->erase(frames->begin());
      auto m = proto::decode(*frames);
      if (!m.ok()) continue;
      if (m->type == proto::Type::kHello) {
        proto::send_frames(router, proto::encode(proto::make(proto::Type::kWelcome, {{"heartbeat_ms", 1000}})), &id);
        assign(id, 1, old_lease);
      } else if (m->type == proto::Type::kHeartbeat) {
        proto::send_frames(router, proto::encode(proto::make(proto::Type::kHeartbeat)), &id);
      } else if (m->type == proto::Type::kProgress && m->header["lease"] == old_lease && !relet) {
        assign(id, 2, new_lease);  // the old attempt is training: lease it anew, as after a loss
        relet = true;
      } else if (m->header.contains("lease") && m->header["lease"] == new_lease &&
                 (m->type == proto::Type::kProgress || m->type == proto::Type::kResult)) {
        trained_anew = true;
      }
    }
  }
  w.request_stop();
  t.join();
  EXPECT_TRUE(relet) << "the first attempt never reported progress";
  EXPECT_TRUE(trained_anew) << "the new lease was dropped: the trial would stay leased and never train";
  std::filesystem::remove_all(dir);
}

TEST(WorkerDevicesTest, AnAbsentDeviceStopsTheWorkerBeforeItTakesWork) {
  if (train::check_device("cuda:0").ok()) GTEST_SKIP() << "this machine has CUDA; the refusal is tested where it has none";
  zmq::context_t ctx;
  WorkerOptions o;
  o.connect = "inproc://worker-no-device";
  o.device = "cpu,cuda:0";
  Worker w(ctx, o);
  Status s = w.run();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cuda:0"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace deepreduce::worker
