// The live page: an experiment's report as it stands, served over HTTP by a
// running coordinator or `run` (cli/http_get_server: GET only, bounded), with JSON beside it:
//   /             report.html, reloading itself every 10 s
//   /api/status   what `status --json` prints
//   /api/trials   one row per trial (what `export --format json` prints)
//   /api/front    the Pareto front and the latency front
// On loopback it is open; on any other address every request needs the token
// (Authorization: Bearer TOKEN, or ?token=TOKEN in a browser's address bar).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/log.h"
#include "common/status.h"
#include "storage/store.h"

namespace deepreduce::cli {

struct LivePageOptions {
  std::string address;     // HOST:PORT or :PORT (loopback); port 0 picks a free one
  std::string token_file;  // read the token from here; else one is made (off loopback)
  std::string db;          // the store's path, as shown
};

class LivePage {
 public:
  // Binds and serves on a thread of its own; logs where (and the token).
  // Bound before the store is created (a busy port leaves nothing behind),
  // it answers 503 until attach() names the store.
  static Result<std::unique_ptr<LivePage>> start(const LivePageOptions& options,
                                                 Log log);
  // The store the page shows (it must outlive the page).
  void attach(storage::Store& store);
  ~LivePage();
  int port() const;
  const std::string& token() const;

 private:
  LivePage() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace deepreduce::cli
