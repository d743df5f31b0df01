// The live page's HTTP server against clients that misbehave: heads too large,
// too many headers, bodies, other methods, idle connections by the dozen.
#include "cli/http_get_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace deepreduce::cli {
namespace {

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  return fd;
}

// Sends `request` (stopping quietly where the server has closed) and reads the
// whole answer until the server closes the connection.
std::string exchange(int port, const std::string& request) {
  const int fd = connect_to(port);
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = ::send(fd, request.data() + sent, std::min<size_t>(request.size() - sent, 65536), MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string answer;
  char buf[4096];
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) break;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    answer.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return answer;
}

class HttpGetServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = HttpGetServer::start("127.0.0.1", 0, [this](const HttpRequest& r) {
      ++served_;
      return HttpResponse{200, "text/plain", r.method + " " + r.path + " token=" +
                                                 (r.query.count("token") ? r.query.at("token") : "") + " auth=" +
                                                 (r.headers.count("authorization") ? r.headers.at("authorization") : ""),
                          {}};
    });
    ASSERT_TRUE(s.ok()) << s.status().message();
    server_ = std::move(*s);
  }
  int port() const { return server_->port(); }
  std::unique_ptr<HttpGetServer> server_;
  std::atomic<int> served_{0};
};

TEST_F(HttpGetServerTest, AnswersGetAndHeadWithThePathQueryAndHeaders) {
  const std::string a = exchange(port(), "GET /api/x%20y?token=ab%2Bc&z HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer t\r\n\r\n");
  EXPECT_EQ(a.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << a;
  EXPECT_NE(a.find("Connection: close\r\n"), std::string::npos);
  EXPECT_NE(a.find("\r\n\r\nGET /api/x y token=ab+c auth=Bearer t"), std::string::npos) << a;
  const std::string h = exchange(port(), "HEAD / HTTP/1.0\n\n");  // bare LF lines too
  EXPECT_EQ(h.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << h;
  EXPECT_EQ(h.substr(h.find("\r\n\r\n") + 4), "") << "HEAD has no body";
}

TEST_F(HttpGetServerTest, RefusesWhatItWillNotReadAndStillServes) {
  // A body, announced or chunked: refused without reading it.
  EXPECT_EQ(exchange(port(), "POST / HTTP/1.1\r\nContent-Length: 4000000000\r\n\r\n" + std::string(1 << 20, 'x'))
                .rfind("HTTP/1.1 413 ", 0),
            0u);
  EXPECT_EQ(exchange(port(), "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").rfind("HTTP/1.1 413 ", 0), 0u);
  const std::string del = exchange(port(), "DELETE / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(del.rfind("HTTP/1.1 405 ", 0), 0u) << del;
  EXPECT_NE(del.find("Allow: GET, HEAD\r\n"), std::string::npos);
  EXPECT_EQ(exchange(port(), "garbage\r\n\r\n").rfind("HTTP/1.1 400 ", 0), 0u);
  EXPECT_EQ(exchange(port(), "GET http://elsewhere/ HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 400 ", 0), 0u);
  // Headers without end (64 MB of them) or too many: answered 431 once past the bound, never buffered.
  std::string flood = "GET / HTTP/1.1\r\n";
  while (flood.size() < (64u << 20)) flood += "X-A: " + std::string(100, 'b') + "\r\n";
  EXPECT_EQ(exchange(port(), flood).rfind("HTTP/1.1 431 ", 0), 0u);
  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i <= HttpGetServer::kMaxHeaders; ++i) many += "X-" + std::to_string(i) + ": 1\r\n";
  EXPECT_EQ(exchange(port(), many + "\r\n").rfind("HTTP/1.1 431 ", 0), 0u);
  EXPECT_EQ(served_.load(), 0);
  EXPECT_EQ(exchange(port(), "GET / HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 200 ", 0), 0u);
}

// Idle connections (a slowloris) take at most kMaxConnections places, each for
// at most kHeadSeconds; past that a client is told the server is busy, and
// once they time out it serves again.
TEST_F(HttpGetServerTest, IdleConnectionsAreBoundedAndTimeOut) {
  std::vector<int> idle;
  for (int i = 0; i < HttpGetServer::kMaxConnections; ++i) {
    idle.push_back(connect_to(port()));
    ::send(idle.back(), "GET / HT", 8, MSG_NOSIGNAL);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(exchange(port(), "GET / HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 503 ", 0), 0u);
  std::this_thread::sleep_for(std::chrono::seconds(HttpGetServer::kHeadSeconds + 1));
  EXPECT_EQ(exchange(port(), "GET / HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 200 ", 0), 0u);
  char buf[256];
  const ssize_t n = ::recv(idle[0], buf, sizeof buf - 1, 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)).rfind("HTTP/1.1 408 ", 0), 0u);
  for (int fd : idle) ::close(fd);
}

TEST(HttpGetServerStartTest, AnAddressItCannotListenOnIsAnError) {
  auto taken = HttpGetServer::start("127.0.0.1", 0, [](const HttpRequest&) { return HttpResponse{}; });
  ASSERT_TRUE(taken.ok());
  auto again = HttpGetServer::start("127.0.0.1", (*taken)->port(), [](const HttpRequest&) { return HttpResponse{}; });
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("cannot listen there (Address already in use)"), std::string::npos)
      << again.status().message();
  EXPECT_FALSE(HttpGetServer::start("no.such.host.invalid", 0, [](const HttpRequest&) { return HttpResponse{}; }).ok());
}

}  // namespace
}  // namespace deepreduce::cli
