#include "cli/http_get_server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <list>
#include <mutex>
#include <thread>

namespace deepreduce::cli {
namespace {

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t") - a + 1);
}

// %XX and '+' (in a query) decoded; a malformed escape is kept as it is.
std::string percent_decode(const std::string& s, bool plus_is_space) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += plus_is_space && s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

// Sends all of `data` (the socket has a send timeout); false when the peer is gone or too slow.
bool send_all(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

void respond(int fd, const HttpResponse& r, bool head_only) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + reason(r.status) + "\r\nContent-Type: " +
                    r.content_type + "\r\nContent-Length: " + std::to_string(r.body.size()) +
                    "\r\nCache-Control: no-store\r\nConnection: close\r\n";
  for (const auto& [k, v] : r.headers) out += k + ": " + v + "\r\n";
  out += "\r\n";
  if (!head_only) out += r.body;
  send_all(fd, out);
}

}  // namespace

HttpGetServer::ParsedHead HttpGetServer::parse_head(const std::string& head) {
  ParsedHead p;
  auto refuse = [&](int status, std::string why) {
    p.status = status;
    p.why = std::move(why);
    return p;
  };
  std::vector<std::string> lines;
  for (size_t at = 0; at <= head.size();) {
    size_t end = head.find('\n', at);
    if (end == std::string::npos) end = head.size();
    std::string line = head.substr(at, end - at);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
    at = end + 1;
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  if (lines.empty()) return refuse(400, "an empty request");
  if (static_cast<int>(lines.size()) - 1 > kMaxHeaders)
    return refuse(431, "more than " + std::to_string(kMaxHeaders) + " header lines");
  // METHOD SP TARGET SP HTTP/1.x
  const std::string& first = lines[0];
  const size_t s1 = first.find(' '), s2 = first.rfind(' ');
  if (s1 == std::string::npos || s2 == s1) return refuse(400, "not a request line");
  const std::string method = first.substr(0, s1), target = first.substr(s1 + 1, s2 - s1 - 1),
                    version = first.substr(s2 + 1);
  if (version.rfind("HTTP/1.", 0) != 0 || target.empty() || target[0] != '/')
    return refuse(400, "not an HTTP/1.x request for a path");
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == std::string::npos || colon == 0) return refuse(400, "a header line without a name");
    p.request.headers[lower(lines[i].substr(0, colon))] = trim(lines[i].substr(colon + 1));
  }
  // A body is never read: every route is a GET.
  const auto& h = p.request.headers;
  if (h.count("transfer-encoding") || (h.count("content-length") && h.at("content-length") != "0"))
    return refuse(413, "this server reads no request body");
  if (method != "GET" && method != "HEAD") return refuse(405, "only GET and HEAD");
  p.request.method = method;
  const size_t q = target.find('?');
  p.request.path = percent_decode(target.substr(0, q), false);
  if (q != std::string::npos) {
    const std::string query = target.substr(q + 1);
    for (size_t at = 0; at <= query.size();) {
      size_t end = query.find('&', at);
      if (end == std::string::npos) end = query.size();
      const std::string pair = query.substr(at, end - at);
      const size_t eq = pair.find('=');
      if (!pair.empty())
        p.request.query[percent_decode(pair.substr(0, eq), true)] =
            eq == std::string::npos ? "" : percent_decode(pair.substr(eq + 1), true);
      at = end + 1;
    }
  }
  return p;
}

struct HttpGetServer::Impl {
  Handler handler;
  int listen_fd = -1;
  int port = 0;
  std::atomic<bool> stop{false};
  std::thread acceptor;
  struct Connection {
    int fd;
    std::thread thread;
    std::atomic<bool> done{false};
  };
  std::mutex mu;
  std::list<Connection> connections;

