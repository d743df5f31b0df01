// The live page over real HTTP: a coordinator serving an experiment answers
// /, /api/status, /api/trials and /api/front while it runs; off loopback only
// with its token.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <thread>

#include "tests/needs_torch.h"
#include "tests/coordinator/processes.h"
#include "tests/test_dirs.h"

namespace {
namespace fs = std::filesystem;
using deepreduce::testing::Process;

class LivePageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = deepreduce::testing::fresh_test_dir("livepage");
    std::mt19937 rng(std::random_device{}());
    port_ = 20000 + static_cast<int>(rng() % 20000);
    std::ofstream(dir_ / "exp.yaml") << "name: live\n"
                                        "defaults: {dataset: synthetic, arch: resnet18, alpha: 0.125, blocks: [1, 1, 1, 1],"
                                        " epochs: 3, train_subset: 128, test_subset: 64, batch: 32}\n"
                                        "trials:\n  - name: a\n  - name: b\n    seed: 1\n";
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
  // Waits until GET path answers something other than a refused connection
  // or the 503 of a page whose store is still being opened.
  // Waits for what it needs (a loaded machine opens a store slowly), never for luck: up to a minute.
  httplib::Result get(httplib::Client& c, const std::string& path, const httplib::Headers& h = {}) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < until) {
      auto r = c.Get(path.c_str(), h);
      if (r && r->status != 503) return r;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return c.Get(path.c_str(), h);
  }
  fs::path dir_;
  int port_ = 0;
};

TEST_F(LivePageTest, ACoordinatorServesTheReportAndJsonWhileItRuns) {
  DEEPREDUCE_NEEDS_TORCH();
  Process coord({"coordinator", (dir_ / "exp.yaml").string(), "--db", (dir_ / "db").string(), "--bind",
                 "tcp://127.0.0.1:" + std::to_string(port_), "--http", "127.0.0.1:" + std::to_string(port_ + 1),
                 "--keep-serving"},
                (dir_ / "coordinator.log").string());
  Process worker({"worker", "--connect", "tcp://127.0.0.1:" + std::to_string(port_), "--threads", "1", "--scratch",
                  (dir_ / "scratch").string()},
                 (dir_ / "worker.log").string());
  httplib::Client c("127.0.0.1", port_ + 1);
  auto page = get(c, "/");
  ASSERT_TRUE(page) << coord.log();
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("<noscript><meta http-equiv='refresh'"), std::string::npos);
  EXPECT_NE(page->body.find("deepreduce: live"), std::string::npos);
  EXPECT_NE(page->body.find("<section id='now'>"), std::string::npos) << "the page follows the run";
  // Both trials end done; the JSON says so as it happens, with the running
  // trial's epoch, its top-1 so far and the time left.
  nlohmann::json status, running;
  for (int i = 0; i < 600; ++i) {
    auto r = c.Get("/api/status");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
    status = nlohmann::json::parse(r->body);
    for (const auto& t : status["running"])
      if (t["progress"].is_object() && t["progress"].contains("top1") && !status["eta_seconds"].is_null())
        running = status;
    if (status["states"]["done"] == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_FALSE(running.is_null()) << "a running trial with progress and a time left was seen\n" << status.dump();
  const auto& t = running["running"][0];
  EXPECT_TRUE(t["progress"]["epoch"].is_number()) << t.dump();
  EXPECT_TRUE(t["name"] == "a" || t["name"] == "b") << "a trial list's names: " << t.dump();
  EXPECT_GT(running["epochs_left"].get<int64_t>(), 0) << running.dump();
  EXPECT_GE(running["eta_seconds"].get<double>(), 0.0) << running.dump();
  EXPECT_EQ(status["states"]["done"], 2) << status.dump();
  EXPECT_EQ(status["experiments"][0]["name"], "live");
  auto trials = c.Get("/api/trials");
  ASSERT_TRUE(trials && trials->status == 200);
  EXPECT_EQ(nlohmann::json::parse(trials->body).size(), 2u);
  std::this_thread::sleep_for(std::chrono::seconds(4));  // past the report cache
  auto front = c.Get("/api/front");
  ASSERT_TRUE(front && front->status == 200);
  auto f = nlohmann::json::parse(front->body);
  EXPECT_GE(f["front"].size(), 1u) << front->body;
  EXPECT_EQ(f["protocol"], "delphi");
  EXPECT_NE(coord.log().find("epoch 3/3"), std::string::npos) << "run logs each epoch";
  // A real browser runs the page's script: the Now section is filled from /api/status.
  if (fs::exists("/usr/bin/chromium")) {
    const std::string dom = (dir_ / "dom.html").string();
    const std::string cmd = "timeout 60 /usr/bin/chromium --headless --no-sandbox --disable-gpu "
                            "--virtual-time-budget=5000 --dump-dom http://127.0.0.1:" + std::to_string(port_ + 1) +
                            "/ > " + dom + " 2>/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    std::ifstream in(dom);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("2 trials: 2 done; time left for the trials known now: 0 s"), std::string::npos) << text;
  } else {
    std::printf("live page: its script was not run in a browser (no /usr/bin/chromium; scripts/install-deps.sh "
                "installs it)\n");
  }
  // A request body is refused, not buffered: the page has GET routes only, and a client that
  // announces gigabytes must not make the coordinator hold them.
  auto big = c.Post("/api/status", std::string(64 * 1024, 'x'), "text/plain");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(c.Get("/api/status")->status, 200);
  EXPECT_TRUE(coord.running());
}

// A busy port is refused before anything is created: no store is left behind.
TEST_F(LivePageTest, ABusyPortLeavesNoStoreBehind) {
  DEEPREDUCE_NEEDS_TORCH();
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port_ + 1));
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  Process run({"run", (dir_ / "exp.yaml").string(), "--db", (dir_ / "db").string(), "--http",
               "127.0.0.1:" + std::to_string(port_ + 1)},
              (dir_ / "run.log").string());
  ASSERT_TRUE(run.wait(60)) << run.log();
  ::close(fd);
  EXPECT_EQ(run.exit_code(), 2) << run.log();
  EXPECT_NE(run.log().find("--http 127.0.0.1:" + std::to_string(port_ + 1)), std::string::npos) << run.log();
  EXPECT_NE(run.log().find("nothing was created"), std::string::npos) << run.log();
  EXPECT_FALSE(fs::exists(dir_ / "db")) << run.log();
}

