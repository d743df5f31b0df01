// Fault tests with real processes on loopback: workers and coordinators are
// SIGKILLed, stopped and fed garbage while they serve a real (tiny) experiment.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <zmq.hpp>

#include "protocol/transport.h"
#include "storage/store.h"
#include "tests/needs_torch.h"
#include "tests/coordinator/fault_fixture.h"

namespace deepreduce {
namespace {
namespace fs = std::filesystem;
using testing::FaultTest;
using testing::Process;

// An unkind network at a coordinator's address: every TCP connection is
// accepted and reset at once, so every ZeroMQ handshake breaks off.
class ResettingListener {
 public:
  explicit ResettingListener(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd_, 64) == 0;
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) continue;
        const linger reset{1, 0};  // close with RST, not FIN
        ::setsockopt(c, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
        ::close(c);
        ++resets_;
      }
    });
  }
  ~ResettingListener() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  bool ok() const { return ok_; }
  int resets() const { return resets_; }

 private:
  int fd_ = -1;
  bool ok_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<int> resets_{0};
  std::thread thread_;
};

// A worker that has trained for a coordinator keeps trying through handshakes
// that break off while the coordinator is gone (a restarting host, an unkind
// network), and finishes when it is back; nothing is lost or trained twice.
TEST_F(FaultTest, AWorkerOutlivesResetHandshakesWhileItsCoordinatorIsGone) {
  DEEPREDUCE_NEEDS_TORCH();
  const std::string cfg = config(2, 6);
  auto c = coordinator(cfg, "db", {"--heartbeat-ms", "300"});
  auto a = worker("a");
  ASSERT_TRUE(wait_until_leased("db")) << c->log();
  c->signal(SIGKILL);
  ASSERT_TRUE(c->wait(5));
  {
    ResettingListener network(port_);
    ASSERT_TRUE(network.ok()) << "port " << port_;
    for (int i = 0; i < 200 && network.resets() < 10; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_GE(network.resets(), 10);
    std::this_thread::sleep_for(std::chrono::seconds(1));
    EXPECT_TRUE(a->running()) << a->log();
  }
  auto c2 = coordinator(cfg, "db");
  expect_both_finish(*c2, *a, "db", 2);
  EXPECT_NE(a->log().find("broke off (Connection reset by peer)"), std::string::npos) << a->log();
  EXPECT_NE(a->log().find("retrying (this address answered before)"), std::string::npos) << a->log();
}

// The address file is another process's output: while it holds no address
// (garbage, a stale or torn write) a worker waits, and connects once the
// coordinator writes its address there.
TEST_F(FaultTest, AWorkerWaitsOutAnAddressFileThatHoldsNoAddress) {
  DEEPREDUCE_NEEDS_TORCH();
  std::ofstream(path("address")) << "garbage://" << std::string(5000, 'x') << "\n";
  auto a = worker("a", {"--connect-file", path("address")});  // (it overrides the fixture's --connect)
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ASSERT_TRUE(a->running()) << a->log();
  auto c = coordinator(config(1, 2), "db", {"--address-file", path("address")});
  expect_both_finish(*c, *a, "db", 1);
  EXPECT_NE(a->log().find("holds no usable address (\"garbage://xxx"), std::string::npos) << a->log();
  EXPECT_EQ(a->log().find(std::string(200, 'x')), std::string::npos) << "a garbage address is shortened in the log";
}

// A worker that never gets through a handshake is misconfigured (or pointed at
// something else): it says why and stops, within --give-up-after.
TEST_F(FaultTest, AWorkerThatNeverGetsThroughAHandshakeSaysWhyAndStops) {
  DEEPREDUCE_NEEDS_TORCH();
  ResettingListener network(port_);
  ASSERT_TRUE(network.ok()) << "port " << port_;
  auto a = worker("a", {"--give-up-after", "3"});
  ASSERT_TRUE(a->wait(30)) << a->log();
  EXPECT_NE(a->exit_code(), 0);
  const std::string log = a->log();
  const size_t said = log.find("deepreduce worker: worker a: ");
  ASSERT_NE(said, std::string::npos) << log;
  EXPECT_NE(log.find("the handshake with " + endpoint() + " broke off (Connection reset by peer)", said),
            std::string::npos)
      << log;
}

TEST_F(FaultTest, WorkersKilledMidTrialRepeatedlyEveryTrialEndsDoneExactlyOnce) {
  DEEPREDUCE_NEEDS_TORCH();
  auto c = coordinator(config(5, 6, /*kd=*/true), "db", {"--max-attempts", "20", "--heartbeat-ms", "300"});
  std::map<std::string, std::unique_ptr<Process>> workers;
  workers["a"] = worker("a");
  workers["b"] = worker("b");
  int kills = 0, spawned = 2;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(300);
  // Each kill lands mid-trial: on a worker whose lease has reported progress
  // (a wait for that, not a guess at how long a trial takes).
  while (kills < 6 && c->running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto s = peek("db");
    if (!s) continue;
    auto leased = s->list_trials(storage::TrialState::kLeased);
    if (!leased.ok()) continue;
    for (const auto& t : *leased) {
      auto w = workers.find(t.worker);
      if (t.progress.is_null() || w == workers.end() || !w->second->running()) continue;
      w->second->signal(SIGKILL);
      w->second->wait(5);
      workers.erase(w);
      ++kills;
      const std::string name = "w" + std::to_string(++spawned);
      workers[name] = worker(name);
      break;
    }
  }
  ASSERT_TRUE(c->wait(300)) << c->log();
  EXPECT_EQ(c->exit_code(), 0) << c->log();
  EXPECT_GE(kills, 3) << c->log();
  expect_all_done_once("db", 6);
  auto s = read("db");
  int released = 0;
  for (const auto& e : *s->events(0, 1000000)) released += e.type == "released";
  // A kill may still race the last moments of a trial; most land mid-way.
  EXPECT_GT(released, 0) << "no kill landed mid-trial";
}

TEST_F(FaultTest, ACoordinatorKilledMidSweepRestartsWithoutRetrainingAndEndsAsAnUninterruptedRun) {
  DEEPREDUCE_NEEDS_TORCH();
  const std::string cfg = config(4, 5);
  // The reference: the same experiment, never interrupted.
  Process reference({"run", cfg, "--db", path("reference"), "--threads", "1"}, path("reference.log"));
  ASSERT_TRUE(reference.wait(120)) << reference.log();
  ASSERT_EQ(reference.exit_code(), 0) << reference.log();

  auto c = coordinator(cfg, "db");
  auto a = worker("a");
  auto b = worker("b");
  // Kill the coordinator once some, not all, trials are done.
  size_t done_before = 0;
  for (int i = 0; i < 600 && done_before == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (auto s = peek("db")) done_before = s->list_trials(storage::TrialState::kDone)->size();
  }
  c->signal(SIGKILL);
  c->wait(5);
  uint64_t seq_at_kill;
  std::map<std::string, bool> done_at_kill;
  {
    auto s = read("db");
    ASSERT_TRUE(s);
    seq_at_kill = s->last_seq();
    for (const auto& t : *s->list_trials(storage::TrialState::kDone)) done_at_kill[t.id] = true;
  }
  ASSERT_GT(done_at_kill.size(), 0u);
  ASSERT_LT(done_at_kill.size(), 4u) << "the sweep finished before the kill";
  auto c2 = coordinator(cfg, "db");
  ASSERT_TRUE(c2->wait(120)) << c2->log();
  EXPECT_EQ(c2->exit_code(), 0) << c2->log();
  expect_all_done_once("db", 4);
  auto s = read("db");
  for (const auto& e : *s->events(seq_at_kill, 1000000))
    if (e.type == "leased") {
      EXPECT_FALSE(done_at_kill.count(e.trial)) << "done trial " << e.trial << " trained again";
    }
  // The same results as the uninterrupted run, trial by trial.
  auto ref = read("reference");
  for (const auto& t : *s->list_trials()) {
    auto mine = **s->get_result(t.id);
    auto theirs = **ref->get_result(t.id);
    EXPECT_EQ(mine["top1"], theirs["top1"]) << t.id;
    EXPECT_EQ(mine["loss"], theirs["loss"]) << t.id;
  }
}

TEST_F(FaultTest, GarbageAtTheSocketDoesNotStopTheCoordinatorServingRealWorkers) {
  DEEPREDUCE_NEEDS_TORCH();
  auto c = coordinator(config(3, 3), "db");
  auto w = worker("a");
  zmq::context_t ctx;
  std::mt19937 rng(1);
  const std::string v = std::to_string(protocol::kVersion);
  std::vector<std::vector<std::string>> nasty = {
      {"HELLO"},
      {"HELLO", "{\"v\":" + v + "}"},
      {"RESULT", "{\"v\":" + v + ",\"trial\":\"nope\",\"attempt\":1,\"result\":{}}"},
      {"ASSIGN", "{\"v\":" + v + ",\"trial\":\"x\",\"attempt\":1,\"spec\":{},\"checkpoint\":false}"},
      {"HEARTBEAT", "{\"v\":999}"},
      {"UPLOAD", "{\"v\":" + v + ",\"trial\":\"x\",\"attempt\":1,\"kind\":\"model\",\"chunk\":0,\"chunks\":1,\"size\":1}",
       std::string(protocol::kMaxPayloadBytes + 10, 'x')},
      {"FETCH", "{\"v\":" + v + ",\"trial\":\"../../etc/passwd\",\"kind\":\"model\"}"},
  };
  for (int round = 0; round < 30 && c->running(); ++round) {
    zmq::socket_t s(ctx, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    s.connect(endpoint());
    for (const auto& frames : nasty) protocol::send_frames(s, frames);
    for (int i = 0; i < 20; ++i) {
      std::vector<std::string> frames(rng() % 5);
      for (auto& f : frames) {
        f.resize(rng() % 300);
        for (auto& ch : f) ch = static_cast<char>(rng());
      }
      if (!frames.empty()) protocol::send_frames(s, frames);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(c->wait(90)) << c->log();
  EXPECT_EQ(c->exit_code(), 0) << c->log();
  expect_all_done_once("db", 3);
  EXPECT_NE(c->log().find("rejected a message"), std::string::npos);
}

TEST_F(FaultTest, AStoppedWorkerLosesItsLeaseAndItsLateResultCountsAtMostOnce) {
  DEEPREDUCE_NEEDS_TORCH();
  auto c = coordinator(config(2, 6), "db", {"--heartbeat-ms", "300"});
  auto a = worker("a");
  // Wait until a holds a lease, then freeze it past 3 heartbeats.
  ASSERT_TRUE(wait_until_leased("db"));
  a->signal(SIGSTOP);
  auto b = worker("b");
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  a->signal(SIGCONT);
  ASSERT_TRUE(c->wait(90)) << c->log();
  EXPECT_EQ(c->exit_code(), 0);
  expect_all_done_once("db", 2);
  EXPECT_NE(c->log().find("worker a lost"), std::string::npos) << c->log();
}

TEST_F(FaultTest, CurveLetsInOnlyWorkersWithAnAllowedKey) {
  DEEPREDUCE_NEEDS_TORCH();
  for (const char* who : {"server", "good", "bad"}) {
    Process k({"keygen", "--out", path(std::string("keys/") + who)}, path("keygen.log"));
    ASSERT_TRUE(k.wait(20));
    ASSERT_EQ(k.exit_code(), 0) << k.log();
  }
  fs::copy_file(path("keys/good.public"), path("allowed"));
  const std::vector<std::string> server = {"--curve-secret", path("keys/server.secret"), "--allow", path("allowed")};
  auto curve_args = [&](const std::string& who) {
    return std::vector<std::string>{"--curve-public", path("keys/" + who + ".public"), "--curve-secret",
                                    path("keys/" + who + ".secret"), "--server-key", path("keys/server.public")};
  };
  auto c = coordinator(config(1, 2), "db", server);
  auto bad_args = curve_args("bad");
  bad_args.insert(bad_args.end(), {"--give-up-after", "3"});
  auto bad = worker("bad", bad_args);
  auto plain = worker("plain");
  std::this_thread::sleep_for(std::chrono::seconds(4));
  {
    EXPECT_TRUE(c->running());
    auto s = read("db");
    EXPECT_EQ(s->list_trials(storage::TrialState::kPending)->size(), 1u) << "an unknown or plaintext worker got work";
    int joined = 0;
    for (const auto& e : *s->events(0, 1000)) joined += e.type == "worker_joined";
    EXPECT_EQ(joined, 0);
  }
  auto good = worker("good", curve_args("good"));
  ASSERT_TRUE(c->wait(60)) << c->log();
  EXPECT_EQ(c->exit_code(), 0);
  expect_all_done_once("db", 1);
  EXPECT_NE(c->log().find("refused a connection"), std::string::npos) << c->log();
  // The refused worker stops and says why; the plaintext one says what may be wrong.
  ASSERT_TRUE(bad->wait(30)) << bad->log();
  EXPECT_NE(bad->exit_code(), 0);
  const std::string said = bad->log().substr(std::min(bad->log().size(), bad->log().find("deepreduce worker: worker bad: ")));
  EXPECT_NE(said.find("refused this worker's CURVE key (is its public key in the coordinator's --allow file?)"),
            std::string::npos)
      << bad->log();
  EXPECT_NE(plain->log().find("broke off"), std::string::npos) << plain->log();
}

TEST_F(FaultTest, AReLeasedTrialResumesFromTheCheckpointItsLastWorkerSent) {
  DEEPREDUCE_NEEDS_TORCH();
  auto c = coordinator(config(1, 10), "db", {"--heartbeat-ms", "500"});
  auto a = worker("a");
  // Wait for the first checkpoint to reach the store, then kill the worker.
  bool checkpointed = false;
  for (int i = 0; i < 600 && !checkpointed; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (auto s = peek("db"))
      for (const auto& e : *s->events(0, 100000)) checkpointed |= e.type == "artifact";
  }
  ASSERT_TRUE(checkpointed) << c->log();
  a->signal(SIGKILL);
  a->wait(5);
  auto b = worker("b");
  ASSERT_TRUE(c->wait(90)) << c->log();
  EXPECT_EQ(c->exit_code(), 0);
  expect_all_done_once("db", 1);
  EXPECT_NE(b->log().find("resuming from the checkpoint of epoch"), std::string::npos) << b->log();
  auto s = read("db");
  auto t = s->list_trials()->front();
  EXPECT_GE(t.attempt, 2);  // (a loaded machine may have cost a an earlier lease too)
  EXPECT_EQ((**s->get_result(t.id))["epochs"].size(), 10u);  // the history survived the move
}

TEST_F(FaultTest, SigintStopsTheCoordinatorCleanlyAndARestartFinishes) {
  DEEPREDUCE_NEEDS_TORCH();
  const std::string cfg = config(3, 8);
  auto c = coordinator(cfg, "db", {"--heartbeat-ms", "300"});
  auto a = worker("a");
  ASSERT_TRUE(wait_until_leased("db"));
  c->signal(SIGINT);
  ASSERT_TRUE(c->wait(15)) << c->log();
  EXPECT_EQ(c->exit_code(), 0) << c->log();
  EXPECT_NE(c->log().find("stopping"), std::string::npos);
  ASSERT_TRUE(a->wait(15)) << a->log();  // told to shut down, it handed back and left
  {
    auto s = read("db");  // closed cleanly: opens, nothing left leased to a
    for (const auto& t : *s->list_trials()) EXPECT_NE(t.state, storage::TrialState::kLeased) << t.id;
  }
  auto c2 = coordinator(cfg, "db");
  auto b = worker("b");
  ASSERT_TRUE(c2->wait(120)) << c2->log();
  expect_all_done_once("db", 3);
}

TEST_F(FaultTest, RunAgainOnTheSameStoreTrainsNothingTwice) {
  DEEPREDUCE_NEEDS_TORCH();
  const std::string cfg = config(2, 2, /*kd=*/true);
  Process first({"run", cfg, "--db", path("db")}, path("first.log"));
  ASSERT_TRUE(first.wait(120));
  ASSERT_EQ(first.exit_code(), 0) << first.log();
  Process second({"run", cfg, "--db", path("db")}, path("second.log"));
  ASSERT_TRUE(second.wait(60));
  ASSERT_EQ(second.exit_code(), 0) << second.log();
  EXPECT_NE(second.log().find("nothing to do: its 3 trials are finished"), std::string::npos) << second.log();
  expect_all_done_once("db", 3);
}

}  // namespace
}  // namespace deepreduce
