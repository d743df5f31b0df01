// The coordinator in process, against a raw DEALER speaking the protocol.
#include "coordinator/coordinator.h"

#include <gtest/gtest.h>

#include <filesystem>
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

}  // namespace
}  // namespace deepreduce::coordinator