TEST_F(LivePageTest, OffLoopbackEveryRequestNeedsTheToken) {
  std::ofstream(dir_ / "token") << "0123456789abcdef0123456789abcdef\n";
  Process coord({"coordinator", (dir_ / "exp.yaml").string(), "--db", (dir_ / "db").string(), "--bind",
                 "tcp://127.0.0.1:" + std::to_string(port_), "--http", "0.0.0.0:" + std::to_string(port_ + 1),
                 "--http-token-file", (dir_ / "token").string(), "--keep-serving"},
                (dir_ / "coordinator.log").string());
  httplib::Client c("127.0.0.1", port_ + 1);
  auto refused = get(c, "/api/status");
  ASSERT_TRUE(refused) << coord.log();
  EXPECT_EQ(refused->status, 401);
  // The token is checked before anything else; with it, the page answers once its store is open.
  EXPECT_EQ(get(c, "/api/status", {{"Authorization", "Bearer wrong"}})->status, 401);
  EXPECT_EQ(get(c, "/api/status", {{"Authorization", "Bearer 0123456789abcdef0123456789abcdef"}})->status, 200);
  EXPECT_EQ(get(c, "/?token=0123456789abcdef0123456789abcdef")->status, 200);
}

// An IPv6 address in brackets, as in a URL; the page says where it is in the same form.
TEST_F(LivePageTest, ServesOnAnIpv6LoopbackInBrackets) {
  Process coord({"coordinator", (dir_ / "exp.yaml").string(), "--db", (dir_ / "db").string(), "--bind",
                 "tcp://127.0.0.1:" + std::to_string(port_), "--http", "[::1]:" + std::to_string(port_ + 1),
                 "--keep-serving"},
                (dir_ / "coordinator.log").string());
  httplib::Client c("::1", port_ + 1);
  auto r = get(c, "/api/status");
  if (!r && coord.log().find("cannot listen") != std::string::npos) GTEST_SKIP() << "no IPv6 loopback here";
  ASSERT_TRUE(r) << coord.log();
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(coord.log().find("live page: http://[::1]:" + std::to_string(port_ + 1) + "/ (loopback: no token)"),
            std::string::npos)
      << coord.log();
}

}  // namespace
