// The fixture of the fault tests: real coordinator and worker processes on a
// random loopback port, tiny synthetic experiments, and read-only looks at
// their store.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "storage/store.h"
#include "tests/coordinator/processes.h"
#include "tests/test_dirs.h"

namespace deepreduce::testing {
namespace fs = std::filesystem;

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = deepreduce::testing::fresh_test_dir("fault");
    std::mt19937 rng(std::random_device{}());
    port_ = 20000 + static_cast<int>(rng() % 30000);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }

  // `n` independent tiny trials plus, when `kd`, a KD student of the first.
  std::string config(int n, int epochs, bool kd = false, const std::string& name = "fault") {
    std::ofstream out(dir_ / (name + ".yaml"));
    out << "name: " << name << "\n"
           "defaults: {dataset: synthetic, arch: resnet18, alpha: 0.125, blocks: [1, 1, 1, 1], epochs: "
        << epochs << ", train_subset: 384, test_subset: 100, batch: 32, lr: 0.05}\ntrials:\n";
    for (int i = 0; i < n; ++i) out << "  - name: t" << i << "\n    seed: " << i << "\n";
    if (kd) out << "  - name: student\n    cull: [stem]\n    teacher: t0\n";
    return (dir_ / (name + ".yaml")).string();
  }
  std::string endpoint() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  std::unique_ptr<Process> coordinator(const std::string& cfg, const std::string& db,
                                       std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"coordinator", cfg, "--db", path(db), "--bind", endpoint()};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<Process>(args, path("coordinator.log"));
  }
  std::unique_ptr<Process> worker(const std::string& name, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"worker", "--connect", endpoint(), "--threads", "1", "--name", name,
                                     "--scratch", path("scratch-" + name)};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<Process>(args, path("worker-" + name + ".log"));
  }

  // For polling: nullptr while the store does not exist yet.
  std::unique_ptr<storage::Store> peek(const std::string& db) {
    storage::StoreOptions o;
    o.read_only = true;
    auto s = storage::open_store(path(db), o);
    return s.ok() ? std::move(*s) : nullptr;
  }

  // Polls until some trial is leased (a worker is training); false after 15 s.
  bool wait_until_leased(const std::string& db) {
    for (int i = 0; i < 300; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (auto s = peek(db); s && !s->list_trials(storage::TrialState::kLeased)->empty()) return true;
    }
    return false;
  }

  std::unique_ptr<storage::Store> read(const std::string& db) {
    storage::StoreOptions o;
    o.read_only = true;
    auto s = storage::open_store(path(db), o);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(*s) : nullptr;
  }

  // trial -> number of "done" events; every trial must be done exactly once.
  std::map<std::string, int> done_events(storage::Store& s) {
    std::map<std::string, int> n;
    for (const auto& e : *s.events(0, 1000000))
      if (e.type == "done") ++n[e.trial];
    return n;
  }

  // Every trial's result equals the uninterrupted reference run's, and came from a real worker.
  void expect_same_results(const std::string& db, const std::string& reference) {
    auto s = read(db);
    auto ref = read(reference);
    ASSERT_TRUE(s && ref);
    for (const auto& t : *s->list_trials()) {
      auto mine = s->get_result(t.id);
      auto theirs = ref->get_result(t.id);
      ASSERT_TRUE(mine.ok() && mine->has_value() && theirs.ok() && theirs->has_value()) << t.id;
      EXPECT_EQ((**mine)["top1"], (**theirs)["top1"]) << t.id;
      EXPECT_EQ((**mine)["loss"], (**theirs)["loss"]) << t.id;
      auto model = s->get_artifact(t.id, deepreduce::spec::ArtifactKind::kModel);
      EXPECT_TRUE(model.ok() && model->has_value()) << "trial " << t.id << " is done without its model";
    }
  }

  // Trials whose record says they were charged for something (failed or lost attempts).
  int charged_trials(const std::string& db) {
    auto s = read(db);
    int n = 0;
    for (const auto& t : *s->list_trials()) n += t.charged > 0 || t.state == storage::TrialState::kFailed;
    return n;
  }

  void expect_all_done_once(const std::string& db, size_t trials) {
    auto s = read(db);
    ASSERT_TRUE(s);
    auto all = *s->list_trials();
    ASSERT_EQ(all.size(), trials);
    auto done = done_events(*s);
    for (const auto& t : all) {
      EXPECT_EQ(t.state, storage::TrialState::kDone) << t.id << " " << (t.reasons.empty() ? "" : t.reasons.back());
      EXPECT_EQ(done[t.id], 1) << t.id;
    }
  }

  // The coordinator finishes its experiment (every trial done once) and the worker exits cleanly after it.
  void expect_both_finish(Process& coordinator, Process& worker, const std::string& db, size_t trials) {
    ASSERT_TRUE(coordinator.wait(120)) << coordinator.log();
    EXPECT_EQ(coordinator.exit_code(), 0) << coordinator.log();
    expect_all_done_once(db, trials);
    ASSERT_TRUE(worker.wait(30)) << worker.log();
    EXPECT_EQ(worker.exit_code(), 0) << worker.log();
  }

  fs::path dir_;
  int port_ = 0;
};

}  // namespace deepreduce::testing
