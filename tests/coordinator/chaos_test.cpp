// The fault campaign: real processes, real sockets, SIGKILL at random moments,
// hostile messages. Each test ends with every trial done exactly once, the
// same results as an uninterrupted run, no forged result, no crash and no trial
// charged for what it did not do, and prints a "campaign:" line with what it
// did (bench/fault_campaign.sh collects them into BENCHMARKS.md).
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <zmq.hpp>

#include "protocol/protocol.h"
#include "protocol/transport.h"
#include "storage/store.h"
#include "tests/needs_torch.h"
#include "tests/coordinator/fault_fixture.h"

namespace deepreduce {
namespace {
namespace fs = std::filesystem;
namespace proto = deepreduce::protocol;
using testing::FaultTest;
using testing::Process;
using Clock = std::chrono::steady_clock;

class ChaosTest : public FaultTest {
 protected:
  // The uninterrupted reference of config `cfg`.
  void reference(const std::string& cfg) {
    Process ref({"run", cfg, "--db", path("reference"), "--threads", "1"}, path("reference.log"));
    ASSERT_TRUE(ref.wait(240)) << ref.log();
    ASSERT_EQ(ref.exit_code(), 0) << ref.log();
  }
  // How every campaign must end: each trial done exactly once, with the
  // reference run's results and its model, and none charged an attempt.
  void expect_campaign_ended_well(const std::string& db, size_t trials) {
    expect_all_done_once(db, trials);
    expect_same_results(db, "reference");
    EXPECT_EQ(charged_trials(db), 0);
  }
  static double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
  }
  std::mt19937 rng_{std::random_device{}()};
};

TEST_F(ChaosTest, CoordinatorKilledTenTimesWhileWorkersTrainAndDeliver) {
  DEEPREDUCE_NEEDS_TORCH();
  const std::string cfg = config(16, 10, /*kd=*/true);
  reference(cfg);
  const auto t0 = Clock::now();
  auto a = worker("a");
  auto b = worker("b");
  int kills = 0;
  std::unique_ptr<Process> c;
  while (kills < 10) {
    c = coordinator(cfg, "db", {"--heartbeat-ms", "300", "--restart-grace-s", "40"});
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng_() % 1500));
    if (!c->running()) break;  // finished before this kill
    c->signal(SIGKILL);
    c->wait(5);
    ++kills;
    // Down for a while: workers finish trials meanwhile and must deliver them later.
    std::this_thread::sleep_for(std::chrono::milliseconds(rng_() % 1500));
  }
  if (kills == 10) c = coordinator(cfg, "db", {"--heartbeat-ms", "300", "--restart-grace-s", "40"});
  ASSERT_TRUE(c->wait(240)) << c->log();
  EXPECT_EQ(c->exit_code(), 0) << c->log();
  EXPECT_TRUE(a->running() || a->exit_code() == 0) << a->log();
  EXPECT_EQ(kills, 10) << "the experiment finished before the tenth kill: make it longer";
  expect_campaign_ended_well("db", 17);
  std::printf("campaign: coordinator SIGKILLed %d times, down 0-1.5 s each while workers kept training: 17/17 "
              "trials done once, results equal, 0 charged, %.0f s\n",
              kills, seconds_since(t0));
}

TEST_F(ChaosTest, WorkersKilledThirtyTimes) {
  DEEPREDUCE_NEEDS_TORCH();
  const std::string cfg = config(16, 8, /*kd=*/true);
  reference(cfg);
  const auto t0 = Clock::now();
  auto c = coordinator(cfg, "db", {"--heartbeat-ms", "300"});
  std::vector<std::unique_ptr<Process>> workers;
  for (int i = 0; i < 3; ++i) workers.push_back(worker("w" + std::to_string(i)));
  int kills = 0, spawned = 3, mid_trial = 0;
  while (c->running() && kills < 30) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng_() % 600));
    const size_t victim = rng_() % workers.size();
    if (auto s = peek("db")) mid_trial += !s->list_trials(storage::TrialState::kLeased)->empty();
    workers[victim]->signal(SIGKILL);
    workers[victim]->wait(5);
    ++kills;
    workers[victim] = worker("w" + std::to_string(spawned++));
  }
  ASSERT_TRUE(c->wait(300)) << c->log();
  EXPECT_EQ(c->exit_code(), 0) << c->log();
  EXPECT_EQ(kills, 30) << "the experiment finished before the thirtieth kill: make it longer";
  expect_campaign_ended_well("db", 17);
  std::printf("campaign: workers SIGKILLed %d times (%d with a trial leased): 17/17 trials done once, results equal, "
              "0 failed, %.0f s\n",
              kills, mid_trial, seconds_since(t0));
}

TEST_F(ChaosTest, RunKilledTwentyTimesIncludingWhileItCreatesItsStore) {
  DEEPREDUCE_NEEDS_TORCH();
  const std::string cfg = config(8, 6, /*kd=*/true);
  reference(cfg);
  const auto t0 = Clock::now();
  int kills = 0, during_creation = 0;
  for (int i = 0; i < 20; ++i) {
    Process r({"run", cfg, "--db", path("db"), "--threads", "1"}, path("run.log"));
    // The first kills land while the store is being created (before it has a
    // CURRENT file, or just after), the later ones mid-training.
    const int ms = i < 6 ? static_cast<int>(rng_() % 60) : 200 + static_cast<int>(rng_() % 1500);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    if (!r.running()) break;
    during_creation += !fs::exists(path("db") + "/CURRENT");
    r.signal(SIGKILL);
    r.wait(5);
    ++kills;
  }
  Process last({"run", cfg, "--db", path("db"), "--threads", "1"}, path("run-last.log"));
  ASSERT_TRUE(last.wait(240)) << last.log();
  EXPECT_EQ(last.exit_code(), 0) << last.log();
  EXPECT_EQ(kills, 20) << "the experiment finished before the twentieth kill: make it longer";
  expect_campaign_ended_well("db", 9);
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_EQ(e.path().filename().string().find(".creating-"), std::string::npos) << "left behind: " << e.path();
  std::printf("campaign: run SIGKILLed %d times (%d before its store existed): 9/9 trials done once, results equal, "
              "0 charged, %.0f s\n",
              kills, during_creation, seconds_since(t0));
}

