#include "cli/live_page.h"

#include "cli/commands.h"

#include <httplib.h>

#include <chrono>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>

#include "protocol/protocol.h"
#include "search/report.h"
#include "storage/export.h"
#include "storage/export.h"

namespace deepreduce::cli {

// The largest request body the live page reads (it has only GET routes).
constexpr size_t kMaxRequestBody = 4096;

struct LivePage::Impl {
  storage::Store& store;
  LivePageOptions options;
  std::string host, token;
  int port = 0;
  httplib::Server server;
  std::thread thread;
  // build_report reads the whole store: at most one build per few seconds.
  std::mutex mu;
  std::optional<search::Report> report;
  std::chrono::steady_clock::time_point built;

  Impl(storage::Store& s, LivePageOptions o) : store(s), options(std::move(o)) {}

  Result<search::Report> current_report() {
    std::lock_guard<std::mutex> lock(mu);
    const auto now = std::chrono::steady_clock::now();
    if (!report || now - built > std::chrono::seconds(3)) {
      auto r = search::build_report(store);
      if (!r.ok()) return r.status();
      report = std::move(*r);
      built = now;
    }
    return *report;
  }

  bool authorized(const httplib::Request& req) const {
    if (token.empty()) return true;
    std::string given;
    const std::string auth = req.get_header_value("Authorization");
    if (auth.rfind("Bearer ", 0) == 0) given = auth.substr(7);
    if (given.empty() && req.has_param("token")) given = req.get_param_value("token");
    if (given.size() != token.size()) return false;
    unsigned char diff = 0;  // constant time: no early exit on the first wrong byte
    for (size_t i = 0; i < token.size(); ++i) diff |= static_cast<unsigned char>(given[i] ^ token[i]);
    return diff == 0;
  }

  void json(httplib::Response& res, const Result<nlohmann::json>& j) {
    if (!j.ok()) {
      res.status = 500;
      res.set_content(nlohmann::json{{"error", j.status().message()}}.dump(), "application/json");
      return;
    }
    res.set_content(j->dump(), "application/json");
  }

  void routes() {
    // Every route is a GET: no request needs a body, and one must not make the coordinator buffer it
    // (a Content-Length of gigabytes would, by default).
    server.set_payload_max_length(kMaxRequestBody);
    server.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (authorized(req)) return httplib::Server::HandlerResponse::Unhandled;
      res.status = 401;
      res.set_header("WWW-Authenticate", "Bearer");
      res.set_content("this live page needs its token: Authorization: Bearer TOKEN, or ?token=TOKEN\n", "text/plain");
      return httplib::Server::HandlerResponse::Handled;
    });
    server.Get("/", [this](const httplib::Request&, httplib::Response& res) {
      auto r = current_report();
      if (!r.ok()) {
        res.status = 500;
        res.set_content("report: " + r.status().message() + "\n", "text/plain");
        return;
      }
      res.set_content(search::report_html(*r, 10), "text/html; charset=utf-8");
    });
    server.Get("/api/status", [this](const httplib::Request&, httplib::Response& res) {
      json(res, storage::status_json(store, options.db));
    });
    server.Get("/api/trials", [this](const httplib::Request&, httplib::Response& res) {
      auto rows = storage::trial_rows(store);
      json(res, rows.ok() ? Result<nlohmann::json>(storage::rows_to_json(*rows)) : Result<nlohmann::json>(rows.status()));
    });
    server.Get("/api/front", [this](const httplib::Request&, httplib::Response& res) {
      auto r = current_report();
      json(res, r.ok() ? Result<nlohmann::json>(search::front_json(*r)) : Result<nlohmann::json>(r.status()));
    });
  }
};

Result<std::unique_ptr<LivePage>> LivePage::start(storage::Store& store, const LivePageOptions& options,
                                                  std::function<void(const std::string&)> log) {
  std::unique_ptr<LivePage> page(new LivePage());
  page->impl_ = std::make_unique<Impl>(store, options);
  Impl& p = *page->impl_;
  const size_t colon = options.address.rfind(':');
  if (colon == std::string::npos)
    return Status::invalid_argument("--http " + options.address + ": expected HOST:PORT or :PORT, e.g. 127.0.0.1:8080");
  p.host = colon == 0 ? "127.0.0.1" : options.address.substr(0, colon);
  const std::string port_text = options.address.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port_text) > 65535)
    return Status::invalid_argument("--http " + options.address + ": the port must be a number from 0 to 65535");
  const bool loopback = p.host == "127.0.0.1" || p.host == "localhost" || p.host == "::1";
  if (!options.token_file.empty()) {
    std::ifstream in(options.token_file);
    if (!(in >> p.token) || p.token.size() < 16)
      return Status::invalid_argument(options.token_file + ": expected a token of at least 16 characters");
  } else if (!loopback) {
    p.token = protocol::random_token();
  }
  p.routes();
  const int wanted = std::stoi(port_text);
  if (wanted == 0) {
    p.port = p.server.bind_to_any_port(p.host);
  } else {
    p.port = p.server.bind_to_port(p.host, wanted) ? wanted : -1;
  }
  if (p.port <= 0) return Status::unavailable("--http " + options.address + ": cannot listen there (in use?)");
  p.thread = std::thread([&p] { p.server.listen_after_bind(); });
  const std::string url = "http://" + p.host + ":" + std::to_string(p.port) + "/";
  if (log)
    log("live page: " + url + (p.token.empty() ? "" : "?token=" + p.token) +
        (p.token.empty() ? " (loopback: no token)" : "  (or Authorization: Bearer " + p.token + ")") +
        "; JSON at /api/status, /api/trials, /api/front");
  return page;
}

LivePage::~LivePage() {
  if (!impl_) return;
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

int LivePage::port() const { return impl_->port; }
const std::string& LivePage::token() const { return impl_->token; }

}  // namespace deepreduce::cli
