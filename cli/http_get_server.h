// A small HTTP/1.1 server for GET requests, bounded against hostile clients:
// the request head (request line and headers) must arrive whole within
// kMaxHeadBytes and kHeadSeconds, with at most kMaxHeaders header lines; a
// body is refused unread; at most kMaxConnections are served at once; every
// response closes its connection. The live page serves through it.
//
// It exists because Debian 12's cpp-httplib (0.11) reads any number of header
// lines into memory before a handler can refuse the request: a client that
// streamed 500 MB of headers took a coordinator to 1.2 GB of memory.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace deepreduce::cli {

struct HttpRequest {
  std::string method;                         // GET or HEAD
  std::string path;                           // without the query, percent-decoded
  std::map<std::string, std::string> query;   // ?a=b&c=d, percent-decoded
  std::map<std::string, std::string> headers; // names in lower case
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers

  // A plain-text answer: `line` and a newline.
  static HttpResponse text(int status, const std::string& line) {
    HttpResponse r;
    r.status = status;
    r.body = line + "\n";
    return r;
  }
};

class HttpGetServer {
 public:
  static constexpr size_t kMaxHeadBytes = 16 * 1024;
  static constexpr int kMaxHeaders = 64;
  static constexpr int kHeadSeconds = 5;
  static constexpr int kSendSeconds = 10;
  static constexpr int kMaxConnections = 16;

  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  // Listens on host:port (port 0: a free one) and serves on threads of its own.
  static Result<std::unique_ptr<HttpGetServer>> start(const std::string& host, int port, Handler handler);
  ~HttpGetServer();  // stops listening, ends the connections in flight, joins
  int port() const;

  // What a head (everything before the blank line) asks for, or the status
  // to refuse it with (400, 405, 413, 431) and why. Exposed for tests.
  struct ParsedHead {
    int status = 0;  // 0: a request to serve
    std::string why;
    HttpRequest request;
  };
  static ParsedHead parse_head(const std::string& head);

 private:
  HttpGetServer() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace deepreduce::cli
