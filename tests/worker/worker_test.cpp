// A real worker against a raw ROUTER playing the coordinator: what it
// announces for its devices and slots, the pace of its heartbeats, a trial
// leased anew while its old attempt still ends, and a device it lacks.
#include "worker/worker.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <optional>
#include <thread>

#include "protocol/transport.h"
#include "storage/trial.h"
#include "tests/test_dirs.h"
#include "train/trainer.h"

namespace deepreduce::worker {
namespace {
namespace proto = deepreduce::protocol;
using Clock = std::chrono::steady_clock;

// A ROUTER bound at `endpoint` and a real worker connected to it, running on
// its own thread until the fixture ends.
class FakeCoordinator {
 public:
  FakeCoordinator(const std::string& endpoint, WorkerOptions o) : router_(ctx_, zmq::socket_type::router) {
    dir_ = deepreduce::testing::fresh_test_dir("worker");
    router_.bind(endpoint);
    o.connect = endpoint;
    if (o.scratch.empty()) o.scratch = (dir_ / "scratch").string();
    worker_.emplace(ctx_, o);
    thread_ = std::thread([this] { (void)worker_->run(); });
  }
  ~FakeCoordinator() {
    worker_->request_stop();
    thread_.join();
    std::filesystem::remove_all(dir_);
  }
  // Hands every message the worker sends, with its routing id, to `on` until
  // `on` returns true (then true) or `seconds` pass (then false).
  bool serve(double seconds, const std::function<bool(const proto::Message&, const std::string&)>& on) {
    const auto until = Clock::now() + std::chrono::duration<double>(seconds);
    while (Clock::now() < until) {
      zmq::pollitem_t items[] = {{static_cast<void*>(router_), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 1, std::chrono::milliseconds(20));
      while (auto frames = proto::recv_frames(router_)) {
        const std::string id = frames->front();
        frames->erase(frames->begin());
        auto m = proto::decode(*frames);
        if (m.ok() && on(*m, id)) return true;
      }
    }
    return false;
  }
  void send(const std::string& id, const proto::Message& m) { proto::send_frames(router_, proto::encode(m), &id); }

 private:
  zmq::context_t ctx_;
  zmq::socket_t router_;
  std::filesystem::path dir_;
  std::optional<Worker> worker_;
  std::thread thread_;
};

TEST(DeviceListTest, SplitsTrimsAndDropsEmptyItems) {
  EXPECT_EQ(device_list("cpu"), std::vector<std::string>{"cpu"});
  EXPECT_EQ(device_list(" cuda:0, cuda:1 ,,cuda:3"), (std::vector<std::string>{"cuda:0", "cuda:1", "cuda:3"}));
  EXPECT_TRUE(device_list(" , ").empty());
}

TEST(WorkerDevicesTest, SlotsPerDeviceMultipliesOverTheDeviceList) {
  WorkerOptions o;
  o.device = "cpu, cpu";  // two "devices" that exist everywhere
  o.slots_per_device = 2;
  o.give_up_after_ms = 5000;
  FakeCoordinator c("inproc://worker-devices", o);
  nlohmann::json hello;
  ASSERT_TRUE(c.serve(5, [&](const proto::Message& m, const std::string&) {
    if (m.type == proto::Type::kHello) hello = m.header;
    return !hello.is_null();
  })) << "no HELLO";
  EXPECT_EQ(hello["devices"], nlohmann::json({"cpu", "cpu"}));
  EXPECT_EQ(hello["slots"], 4);
}

// A coordinator counts a worker lost after liveness x ITS interval without a
// word: the worker must heartbeat at the pace WELCOME gives, not its own default.
TEST(WorkerHeartbeatTest, HeartbeatsFollowTheIntervalTheCoordinatorSets) {
  WorkerOptions o;
  o.heartbeat_ms = 1000;  // its default
  o.give_up_after_ms = 5000;
  FakeCoordinator c("inproc://worker-pace", o);
  int heartbeats = 0;
  std::optional<Clock::time_point> welcomed;
  c.serve(4, [&](const proto::Message& m, const std::string& id) {
    if (m.type == proto::Type::kHello && !welcomed) {
      c.send(id, proto::make(proto::Type::kWelcome, {{"heartbeat_ms", 100}}));
      welcomed = Clock::now();
    } else if (m.type == proto::Type::kHeartbeat && welcomed) {
      ++heartbeats;
      c.send(id, proto::make(proto::Type::kHeartbeat));
    }
    return welcomed && Clock::now() - *welcomed > std::chrono::seconds(2);
  });
  ASSERT_TRUE(welcomed) << "no HELLO";
  EXPECT_GE(heartbeats, 10) << "2 s at a 100 ms pace; at its own 1 s default it would send 2";
}

// The coordinator can lease a trial anew to the worker that held it before
// (lost for a while, then back) while the worker's old attempt is still
// ending. The new ASSIGN must not be dropped as "already in hand": the trial
// would stay leased to a worker that never trains it.
TEST(WorkerLeaseTest, ANewLeaseOfATrialStillEndingHereIsTrainedOnceTheOldAttemptStops) {
  WorkerOptions o;
  o.threads = 1;
  o.give_up_after_ms = 30000;
  FakeCoordinator c("inproc://worker-relet", o);
  spec::TrialSpec spec;
  spec.job.model.alpha = 0.125;
  spec.job.model.blocks = {1, 1, 1, 1};
  spec.job.data.train_subset = 128;
  spec.job.data.test_subset = 20;
  spec.job.train.epochs = 3;
  spec.job.train.batch_size = 32;
  const std::string trial = spec::trial_id(spec);
  const std::string old_lease = "0123456789abcdef0123456789abcdef", new_lease = "fedcba9876543210fedcba9876543210";
  auto assign = [&](const std::string& id, int attempt, const std::string& lease) {
    c.send(id, proto::make(proto::Type::kAssign, {{"trial", trial},
                                                  {"attempt", attempt},
                                                  {"lease", lease},
                                                  {"spec", spec::to_json(spec)},
                                                  {"checkpoint", false}}));
  };
  bool relet = false;
  const bool trained_anew = c.serve(60, [&](const proto::Message& m, const std::string& id) {
    if (m.type == proto::Type::kHello) {
      c.send(id, proto::make(proto::Type::kWelcome, {{"heartbeat_ms", 1000}}));
      assign(id, 1, old_lease);
    } else if (m.type == proto::Type::kHeartbeat) {
      c.send(id, proto::make(proto::Type::kHeartbeat));
    } else if (m.type == proto::Type::kProgress && m.header["lease"] == old_lease && !relet) {
      assign(id, 2, new_lease);  // the old attempt is training: lease it anew, as after a loss
      relet = true;
    }
    return m.header.contains("lease") && m.header["lease"] == new_lease &&
           (m.type == proto::Type::kProgress || m.type == proto::Type::kResult);
  });
  EXPECT_TRUE(relet) << "the first attempt never reported progress";
  EXPECT_TRUE(trained_anew) << "the new lease was dropped: the trial would stay leased and never train";
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
