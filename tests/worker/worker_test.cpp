// A real worker against a raw ROUTER playing the coordinator: what it
// announces for its devices and slots, and how it refuses a device it lacks.
#include "worker/worker.h"

#include <gtest/gtest.h>

#include <thread>

#include "protocol/transport.h"
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