// 10,000 messages an unkind network and a hostile client would send, while
// two real workers run a real experiment.
TEST_F(ChaosTest, TenThousandHostileMessagesForgeNothingAndStopNothing) {
  DEEPREDUCE_NEEDS_TORCH();
  // Long enough that all 10,000 messages arrive while trials still train
  // (the coordinator got faster: 4 epochs finished inside the campaign once).
  const std::string cfg = config(4, 16, /*kd=*/true);
  reference(cfg);
  const auto t0 = Clock::now();
  auto c = coordinator(cfg, "db", {"--heartbeat-ms", "300"});
  auto a = worker("a");
  auto b = worker("b");
  ASSERT_TRUE(wait_until_leased("db"));
  std::vector<std::string> ids;
  for (const auto& t : *read("db")->list_trials()) ids.push_back(t.id);
  zmq::context_t ctx;
  const int v = proto::kVersion;
  auto token = [&] { return proto::random_token(); };
  auto any_id = [&] { return ids[rng_() % ids.size()]; };
  auto bytes = [&](size_t n) {
    std::string s(n, '\0');
    for (auto& ch : s) ch = static_cast<char>(rng_());
    return s;
  };
  // Messages about real trials that the sender does not hold.
  auto about_a_trial = [&]() -> std::vector<std::string> {
    nlohmann::json h = {{"v", v}, {"trial", any_id()}, {"attempt", 1 + rng_() % 3}, {"lease", token()}};
    switch (rng_() % 4) {
      case 0:
        h["result"] = {{"top1", 99.9}};
        h["model"] = {{"size", 0}, {"blake2b", proto::digest("")}};
        return {"RESULT", h.dump()};
      case 1:
        h["epoch"] = {{"epoch", 1}, {"top1", 99.9}};
        return {"PROGRESS", h.dump()};
      case 2:
        h["reason"] = "forged failure";
        h["retryable"] = false;
        h["environment"] = false;
        return {"FAILED", h.dump()};
      default:
        h["kind"] = rng_() % 2 ? "model" : "checkpoint";
        h["chunk"] = 0;
        h["chunks"] = 1;
        h["size"] = 5;
        return {"UPLOAD", h.dump(), "forge"};
    }
  };
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  int sent = 0, hellos = 0;
  std::map<std::string, int> kinds;
  while (sent < 10000 && c->running()) {
    zmq::socket_t s(ctx, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    s.set(zmq::sockopt::routing_id, "hostile-" + std::to_string(sent));
    s.connect(endpoint());
    // Some connections introduce themselves first (as "a": the name of a real worker).
    if (hellos < 5 && rng_() % 4 == 0) {
      nlohmann::json running = nlohmann::json::array();
      running.push_back({{"trial", any_id()}, {"attempt", 1}, {"lease", token()}});
      proto::send_frames(s, {"HELLO", nlohmann::json{{"v", v}, {"worker", "a"}, {"host", "evil"}, {"pid", 1},
                                                     {"devices", {"cpu"}}, {"threads", 1}, {"slots", 1},
                                                     {"running", running}}
                                          .dump()});
      ++hellos;
      ++sent;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    for (int i = 0; i < 200 && sent < 10000; ++i, ++sent) {
      std::vector<std::string> frames;
      switch (rng_() % 8) {
        case 0:  // random bytes in random frames
          frames.resize(rng_() % 5);
          for (auto& f : frames) f = bytes(rng_() % 300);
          if (frames.empty()) frames.push_back(bytes(3));
          kinds["random"]++;
          break;
        case 1: {  // a valid message truncated
          auto m = about_a_trial();
          m[1] = m[1].substr(0, rng_() % m[1].size());
          frames = m;
          kinds["truncated"]++;
          break;
        }
        case 2:  // oversized header
          frames = {"HEARTBEAT", std::string(proto::kMaxHeaderBytes + 1 + rng_() % 1000, ' ')};
          kinds["oversized"]++;
          break;
        case 3:  // another version
          frames = {"HEARTBEAT", "{\"v\":" + std::to_string(rng_() % 2 ? 2 : 99) + "}"};
          kinds["wrong version"]++;
          break;
        case 4:  // the nesting bomb
          frames = {"HELLO", "{\"v\":" + std::to_string(v) + ",\"devices\":" + deep + "}"};
          kinds["deep nesting"]++;
          break;
        case 5:  // a coordinator's message from a client
          frames = {"ASSIGN", nlohmann::json{{"v", v}, {"trial", any_id()}, {"attempt", 1}, {"lease", token()},
                                             {"spec", nlohmann::json::object()}, {"checkpoint", false}}
                                  .dump()};
          kinds["wrong direction"]++;
          break;
        default:  // well-formed, about trials the sender does not hold
          frames = about_a_trial();
          kinds["not held"]++;
          break;
      }
      proto::send_frames(s, frames);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  ASSERT_TRUE(c->wait(240)) << c->log();
  EXPECT_EQ(c->exit_code(), 0) << c->log();
  EXPECT_EQ(sent, 10000);
  expect_campaign_ended_well("db", 5);
  int forged = 0;
  auto store = read("db");
  for (const auto& t : *store->list_trials()) {
    auto r = **store->get_result(t.id);
    forged += r["top1"] == 99.9 || (r["worker"] != "a" && r["worker"] != "b");
  }
  EXPECT_EQ(forged, 0);
  EXPECT_NE(c->log().find("refused"), std::string::npos);
  std::string mix;
  for (const auto& [k, n] : kinds) mix += (mix.empty() ? "" : ", ") + std::to_string(n) + " " + k;
  std::printf("campaign: %d hostile messages (%d HELLO, %s): 5/5 trials done once, results equal, %d forged, "
              "0 crashes, %.0f s\n",
              sent, hellos, mix.c_str(), forged, seconds_since(t0));
}

// Issue item 3: workers idle at the kill rejoin and get work at once, however
// often the coordinator dies while they wait.
TEST_F(ChaosTest, IdleWorkersThatRejoinARestartedCoordinatorGetWork) {
  DEEPREDUCE_NEEDS_TORCH();
  auto a = worker("a");
  auto b = worker("b");
  size_t trials = 0;
  for (int round = 0; round < 3; ++round) {
    // Experiment `round` in the same store, served until done, then the coordinator is killed
    // while both workers sit idle.
    auto c = coordinator(config(round + 1, 1, false, "idle" + std::to_string(round)), "db", {"--keep-serving"});
    trials = round + 1;  // each experiment's trials include the previous one's (same seeds, same ids)
    bool done = false;
    for (int i = 0; i < 600 && !done; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (auto s = peek("db")) done = s->list_trials(storage::TrialState::kDone)->size() == trials;
    }
    ASSERT_TRUE(done) << c->log() << a->log();
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng_() % 700));  // idle
    c->signal(SIGKILL);
    c->wait(5);
  }
  // The last experiment adds new trials: only the rejoined idle workers can train them.
  auto c = coordinator(config(5, 1, false, "after"), "db");
  ASSERT_TRUE(c->wait(60)) << c->log() << a->log();
  EXPECT_EQ(c->exit_code(), 0) << c->log();
  expect_all_done_once("db", 5);
  std::printf("campaign: coordinator SIGKILLed 3 times while every worker was idle: the rejoined workers trained "
              "the next experiment at once\n");
}

// Issue item 4: a trial that finishes while the coordinator is down is stored
// with its model when the worker reconnects, and its KD student trains.
TEST_F(ChaosTest, AResultFinishedWhileTheCoordinatorIsDownArrivesWithItsModel) {
  DEEPREDUCE_NEEDS_TORCH();
  const std::string cfg = config(1, 3, /*kd=*/true);
  auto c = coordinator(cfg, "db", {"--heartbeat-ms", "300"});
  auto a = worker("a");
  ASSERT_TRUE(wait_until_leased("db"));
  // The lease is stored before its ASSIGN leaves: the worker must hold the
  // trial before the coordinator freezes (an ASSIGN lost with the coordinator
  // is another case, CoordinatorTest.ALeaseWhoseAssignDiedWithTheLastCoordinator...).
  for (int i = 0; i < 600 && a->log().find(" assigned (attempt") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_NE(a->log().find(" assigned (attempt"), std::string::npos) << a->log();
  // Frozen, the coordinator cannot answer: the result and the model are sent
  // into a socket nobody reads, then lost with the process.
  c->signal(SIGSTOP);
  for (int i = 0; i < 600 && a->log().find(" silent for ") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::this_thread::sleep_for(std::chrono::seconds(3));  // the 3-epoch trial has finished by now
  c->signal(SIGKILL);
  c->wait(5);
  auto c2 = coordinator(cfg, "db", {"--heartbeat-ms", "300"});
  ASSERT_TRUE(c2->wait(120)) << c2->log() << a->log();
  EXPECT_EQ(c2->exit_code(), 0) << c2->log();
  expect_all_done_once("db", 2);
  auto s = read("db");
  int leases = 0, failed_fetches = 0;
  for (const auto& e : *s->events(0, 100000)) {
    leases += e.type == "leased";
    failed_fetches += e.type == "released";
  }
  EXPECT_EQ(leases, 2) << "a trial was trained twice";
  EXPECT_EQ(failed_fetches, 0);
  EXPECT_NE(c2->log().find("reclaimed trial"), std::string::npos) << c2->log();
  for (const auto& t : *s->list_trials()) {
    auto model = s->get_artifact(t.id, deepreduce::spec::ArtifactKind::kModel);
    EXPECT_TRUE(model.ok() && model->has_value()) << t.id;
  }
}

// Issue item 5: a worker whose surroundings fail is quarantined; no trial is
// charged. `run` checks its local workers' data before it creates anything.
TEST_F(ChaosTest, AWorkerWithoutItsDataIsQuarantinedAndNoTrialIsCharged) {
  DEEPREDUCE_NEEDS_TORCH();
  fs::create_directories(path("empty-data"));
  std::ofstream(dir_ / "fm.yaml") << "name: fm\n"
                                     "defaults: {dataset: fashion-mnist, arch: resnet18, alpha: 0.125, blocks: [1, 1, 1, 1],"
                                     " epochs: 1, train_subset: 256, test_subset: 100, batch: 64}\n"
                                     "trials:\n  - name: a\n  - name: b\n    seed: 2\n  - name: c\n    seed: 3\n";
  const std::string cfg = path("fm.yaml");
  // `run` without its data: refused before anything is created, naming the file.
  Process refused({"run", cfg, "--db", path("db"), "--data-root", path("empty-data"), "--threads", "1"},
                  path("refused.log"));
  ASSERT_TRUE(refused.wait(60)) << refused.log();
  EXPECT_EQ(refused.exit_code(), 1) << refused.log();
  EXPECT_NE(refused.log().find("empty-data/train-images-idx3-ubyte"), std::string::npos) << refused.log();
  EXPECT_NE(refused.log().find("nothing was created"), std::string::npos) << refused.log();
  EXPECT_FALSE(fs::exists(path("db"))) << "no store is left behind";
  // A remote worker without its data: quarantined, no trial charged.
  auto c = coordinator(cfg, "db");
  auto bad = worker("bad", {"--data-root", path("empty-data")});
  ASSERT_TRUE(bad->wait(120)) << bad->log();
  EXPECT_NE(bad->exit_code(), 0) << bad->log();
  EXPECT_NE(bad->log().find("quarantined"), std::string::npos) << bad->log();
  c->signal(SIGTERM);
  ASSERT_TRUE(c->wait(30)) << c->log();
  {
    auto s = read("db");
    for (const auto& t : *s->list_trials()) {
      EXPECT_NE(t.state, storage::TrialState::kFailed) << t.id;
      EXPECT_EQ(t.charged, 0) << t.id;
    }
  }
  Process status({"status", "--db", path("db")}, path("status.log"));
  ASSERT_TRUE(status.wait(30));
  EXPECT_NE(status.log().find("quarantined worker"), std::string::npos) << status.log();
  // Fixed (Debian's Fashion-MNIST, where the trials say): the same command trains everything.
  Process good({"run", cfg, "--db", path("db"), "--threads", "1"}, path("good.log"));
  ASSERT_TRUE(good.wait(180)) << good.log();
  EXPECT_EQ(good.exit_code(), 0) << good.log();
  expect_all_done_once("db", 3);
}

TEST_F(ChaosTest, AWorkerAskedForADeviceItLacksSaysSoAndExits) {
  DEEPREDUCE_NEEDS_TORCH();
  auto w = worker("gpu", {"--device", "cuda:0"});
  ASSERT_TRUE(w->wait(30)) << w->log();
  EXPECT_NE(w->exit_code(), 0);
  EXPECT_NE(w->log().find("no CUDA device"), std::string::npos) << w->log();
}

// A forged RESULT over a real socket: a client that says HELLO, then claims a
// pending trial it was never given.
TEST_F(ChaosTest, AForgedResultForAPendingTrialIsRefused) {
  const std::string cfg = config(2, 2);
  auto c = coordinator(cfg, "db", {"--keep-serving"});
  std::vector<std::string> ids;
  for (int i = 0; i < 200 && ids.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (auto s = peek("db"))
      for (const auto& t : *s->list_trials()) ids.push_back(t.id);
  }
  ASSERT_EQ(ids.size(), 2u);
  zmq::context_t ctx;
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.connect(endpoint());
  // slots 1 and it is assigned one trial: it forges the result of the other too.
  proto::send_frames(s, proto::encode(proto::make(proto::Type::kHello,
                                                  {{"worker", "liar"}, {"host", "h"}, {"pid", 1}, {"devices", {"cpu"}},
                                                   {"threads", 1}, {"slots", 1}, {"running", nlohmann::json::array()}})));
  std::string assigned, lease;
  for (int i = 0; i < 100 && assigned.empty(); ++i) {
    zmq::pollitem_t items[] = {{static_cast<void*>(s), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 1, std::chrono::milliseconds(50));
    while (auto frames = proto::recv_frames(s)) {
      auto m = proto::decode(*frames);
      if (m.ok() && m->type == proto::Type::kAssign) {
        assigned = m->header["trial"];
        lease = m->header["lease"];
      }
    }
  }
  ASSERT_FALSE(assigned.empty());
  const std::string other = ids[0] == assigned ? ids[1] : ids[0];
  auto forged = [&](const std::string& trial, const std::string& tok, const std::string& model) {
    proto::send_frames(s, proto::encode(proto::make(
                              proto::Type::kResult, {{"trial", trial}, {"attempt", 1}, {"lease", tok},
                                                     {"result", {{"top1", 99.9}}},
                                                     {"model", {{"size", model.size()}, {"blake2b", proto::digest(model)}}}})));
  };
  forged(other, proto::random_token(), "");  // a trial it does not hold
  forged(assigned, proto::random_token(), "");  // its own trial, a wrong token
  forged(assigned, lease, "weights");           // its own lease, but no model uploaded
  std::vector<std::string> receipts;
  for (int i = 0; i < 40; ++i) {
    zmq::pollitem_t items[] = {{static_cast<void*>(s), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 1, std::chrono::milliseconds(50));
    while (auto frames = proto::recv_frames(s)) {
      auto m = proto::decode(*frames);
      if (m.ok() && m->type == proto::Type::kReceipt) receipts.push_back(m->header["status"]);
    }
  }
  EXPECT_EQ(receipts, (std::vector<std::string>{"refused", "refused", "resend"}));
  c->signal(SIGINT);
  ASSERT_TRUE(c->wait(15));
  auto store = read("db");
  for (const auto& t : *store->list_trials()) EXPECT_NE(t.state, storage::TrialState::kDone) << t.id;
}

// A tmpfs of `size` mounted for one test (the disk that fills up), unmounted
// after it; `why_not` says why there is none (not root, no tmpfs).
struct SmallDisk {
  fs::path dir;
  std::string why_not;
  SmallDisk(const std::string& name, const std::string& size) {
    if (::geteuid() != 0) {
      why_not = "needs root to mount a small tmpfs (the disk that fills up)";
      return;
    }
    dir = fs::temp_directory_path() / (name + "_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, ("size=" + size).c_str()) != 0) {
      why_not = std::string("cannot mount a tmpfs here: ") + std::strerror(errno);
      fs::remove_all(dir);
      dir.clear();
    }
  }
  // Takes all but `leave` bytes of it with a file; unfill() gives them back.
  void fill(uint64_t leave) const {
    struct statvfs info;
    if (::statvfs(dir.c_str(), &info) != 0) return;
    const uint64_t free_bytes = static_cast<uint64_t>(info.f_bavail) * info.f_frsize;
    std::ofstream filler(dir / "filler", std::ios::binary);
    const std::string block(1 << 12, 'x');
    for (uint64_t left = free_bytes > leave ? free_bytes - leave : 0; left >= block.size(); left -= block.size())
      filler << block;
  }
  void unfill() const { fs::remove(dir / "filler"); }
  ~SmallDisk() {
    if (dir.empty()) return;
    ::umount2(dir.c_str(), MNT_DETACH);
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

TEST(FullDiskTest, AFullDiskIsAClearErrorAndLosesNothingStored) {
  SmallDisk disk("deepreduce_fulldisk", "24m");
  if (!disk.why_not.empty()) GTEST_SKIP() << disk.why_not;
  const fs::path mnt = disk.dir;
  const std::string db = (mnt / "store").string();
  spec::TrialSpec spec;
  spec.job.train.epochs = 1;
  const std::string id = spec::trial_id(spec);
  const std::string token(32, 'a');
  std::string message;
  {
    auto store = storage::open_store(db);
    ASSERT_TRUE(store.ok()) << store.status().message();
    ASSERT_TRUE((*store)->add_trials("full", {spec}).ok());
    ASSERT_TRUE((*store)->lease(id, "w", storage::now_ms() + 60000, token).ok());
    ASSERT_TRUE((*store)->put_artifact(id, deepreduce::spec::ArtifactKind::kCheckpoint, std::string(4 << 20, 'c')).ok());
    // A model larger than what is left: refused whole, and the trial stays leased.
    Status s = (*store)->complete(id, "w", 1, token, {{"top1", 50.0}}, std::string(30 << 20, 'm'));
    ASSERT_FALSE(s.ok());
    message = s.message();
    EXPECT_EQ((*store)->get_trial(id)->state, storage::TrialState::kLeased);
  }
  EXPECT_NE(message.find(db), std::string::npos) << message;
  EXPECT_NE(message.find("disk is full"), std::string::npos) << message;
  EXPECT_NE(message.find("needs 31457280 bytes"), std::string::npos) << message;
  {
    auto store = storage::open_store(db);
    ASSERT_TRUE(store.ok()) << store.status().message();
    auto ckpt = (*store)->get_artifact(id, deepreduce::spec::ArtifactKind::kCheckpoint);
    ASSERT_TRUE(ckpt.ok() && ckpt->has_value()) << "the stored checkpoint was lost";
    EXPECT_EQ((*ckpt)->size(), size_t{4} << 20);
    EXPECT_EQ((*store)->get_trial(id)->state, storage::TrialState::kLeased);
  }
  std::printf("campaign: full disk: \"%s\"\n", message.c_str());
}


// Issue 21 item 2: the disk fills up under the store's records (RocksDB's
// write-ahead log). The write is an error that names the store, the process
// writes nothing more through RocksDB (Debian's build asserts after a failed
// write otherwise: SIGABRT), closing the store does not abort, and what was
// committed before is there.
TEST(FullDiskTest, AFullDiskUnderTheRecordsIsAnErrorNeverAnAbort) {
  SmallDisk disk("deepreduce_fullwal", "16m");
  if (!disk.why_not.empty()) GTEST_SKIP() << disk.why_not;
  const fs::path mnt = disk.dir;
  const std::string db = (mnt / "store").string();
  spec::TrialSpec first;
  first.job.train.epochs = 1;
  std::string refused, after;
  {
    auto store = storage::open_store(db);
    ASSERT_TRUE(store.ok()) << store.status().message();
    ASSERT_TRUE((*store)->add_trials("full", {first}).ok());
    ASSERT_TRUE((*store)->sync().ok());
    disk.fill(16 << 10);  // everything but a few KiB taken by another file
    // Records until one does not fit.
    for (int i = 0; i < 200 && refused.empty(); ++i) {
      spec::TrialSpec t = first;
      t.job.train.seed = 1000 + i;
      t.name = std::string(4000, 'n');
      Status s = (*store)->add_trials("full", {t}).status();
      if (s.ok()) s = (*store)->sync();
      if (!s.ok()) refused = s.message();
    }
    ASSERT_FALSE(refused.empty()) << "the disk never filled";
    spec::TrialSpec later = first;
    later.job.train.seed = 99;
    after = (*store)->add_trials("full", {later}).status().message();
  }  // closing the store after the failure: no assertion, no abort
  EXPECT_NE(refused.find(db), std::string::npos) << refused;
  EXPECT_NE(refused.find("disk is full"), std::string::npos) << refused;
  EXPECT_NE(after.find("writes no more to the store"), std::string::npos) << after;
  disk.unfill();
  {
    // This process left its DB open (closing it after the failure would
    // abort); another reads what was committed before.
    storage::StoreOptions ro;
    ro.read_only = true;
    auto store = storage::open_store(db, ro);
    ASSERT_TRUE(store.ok()) << store.status().message();
    EXPECT_TRUE((*store)->get_trial(spec::trial_id(first)).ok()) << "what was committed before is kept";
  }
  std::printf("campaign: full disk under the records: \"%s\"\n", refused.c_str());
}

// Issue 21 item 2: a disk too small to create the store on: an error naming
// the store, no abort, nothing half-made left where the store should be.
TEST(FullDiskTest, AStoreThatDoesNotFitIsNotCreatedAndSaysWhy) {
  SmallDisk disk("deepreduce_fullcreate", "64k");
  if (!disk.why_not.empty()) GTEST_SKIP() << disk.why_not;
  const fs::path mnt = disk.dir;
  const std::string db = (mnt / "store").string();
  auto store = storage::open_store(db);
  ASSERT_FALSE(store.ok()) << "a store fit in 64 KiB";
  const std::string message = store.status().message();
  EXPECT_NE(message.find(db), std::string::npos) << message;
  EXPECT_NE(message.find("disk is full"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(fs::path(db) / "CURRENT")) << "no half-made store";
  std::printf("campaign: full disk at creation: \"%s\"\n", message.c_str());
}

// Issue 21 items 2 and 3: `run` on a store whose disk is nearly full says the
// disk is full and ends, never looping and never aborting (RocksDB aborted when
// a write failed while the store was being opened or closed).
TEST_F(ChaosTest, ARunOnANearlyFullDiskSaysSoAndNeverAborts) {
  DEEPREDUCE_NEEDS_TORCH();
  SmallDisk disk("deepreduce_fullmodel", "4m");
  if (!disk.why_not.empty()) GTEST_SKIP() << disk.why_not;
  const std::string db = (disk.dir / "db").string();
  { ASSERT_TRUE(storage::open_store(db).ok()); }
  disk.fill(96 << 10);
  std::ofstream(dir_ / "big.yaml") << "name: big\n"
                                      "defaults: {dataset: synthetic, arch: resnet18, alpha: 0.5, blocks: [1, 1, 1, 1],"
                                      " epochs: 1, train_subset: 128, test_subset: 64, batch: 64}\n"
                                      "trials:\n  - name: a\n";
  Process run({"run", path("big.yaml"), "--db", db, "--threads", "1", "--store-give-up-s", "3"}, path("run.log"));
  ASSERT_TRUE(run.wait(120)) << "the run ended\n" << run.log();
  EXPECT_EQ(run.exit_code(), 1) << run.log();
  EXPECT_NE(run.log().find("disk is full"), std::string::npos) << run.log();
  EXPECT_NE(run.log().find(db), std::string::npos) << run.log();
  disk.unfill();
  auto s = storage::open_store(db);
  EXPECT_TRUE(s.ok()) << "with space back the store opens: " << s.status().message();
}

// Issue 21 item 2: a worker whose scratch folder (its local spool) is full: the
// trial is handed back uncharged, the worker is quarantined saying what it could
// not write, nothing aborts, and another worker finishes the experiment.
TEST_F(ChaosTest, AWorkerWithAFullScratchFolderIsQuarantinedAndChargesNoTrial) {
  DEEPREDUCE_NEEDS_TORCH();
  SmallDisk disk("deepreduce_fullspool", "128k");
  if (!disk.why_not.empty()) GTEST_SKIP() << disk.why_not;
  std::ofstream(dir_ / "spool.yaml")
      << "name: spool\n"
         "defaults: {dataset: synthetic, arch: resnet18, alpha: 0.125, blocks: [1, 1, 1, 1], epochs: 1,"
         " train_subset: 128, test_subset: 64, batch: 64}\n"
         "trials:\n  - name: a\n  - name: b\n    seed: 1\n";
  auto c = coordinator(path("spool.yaml"), "db");
  Process full({"worker", "--connect", endpoint(), "--threads", "1", "--name", "full", "--scratch",
                (disk.dir / "scratch").string()},
               path("worker-full.log"));
  ASSERT_TRUE(full.wait(120)) << full.log();
  EXPECT_NE(full.exit_code(), 0) << full.log();
  EXPECT_NE(full.log().find("quarantined"), std::string::npos) << full.log();
  EXPECT_NE(c->log().find((disk.dir / "scratch").string()), std::string::npos)
      << "the coordinator's log names the folder that was full\n" << c->log();
  auto good = worker("good");
  ASSERT_TRUE(c->wait(180)) << c->log();
  EXPECT_EQ(c->exit_code(), 0) << c->log();
  auto s = read("db");
  for (const auto& t : *s->list_trials()) {
    EXPECT_EQ(t.state, storage::TrialState::kDone) << t.id;
    EXPECT_EQ(t.charged, 0) << t.id << ": the full disk was the worker's, not the trial's";
  }
}

// The frames of `m` as a build speaking protocol version `v` would send them.
std::vector<std::string> as_version(const proto::Message& m, int v) {
  auto frames = proto::encode(m);
  auto header = nlohmann::json::parse(frames[1]);
  header["v"] = v;
  frames[1] = header.dump();
  return frames;
}

// Issue 21 item 5: a peer of another build is told, naming both versions,
// instead of being ignored (the worker side: it stops instead of waiting).
TEST_F(ChaosTest, APeerOfAnotherProtocolVersionIsToldBothVersions) {
  std::ofstream(dir_ / "noop.yaml") << "name: noop\ntrials:\n  - {kind: noop, dataset: synthetic}\n";
  auto c = coordinator(path("noop.yaml"), "db", {"--keep-serving"});
  zmq::context_t ctx;
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.connect(endpoint());
  const proto::Message hello = proto::make(proto::Type::kHello, {{"worker", "old"}, {"host", "h"}, {"pid", 1},
                                                                  {"devices", {"cpu"}}, {"threads", 1}, {"slots", 1},
                                                                  {"running", nlohmann::json::array()}});
  std::string reason;
  for (int i = 0; i < 100 && reason.empty(); ++i) {
    if (i % 20 == 0) proto::send_frames(s, as_version(hello, proto::kVersion - 1));
    zmq::pollitem_t items[] = {{static_cast<void*>(s), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 1, std::chrono::milliseconds(50));
    while (auto frames = proto::recv_frames(s)) {
      auto m = proto::decode(*frames);
      if (m.ok() && m->type == proto::Type::kShutdown) reason = m->header["reason"];
    }
  }
  EXPECT_NE(reason.find("this coordinator speaks protocol version " + std::to_string(proto::kVersion)),
            std::string::npos) << reason << "\n" << c->log();
  EXPECT_NE(reason.find("protocol version " + std::to_string(proto::kVersion - 1)), std::string::npos) << reason;
  EXPECT_NE(c->log().find("refused a worker of another build"), std::string::npos) << c->log();
  c->signal(SIGTERM);
  ASSERT_TRUE(c->wait(15));

  // A coordinator of another build, as a worker of this one meets it.
  if (!DEEPREDUCE_HAS_TORCH) GTEST_SKIP() << "the coordinator's half passed; the worker's half needs a worker, which "
                                            "needs LibTorch (-DDEEPREDUCE_WITH_TORCH=OFF)";
  zmq::socket_t router(ctx, zmq::socket_type::router);
  router.set(zmq::sockopt::linger, 0);
  router.bind(endpoint());
  auto w = worker("new");
  bool answered = false;
  for (int i = 0; i < 200 && w->running(); ++i) {
    zmq::pollitem_t items[] = {{static_cast<void*>(router), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 1, std::chrono::milliseconds(50));
    while (auto frames = proto::recv_frames(router)) {
      const std::string identity = frames->front();
      auto reply = as_version(proto::make(proto::Type::kWelcome, {{"heartbeat_ms", 1000}}), proto::kVersion + 1);
      proto::send_frames(router, reply, &identity);
      answered = true;
    }
  }
  ASSERT_TRUE(answered) << w->log();
  ASSERT_TRUE(w->wait(20)) << w->log();
  EXPECT_NE(w->exit_code(), 0);
  EXPECT_NE(w->log().find("the coordinator speaks another protocol"), std::string::npos) << w->log();
  EXPECT_NE(w->log().find("protocol version " + std::to_string(proto::kVersion + 1) + ", this build speaks " +
                          std::to_string(proto::kVersion)),
            std::string::npos)
      << w->log();
}

// Flips 4 bytes in the middle of trial `id`'s stored `kind` file.
bool damage_artifact(const fs::path& db, const std::string& id, const std::string& kind) {
  for (const auto& e : fs::directory_iterator(db / "artifacts")) {
    if (e.path().filename().string().rfind(id + "." + kind + ".", 0) != 0) continue;
    std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
    const auto size = fs::file_size(e.path());
    f.seekp(static_cast<std::streamoff>(size / 2));
    const char junk[4] = {'\x13', '\x37', '\x13', '\x37'};
    f.write(junk, 4);
    return static_cast<bool>(f);
  }
  return false;
}

// Issue 21 item 1: a damaged artifact is a state of the trial that made it,
// not a failure of the worker that fetched it. A teacher's damaged model is
// found when a student fetches it: the teacher is trained again, the student
// waits and then trains, no worker is quarantined, the run ends well. A
// finished trial's damaged model is found by `verify` and trained again after
// `repair`.
TEST_F(ChaosTest, ADamagedArtifactIsTrainedAgainAndBlamesNoWorker) {
  DEEPREDUCE_NEEDS_TORCH();
  const std::string head = "name: dmg\n"
                           "defaults: {dataset: synthetic, arch: resnet18, alpha: 0.125, blocks: [1, 1, 1, 1], epochs: 1,"
                           " train_subset: 128, test_subset: 64, batch: 64}\n"
                           "trials:\n  - name: t\n  - name: other\n    seed: 1\n";
  std::ofstream(dir_ / "dmg.yaml") << head;
  Process first({"run", path("dmg.yaml"), "--db", path("db"), "--threads", "1"}, path("first.log"));
  ASSERT_TRUE(first.wait(120)) << first.log();
  ASSERT_EQ(first.exit_code(), 0) << first.log();
  std::string teacher, other;
  for (const auto& t : *read("db")->list_trials()) (t.spec.name == "t" ? teacher : other) = t.id;
  ASSERT_TRUE(damage_artifact(path("db"), teacher, "model"));
  Process verify({"verify", "--db", path("db")}, path("verify.log"));
  ASSERT_TRUE(verify.wait(30));
  EXPECT_EQ(verify.exit_code(), 1) << verify.log();
  EXPECT_NE(verify.log().find(teacher.substr(0, 12) + "  model: "), std::string::npos) << verify.log();
  EXPECT_NE(verify.log().find("deepreduce repair --db"), std::string::npos) << verify.log();

  // A KD student of the damaged teacher joins the experiment.
  std::ofstream(dir_ / "dmg.yaml") << head << "  - name: s\n    teacher: t\n    cull: [stem]\n";
  Process second({"run", path("dmg.yaml"), "--db", path("db"), "--threads", "1"}, path("second.log"));
  ASSERT_TRUE(second.wait(180)) << second.log();
  EXPECT_EQ(second.exit_code(), 0) << second.log();
  EXPECT_NE(second.log().find("trial " + teacher.substr(0, 12) + " is damaged: its model failed verification; it "
                              "is trained again"),
            std::string::npos)
      << second.log();
  EXPECT_EQ(second.log().find("quarantined"), std::string::npos) << "no worker is blamed\n" << second.log();
  {
    auto s = read("db");
    for (const auto& t : *s->list_trials()) {
      EXPECT_EQ(t.state, storage::TrialState::kDone) << t.id << " " << (t.reasons.empty() ? "" : t.reasons.back());
      EXPECT_EQ(t.charged, t.id == teacher ? 1 : 0) << t.id;
    }
  }
  Process clean({"verify", "--db", path("db")}, path("clean.log"));
  ASSERT_TRUE(clean.wait(30));
  EXPECT_EQ(clean.exit_code(), 0) << clean.log();

  // A finished trial's model, found by verify, trained again after repair.
  ASSERT_TRUE(damage_artifact(path("db"), other, "model"));
  Process repair({"repair", "--db", path("db")}, path("repair.log"));
  ASSERT_TRUE(repair.wait(30));
  EXPECT_EQ(repair.exit_code(), 0) << repair.log();
  EXPECT_NE(repair.log().find(other.substr(0, 12) + ": model damaged"), std::string::npos) << repair.log();
  EXPECT_EQ(read("db")->get_trial(other)->state, storage::TrialState::kPending);
  Process third({"run", path("dmg.yaml"), "--db", path("db"), "--threads", "1"}, path("third.log"));
  ASSERT_TRUE(third.wait(120)) << third.log();
  EXPECT_EQ(third.exit_code(), 0) << third.log();
  Process again({"verify", "--db", path("db")}, path("again.log"));
  ASSERT_TRUE(again.wait(30));
  EXPECT_EQ(again.exit_code(), 0) << again.log();
  EXPECT_EQ(read("db")->get_trial(other)->state, storage::TrialState::kDone);
}

// Issue 31: the store's own log damaged the way a disk damages it (32 bytes
// flipped in its middle). Every command says so and exits 1 instead of showing
// a smaller experiment; repair brings every finished trial back from its
// result and model on disk; the next run trains nothing again.
TEST_F(ChaosTest, AFlippedStoreLogIsSaidRepairedAndNothingIsTrainedTwice) {
  DEEPREDUCE_NEEDS_TORCH();
  std::ofstream(dir_ / "wal.yaml")
      << "name: wal\n"
         "defaults: {dataset: synthetic, arch: resnet18, alpha: 0.125, blocks: [1, 1, 1, 1], epochs: 1,"
         " train_subset: 128, test_subset: 64, batch: 64}\n"
         "trials:\n  - name: base\n  - {name: s1, seed: 1}\n  - {name: s2, seed: 2}\n"
         "  - {name: kd, teacher: base, cull: [stem]}\n  - {name: c, cull: [stem, s1]}\n";
  Process first({"run", path("wal.yaml"), "--db", path("db"), "--threads", "1"}, path("first.log"));
  ASSERT_TRUE(first.wait(240)) << first.log();
  ASSERT_EQ(first.exit_code(), 0) << first.log();
  // The records are in the write-ahead log (a small store is never flushed to tables).
  fs::path log;
  for (const auto& e : fs::directory_iterator(path("db")))
    if (e.path().extension() == ".log" && (log.empty() || e.file_size() > fs::file_size(log))) log = e.path();
  ASSERT_FALSE(log.empty());
  {
    std::fstream f(log, std::ios::in | std::ios::out | std::ios::binary);
    const auto at = static_cast<std::streamoff>(fs::file_size(log) / 2);
    std::string bytes(32, '\0');
    f.seekg(at);
    f.read(bytes.data(), 32);
    for (auto& c : bytes) c = static_cast<char>(~c);
    f.seekp(at);
    f.write(bytes.data(), 32);
  }
  for (const std::vector<std::string>& cmd :
       {std::vector<std::string>{"status", "--db", path("db")}, {"verify", "--db", path("db")},
        {"report", "--db", path("db"), "--out", path("rep")}, {"run", path("wal.yaml"), "--db", path("db")}}) {
    Process p(cmd, path("said.log"));
    ASSERT_TRUE(p.wait(60)) << p.log();
    EXPECT_EQ(p.exit_code(), 1) << cmd[0] << ": " << p.log();
    EXPECT_NE(p.log().find("the store is damaged"), std::string::npos) << cmd[0] << ": " << p.log();
    EXPECT_NE(p.log().find("deepreduce repair --db " + path("db")), std::string::npos) << cmd[0] << ": " << p.log();
  }
  Process repair({"repair", "--db", path("db")}, path("repair.log"));
  ASSERT_TRUE(repair.wait(60)) << repair.log();
  ASSERT_EQ(repair.exit_code(), 0) << repair.log();
  EXPECT_NE(repair.log().find("records rebuilt by RocksDB's repair"), std::string::npos) << repair.log();
  EXPECT_NE(repair.log().find("brought back from their results on disk"), std::string::npos) << repair.log();
  Process second({"run", path("wal.yaml"), "--db", path("db"), "--threads", "1"}, path("second.log"));
  ASSERT_TRUE(second.wait(240)) << second.log();
  EXPECT_EQ(second.exit_code(), 0) << second.log();
  EXPECT_EQ(second.log().find("epoch 1/1"), std::string::npos) << "a finished trial was trained again\n"
                                                                << second.log();
  auto s = read("db");
  auto trials = s->list_trials();
  ASSERT_TRUE(trials.ok());
  EXPECT_EQ(trials->size(), 5u);
  for (const auto& t : *trials) EXPECT_EQ(t.state, storage::TrialState::kDone) << t.spec.name;
  s.reset();
  Process verify({"verify", "--db", path("db")}, path("verify.log"));
  ASSERT_TRUE(verify.wait(60));
  EXPECT_EQ(verify.exit_code(), 0) << verify.log();
}

// A pruning base's damaged model, found when the pruning trial fetches it:
// the base is trained again, the pruning waits for it, no worker is blamed.
TEST_F(ChaosTest, ADamagedPruningBaseIsTrainedAgainBeforeItIsPruned) {
  DEEPREDUCE_NEEDS_TORCH();
  const std::string head = "name: prune\n"
                           "dataset: {name: synthetic, train_subset: 128, test_subset: 64}\n"
                           "model: {arch: resnet18, alpha: 0.125, blocks: [1, 1, 1, 1]}\n"
                           "train: {epochs: 1, batch: 64, lr: 0.05}\n"
                           "search: {strategy: grid, kd: [false]}\n";
  std::ofstream(dir_ / "prune.yaml") << head;
  Process first({"run", path("prune.yaml"), "--db", path("db"), "--threads", "1"}, path("first.log"));
  ASSERT_TRUE(first.wait(120)) << first.log();
  ASSERT_EQ(first.exit_code(), 0) << first.log();
  auto trials = *read("db")->list_trials();
  ASSERT_EQ(trials.size(), 1u);
  const std::string base = trials[0].id;
  ASSERT_TRUE(damage_artifact(path("db"), base, "model"));
  std::ofstream(dir_ / "prune.yaml") << head << "channel_pruning: {criteria: [l1], macs: [0.5], epochs: 1, kd: [false]}\n";
  Process second({"run", path("prune.yaml"), "--db", path("db"), "--threads", "1"}, path("second.log"));
  ASSERT_TRUE(second.wait(180)) << second.log();
  EXPECT_EQ(second.exit_code(), 0) << second.log();
  EXPECT_NE(second.log().find("trial " + base.substr(0, 12) + " is damaged"), std::string::npos) << second.log();
  EXPECT_EQ(second.log().find("quarantined"), std::string::npos) << second.log();
  auto s = read("db");
  int pruned = 0;
  for (const auto& t : *s->list_trials()) {
    EXPECT_EQ(t.state, storage::TrialState::kDone) << t.id;
    pruned += t.spec.prune.has_value();
  }
  EXPECT_EQ(pruned, 1);
  EXPECT_EQ(s->get_trial(base)->charged, 1) << "the damaged copy counted as one of the base's attempts";
}

// Issue 21 item 5: two runs that create the same store at the same moment:
// one creates it; the other uses it or says another process holds it, never a
// bare "rename ... Directory not empty".
TEST_F(ChaosTest, TwoRunsCreatingOneStoreAtOnceSayWhatHappened) {
  DEEPREDUCE_NEEDS_TORCH();
  std::ofstream(dir_ / "noop.yaml") << "name: noop\ntrials:\n  - {kind: noop, dataset: synthetic}\n";
  for (int round = 0; round < 5; ++round) {
    const std::string db = path("race" + std::to_string(round));
    Process a({"run", path("noop.yaml"), "--db", db}, path("a" + std::to_string(round) + ".log"));
    Process b({"run", path("noop.yaml"), "--db", db}, path("b" + std::to_string(round) + ".log"));
    ASSERT_TRUE(a.wait(60) && b.wait(60));
    int ok = 0;
    for (Process* p : {&a, &b}) {
      EXPECT_EQ(p->log().find("rename"), std::string::npos) << p->log();
      if (p->exit_code() == 0) {
        ++ok;
      } else {
        EXPECT_TRUE(p->log().find("in use by another process") != std::string::npos ||
                    p->log().find("being created by another process") != std::string::npos)
            << p->log();
      }
    }
    EXPECT_GE(ok, 1) << a.log() << b.log();
    expect_all_done_once("race" + std::to_string(round), 1);
  }
}
// Issue 21 item 5: a late RESULT from a session the coordinator no longer
// knows (a frozen worker, lost and replaced) is refused with a receipt, so the
// worker drops it, and counted; it is never applied.
TEST_F(ChaosTest, ALateResultOfAnUnknownSessionIsRefusedAndCounted) {
  std::ofstream(dir_ / "noop.yaml") << "name: noop\ntrials:\n  - {kind: noop, dataset: synthetic}\n";
  auto c = coordinator(path("noop.yaml"), "db", {"--keep-serving"});
  zmq::context_t ctx;
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.connect(endpoint());
  const std::string trial(32, 'a');
  std::vector<std::string> got;
  for (int i = 0; i < 100 && got.size() < 2; ++i) {
    if (i % 20 == 0)
      proto::send_frames(s, proto::encode(proto::make(
                                proto::Type::kResult,
                                {{"trial", trial}, {"attempt", 1}, {"lease", proto::random_token()},
                                 {"result", {{"top1", 99.9}}}, {"model", {{"size", 0}, {"blake2b", proto::digest("")}}}})));
    zmq::pollitem_t items[] = {{static_cast<void*>(s), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 1, std::chrono::milliseconds(50));
    while (auto frames = proto::recv_frames(s)) {
      auto m = proto::decode(*frames);
      if (m.ok() && m->type == proto::Type::kReceipt) got.push_back("receipt " + m->header["status"].get<std::string>());
      if (m.ok() && m->type == proto::Type::kShutdown) got.push_back("rejoin");
    }
  }
  EXPECT_NE(std::find(got.begin(), got.end(), "receipt refused"), got.end()) << c->log();
  EXPECT_NE(std::find(got.begin(), got.end(), "rejoin"), got.end()) << c->log();
  EXPECT_NE(c->log().find("refused a RESULT about trial aaaaaaaaaaaa from a session this coordinator does not know"),
            std::string::npos)
      << c->log();
  c->signal(SIGTERM);
  ASSERT_TRUE(c->wait(15));
}

}  // namespace
}  // namespace deepreduce
