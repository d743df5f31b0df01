// A coordinator whose store cannot take a finished model (its disk is full
// where the artifacts go; the records still fit), with a real worker process:
// dispatch pauses and says so in the log, in `status --json` and the live
// page's /api/status; it resumes when space returns; and after
// store_give_up_ms without a stored result, run() ends with the store's
// message. The full disk comes through the store's filesystem seam
// (tests/storage/quota_env.h): no root needed.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>

#include "coordinator/coordinator.h"
#include "storage/export.h"
#include "tests/coordinator/processes.h"
#include "tests/storage/quota_env.h"
#include "tests/test_dirs.h"

namespace deepreduce::coordinator {
namespace {
namespace fs = std::filesystem;
using storage::TrialState;

class StoreFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!DEEPREDUCE_HAS_TORCH) GTEST_SKIP() << "this build has no LibTorch: no worker to train the trials";
    dir_ = deepreduce::testing::fresh_test_dir("storefull");
    port_ = 20000 + static_cast<int>(std::random_device{}() % 30000);
    storage::StoreOptions o;
    o.env = quota_.env();
    auto s = storage::open_store((dir_ / "db").string(), o);
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(*s);
  }
  void TearDown() override {
    if (coordinator_) coordinator_->request_stop();  // a test that failed early leaves it serving
    join();
    worker_.reset();
    store_.reset();
    if (!HasFailure()) fs::remove_all(dir_);
  }
  // `n` tiny trials that train for real (a second or two each).
  void add_trials(int n) {
    std::vector<spec::TrialSpec> trials(n);
    for (int i = 0; i < n; ++i) {
      auto& j = trials[i].job;
      j.data.train_subset = 128;
      j.data.test_subset = 64;
      j.model.alpha = 0.125;
      j.model.blocks = {1, 1, 1, 1};
      j.train.epochs = 1;
      j.train.batch_size = 64;
      j.train.lr = 0.05;
      j.train.seed = static_cast<uint64_t>(i);
    }
    ASSERT_TRUE(store_->put_experiment({"full", "name: full\n", "grid", 0, storage::kSchemaVersion, ""}).ok());
    ASSERT_TRUE(store_->add_trials("full", trials).ok());
  }
  // Serves the store on a thread; the worker process connects.
  void serve(int64_t give_up_ms) {
    CoordinatorOptions o;
    o.bind = "tcp://127.0.0.1:" + std::to_string(port_);
    o.store_give_up_ms = give_up_ms;
    o.log = [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.push_back(line);
    };
    coordinator_ = std::make_unique<Coordinator>(ctx_, *store_, o);
    thread_ = std::thread([this] { result_ = coordinator_->run(); });
    worker_ = std::make_unique<deepreduce::testing::Process>(
        std::vector<std::string>{"worker", "--connect", "tcp://127.0.0.1:" + std::to_string(port_), "--threads", "1",
                                 "--name", "w1", "--scratch", (dir_ / "scratch").string()},
        (dir_ / "worker.log").string());
  }
  void join() {
    if (thread_.joinable()) thread_.join();
  }
  bool said(const std::string& text) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& l : lines_)
      if (l.find(text) != std::string::npos) return true;
    return false;
  }
  bool wait_for(const std::string& text, int seconds) {
    for (int i = 0; i < seconds * 10; ++i) {
      if (said(text)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  int64_t count(TrialState state) { return static_cast<int64_t>(store_->list_trials(state)->size()); }
  std::string log() {
    std::lock_guard<std::mutex> lock(mu_);
    std::string all;
    for (const auto& l : lines_) all += l + "\n";
    return all + "--- worker:\n" + (worker_ ? worker_->log() : "");
  }

  deepreduce::testing::QuotaEnv quota_{"/artifacts/"};
  fs::path dir_;
  int port_ = 0;
  std::unique_ptr<storage::Store> store_;
  zmq::context_t ctx_;
  std::unique_ptr<Coordinator> coordinator_;
  std::thread thread_;
  Status result_;
  std::unique_ptr<deepreduce::testing::Process> worker_;
  std::mutex mu_;
  std::vector<std::string> lines_;
};

TEST_F(StoreFullTest, DispatchPausesSaysSoAndResumesWhenSpaceReturns) {
  add_trials(2);
  quota_.set_left(0);  // no model, no checkpoint fits; records do
  serve(/*give_up_ms=*/300000);
  ASSERT_TRUE(wait_for("dispatch is paused until the store takes results again", 120)) << log();
  // What status and the live page show, from the store.
  auto status = storage::status_json(*store_, "db");
  ASSERT_TRUE(status.ok()) << status.status().message();
  ASSERT_TRUE((*status)["paused"].is_object()) << status->dump();
  EXPECT_NE((*status)["paused"]["reason"].get<std::string>().find("the disk is full: storing the model of trial"),
            std::string::npos)
      << status->dump();
  // Paused: the finished trial keeps its lease, nothing new goes out.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(count(TrialState::kLeased), 1) << log();
  EXPECT_EQ(count(TrialState::kPending), 1) << log();
  EXPECT_EQ(count(TrialState::kDone), 0);
  // Space returns: the worker's next offer is stored, dispatch resumes, all finish.
  quota_.unlimited();
  join();
  EXPECT_TRUE(result_.ok()) << result_.message() << "\n" << log();
  EXPECT_TRUE(said("the store takes results again; dispatch resumes")) << log();
  EXPECT_EQ(count(TrialState::kDone), 2) << log();
  EXPECT_FALSE(storage::status_json(*store_, "db")->at("paused").is_object());
  ASSERT_TRUE(worker_->wait(30)) << log();
}

TEST_F(StoreFullTest, RunGivesUpWithTheStoresMessageAndLosesNothing) {
  add_trials(1);
  quota_.set_left(0);
  serve(/*give_up_ms=*/3000);
  join();
  ASSERT_FALSE(result_.ok()) << log();
  EXPECT_EQ(result_.code(), Status::Code::kIOError);
  EXPECT_NE(result_.message().find("the store has taken no result for"), std::string::npos) << result_.message();
  EXPECT_NE(result_.message().find("the disk is full: storing the model of trial"), std::string::npos)
      << result_.message();
  EXPECT_NE(result_.message().find("free space and run again"), std::string::npos) << result_.message();
  // Nothing was lost or charged: the trial is still the worker's to hand in, not failed.
  EXPECT_EQ(count(TrialState::kFailed), 0);
  EXPECT_EQ(count(TrialState::kDone), 0);
  EXPECT_EQ(store_->get_trial(store_->list_trials()->front().id)->charged, 0);
  // status no longer says paused: the coordinator is gone.
  EXPECT_FALSE(storage::status_json(*store_, "db")->at("paused").is_object());
}

}  // namespace
}  // namespace deepreduce::coordinator
