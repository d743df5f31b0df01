#include "cli/live_page.h"

#include "cli/commands.h"

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <optional>

#include "cli/http_get_server.h"
#include "protocol/protocol.h"
#include "report/report.h"
#include "storage/export.h"

namespace deepreduce::cli {

struct LivePage::Impl {
  // Set by attach() once the store is open: the page binds first, so a busy
  // port is refused before anything is created; until then it says so.
  std::atomic<storage::Store*> store{nullptr};
  LivePageOptions options;
  std::string host, token;
  // build_report reads the whole store: at most one build per few seconds.
  std::mutex mu;
  std::optional<report::Report> report;
  std::chrono::steady_clock::time_point built;
  // Last, so that it goes first: its threads use everything above.
  std::unique_ptr<HttpGetServer> server;

  explicit Impl(LivePageOptions o) : options(std::move(o)) {}

  Result<report::Report> current_report() {
    std::lock_guard<std::mutex> lock(mu);
    const auto now = std::chrono::steady_clock::now();
    if (!report || now - built > std::chrono::seconds(3)) {
      auto r = report::build_report(*store.load());
      if (!r.ok()) return r.status();
      report = std::move(*r);
      built = now;
    }
    return *report;
  }

  bool authorized(const HttpRequest& req) const {
    if (token.empty()) return true;
    std::string given;
    if (auto auth = req.headers.find("authorization"); auth != req.headers.end() && auth->second.rfind("Bearer ", 0) == 0)
      given = auth->second.substr(7);
    if (auto q = req.query.find("token"); given.empty() && q != req.query.end()) given = q->second;
    if (given.size() != token.size()) return false;
    unsigned char diff = 0;  // constant time: no early exit on the first wrong byte
    for (size_t i = 0; i < token.size(); ++i) diff |= static_cast<unsigned char>(given[i] ^ token[i]);
    return diff == 0;
  }

  static HttpResponse json(const Result<nlohmann::json>& j) {
    if (!j.ok()) return {500, "application/json", nlohmann::json{{"error", j.status().message()}}.dump(), {}};
    return {200, "application/json", j->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), {}};
  }

  HttpResponse serve(const HttpRequest& req) {
    if (!authorized(req)) {
      HttpResponse r = HttpResponse::text(401, "this live page needs its token: Authorization: Bearer TOKEN, or ?token=TOKEN");
      r.headers.push_back({"WWW-Authenticate", "Bearer"});
      return r;
    }
    storage::Store* s = store.load();
    if (!s) return HttpResponse::text(503, "the experiment's store is being opened; try again in a moment");
    storage::Store& store = *s;
    if (req.path == "/") {
      auto r = current_report();
      if (!r.ok()) return HttpResponse::text(500, "report: " + r.status().message());
      return {200, "text/html; charset=utf-8", report::report_html(*r, 10), {}};
    }
    if (req.path == "/api/status") return json(storage::status_json(store, options.db));
    if (req.path == "/api/trials") {
      auto rows = storage::trial_rows(store, report::method_of);
      return json(rows.ok() ? Result<nlohmann::json>(storage::rows_to_json(*rows)) : Result<nlohmann::json>(rows.status()));
    }
    if (req.path == "/api/front") {
      auto r = current_report();
      return json(r.ok() ? Result<nlohmann::json>(report::front_json(*r)) : Result<nlohmann::json>(r.status()));
    }
    return HttpResponse::text(404, "no such page: / /api/status /api/trials /api/front");
  }
};

Result<std::unique_ptr<LivePage>> LivePage::start(const LivePageOptions& options,
                                                  Log log) {
  std::unique_ptr<LivePage> page(new LivePage());
  page->impl_ = std::make_unique<Impl>(options);
  Impl& p = *page->impl_;
  const size_t colon = options.address.rfind(':');
  if (colon == std::string::npos)
    return Status::invalid_argument("--http " + options.address + ": expected HOST:PORT or :PORT, e.g. 127.0.0.1:8080");
  p.host = colon == 0 ? "127.0.0.1" : options.address.substr(0, colon);
  if (p.host.size() > 2 && p.host.front() == '[' && p.host.back() == ']') p.host = p.host.substr(1, p.host.size() - 2);
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
  const int wanted = std::stoi(port_text);
  auto server = HttpGetServer::start(p.host, wanted, [&p](const HttpRequest& req) { return p.serve(req); });
  if (!server.ok()) return Status::unavailable("--http " + options.address + ": " + server.status().message());
  p.server = std::move(*server);
  const int port = p.server->port();
  const std::string url = "http://" + (p.host.find(':') != std::string::npos ? "[" + p.host + "]" : p.host) + ":" +
                          std::to_string(port) + "/";
  if (log)
    log("live page: " + url + (p.token.empty() ? "" : "?token=" + p.token) +
        (p.token.empty() ? " (loopback: no token)" : "  (or Authorization: Bearer " + p.token + ")") +
        "; JSON at /api/status, /api/trials, /api/front");
  return page;
}

void LivePage::attach(storage::Store& store) { impl_->store.store(&store); }

LivePage::~LivePage() = default;  // Impl's server stops and joins its threads first

int LivePage::port() const { return impl_->server->port(); }
const std::string& LivePage::token() const { return impl_->token; }

}  // namespace deepreduce::cli