  // Reads the head of a request: everything up to the blank line. "" and a
  // status when it is too large, too slow or never comes.
  std::string read_head(int fd, int& status) {
    std::string buf;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kHeadSeconds);
    char chunk[4096];
    while (!stop.load()) {
      for (const char* end : {"\r\n\r\n", "\n\n"})
        if (const size_t at = buf.find(end); at != std::string::npos) return buf.substr(0, at);
      if (buf.size() > kMaxHeadBytes) {
        status = 431;
        return "";
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        status = 408;
        return "";
      }
      pollfd p{fd, POLLIN, 0};
      const int ready = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 200)));
      if (ready < 0 && errno != EINTR) break;
      if (ready <= 0) continue;
      const ssize_t n = ::recv(fd, chunk, std::min(sizeof chunk, kMaxHeadBytes + 4 - buf.size()), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // the peer left
      buf.append(chunk, static_cast<size_t>(n));
    }
    status = 0;  // nothing to answer
    return "";
  }

  void serve(int fd) {
    int status = 0;
    const std::string head = read_head(fd, status);
    if (head.empty()) {
      if (status) respond(fd, HttpResponse::text(status, reason(status)), false);
      return;
    }
    ParsedHead parsed = parse_head(head);
    if (parsed.status) {
      HttpResponse r = HttpResponse::text(parsed.status, parsed.why);
      if (parsed.status == 405) r.headers.push_back({"Allow", "GET, HEAD"});
      respond(fd, r, false);
      return;
    }
    HttpResponse r;
    try {
      r = handler(parsed.request);
    } catch (const std::exception& e) {
      r = HttpResponse::text(500, std::string("error: ") + e.what());
    }
    respond(fd, r, parsed.request.method == "HEAD");
  }

  // Joins the connections that have ended.
  void reap() {
    std::lock_guard<std::mutex> lock(mu);
    for (auto it = connections.begin(); it != connections.end();) {
      if (it->done.load()) {
        it->thread.join();
        it = connections.erase(it);
      } else {
        ++it;
      }
    }
  }

  void accept_loop() {
    while (!stop.load()) {
      reap();
      pollfd p{listen_fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      const timeval send_timeout{kSendSeconds, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
      std::lock_guard<std::mutex> lock(mu);
      if (static_cast<int>(connections.size()) >= kMaxConnections) {
        const timeval brief{0, 200000};
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &brief, sizeof brief);
        respond(fd, HttpResponse::text(503, "busy: too many connections"), false);
        ::close(fd);
        continue;
      }
      Connection& c = connections.emplace_back();
      c.fd = fd;
      c.thread = std::thread([this, &c] {
        serve(c.fd);
        std::lock_guard<std::mutex> lock(mu);  // the destructor shuts down only fds still open
        ::shutdown(c.fd, SHUT_RDWR);
        ::close(c.fd);
        c.done = true;
      });
    }
  }
};

Result<std::unique_ptr<HttpGetServer>> HttpGetServer::start(const std::string& host, int port, Handler handler) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0)
    return Status::invalid_argument(host + ": " + ::gai_strerror(rc));
  std::unique_ptr<HttpGetServer> server(new HttpGetServer());
  server->impl_ = std::make_unique<Impl>();
  Impl& s = *server->impl_;
  s.handler = std::move(handler);
  std::string why = "no address";
  for (addrinfo* a = found; a && s.listen_fd < 0; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 64) == 0) {
      s.listen_fd = fd;
    } else {
      why = std::strerror(errno);
      ::close(fd);
    }
  }
  ::freeaddrinfo(found);
  if (s.listen_fd < 0) return Status::unavailable(host + ":" + service + ": cannot listen there (" + why + ")");
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(s.listen_fd, reinterpret_cast<sockaddr*>(&bound), &len);
  s.port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                             : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  s.acceptor = std::thread([&s] { s.accept_loop(); });
  return server;
}

HttpGetServer::~HttpGetServer() {
  if (!impl_) return;
  impl_->stop = true;
  if (impl_->acceptor.joinable()) impl_->acceptor.join();
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    for (auto& c : impl_->connections)
      if (!c.done.load()) ::shutdown(c.fd, SHUT_RDWR);  // a slow client's connection ends now
  }
  for (auto& c : impl_->connections) c.thread.join();
  ::close(impl_->listen_fd);
}

int HttpGetServer::port() const { return impl_->port; }

}  // namespace deepreduce::cli
