#include "coordinator/coordinator.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <future>

#include "protocol/transport.h"

namespace deepreduce::coordinator {
namespace proto = deepreduce::protocol;
using proto::Type;
using storage::TrialState;

namespace {

// The ZAP handler (RFC 27): libzmq asks it about every CURVE handshake; only
// the listed client keys get in. Without a handler libzmq would accept any
// client that knows the server's public key.
void zap_loop(zmq::context_t& ctx, std::vector<std::string> allowed_z85, std::atomic<bool>& stop,
              std::function<void(const std::string&)> log, std::promise<void>* bound) {
  std::set<std::string> allowed;
  for (const auto& k : allowed_z85) {
    uint8_t bin[32];
    if (zmq_z85_decode(bin, k.c_str())) allowed.insert(std::string(reinterpret_cast<char*>(bin), 32));
  }
  zmq::socket_t zap(ctx, zmq::socket_type::rep);
  zap.set(zmq::sockopt::rcvtimeo, 100);
  zap.bind("inproc://zeromq.zap.01");
  bound->set_value();
  while (!stop.load()) {
    std::vector<zmq::message_t> req;
    zmq::message_t part;
    if (!zap.recv(part, zmq::recv_flags::none)) continue;
    req.push_back(std::move(part));
    while (req.back().more()) {
      zmq::message_t next;
      (void)zap.recv(next, zmq::recv_flags::none);
      req.push_back(std::move(next));
    }
    auto str = [&](size_t i) { return i < req.size() ? req[i].to_string() : std::string(); };
    const bool ok = str(5) == "CURVE" && req.size() >= 7 && allowed.count(str(6));
    if (!ok && log) log("refused a connection from " + str(3) + " (" + (str(5) == "CURVE" ? "unknown key" : str(5)) + ")");
    const std::vector<std::string> reply = {"1.0", str(1), ok ? "200" : "400", ok ? "OK" : "not allowed",
                                            ok ? "worker" : "", ""};
    for (size_t i = 0; i < reply.size(); ++i)
      zap.send(zmq::buffer(reply[i]), i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
}

}  // namespace

Coordinator::Coordinator(zmq::context_t& context, storage::Store& store, CoordinatorOptions options)
    : context_(context), store_(store), options_(std::move(options)) {}

Coordinator::~Coordinator() {
  zap_stop_ = true;
  if (zap_thread_ && zap_thread_->joinable()) zap_thread_->join();
}

void Coordinator::log(const std::string& line) {
  if (options_.log) options_.log(line);
}

Status Coordinator::recover() {
  // Leased trials keep their lease for a grace period: their workers may come
  // back (HELLO lists what they hold) and finish them. Otherwise they expire.
  auto leased = store_.list_trials(TrialState::kLeased);
  if (!leased.ok()) return leased.status();
  const int64_t grace = storage::now_ms() + 2LL * options_.liveness * options_.heartbeat_ms;
  for (const auto& t : *leased) lease_deadline_[t.id] = grace;
  if (!leased->empty()) log("recovered " + std::to_string(leased->size()) + " leased trial(s); waiting for their workers");
  DR_RETURN_IF_ERROR(expand());
  auto unblocked = store_.unblock_ready();
  if (!unblocked.ok()) return unblocked.status();
  return store_.sync();
}

Status Coordinator::expand() {
  if (!options_.expand) return Status();
  auto added = options_.expand();
  if (!added.ok()) return added.status().with_context("search strategy");
  if (*added > 0) log("the strategy added " + std::to_string(*added) + " trial(s)");
  return Status();
}

Status Coordinator::run() {
  try {
    DR_RETURN_IF_ERROR(recover());
    router_.emplace(context_, zmq::socket_type::router);
    router_->set(zmq::sockopt::router_handover, 1);  // a reconnecting worker takes over its routing id
    router_->set(zmq::sockopt::router_mandatory, 1);
    router_->set(zmq::sockopt::linger, 500);
    router_->set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(proto::kMaxPayloadBytes + proto::kMaxHeaderBytes));
    if (options_.curve) {
      // The handler must be bound before the server socket: without one libzmq
      // lets every CURVE client in.
      std::promise<void> bound;
      auto ready = bound.get_future();
      zap_thread_.emplace(zap_loop, std::ref(context_), options_.curve->allowed_keys, std::ref(zap_stop_), options_.log,
                          &bound);
      ready.wait();
      router_->set(zmq::sockopt::curve_server, 1);
      router_->set(zmq::sockopt::curve_secretkey, options_.curve->secret_key);
      router_->set(zmq::sockopt::zap_domain, "deepreduce");
    }
    router_->bind(options_.bind);
  } catch (const zmq::error_t& e) {
    return Status::unavailable("cannot bind " + options_.bind + ": " + e.what());
  }
  log("coordinator listening on " + options_.bind);
  int64_t stop_seen_ms = 0;
  while (true) {
    const int64_t now = storage::now_ms();
    if (stop_.load() && !draining_) {
      draining_ = true;
      stop_seen_ms = now;
      log("stopping: no new trials; asking workers to hand back");
      for (auto& [id, w] : workers_) send(id, proto::make(Type::kShutdown, {{"reason", "coordinator stopping"}}));
    }
    zmq::pollitem_t items[] = {{static_cast<void*>(*router_), 0, ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 1, std::chrono::milliseconds(std::max(1, std::min(100, options_.heartbeat_ms / 4))));
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) throw;  // a signal (SIGINT/SIGTERM): the stop flag is checked next turn
    }
    for (int n = 0; n < 2000; ++n) {
      auto frames = proto::recv_frames(*router_);
      if (!frames) break;
      if (frames->size() < 2) {
        ++stats_.rejected_messages;
        continue;
      }
      const std::string identity = frames->front();
      frames->erase(frames->begin());
      handle(identity, *frames);
    }
    if (now - last_tick_ >= options_.heartbeat_ms) {
      tick(now);
      last_tick_ = now;
    }
    if (results_since_unblock_) {  // the strategy sees this iteration's results; dependents become ready
      if (Status st = expand(); !st.ok()) return st;
      store_.unblock_ready();
      results_since_unblock_ = false;
    }
    if (!draining_) dispatch();
    Status s = store_.sync();  // the durability point for everything this iteration did
    if (!s.ok()) return s;
    flush();
    if (draining_) {
      bool busy = false;
      for (auto& [id, w] : workers_) busy |= !w.running.empty();
      if (!busy || now - stop_seen_ms > options_.drain_ms) break;
    } else if (options_.exit_when_done && experiment_complete()) {
      log("every trial is finished");
      for (auto& [id, w] : workers_) send(id, proto::make(Type::kShutdown, {{"reason", "experiment complete"}}));
      flush();
      break;
    }
  }
  router_->close();
  return store_.sync();
}

bool Coordinator::experiment_complete() {
  for (auto state : {TrialState::kLeased, TrialState::kPending, TrialState::kBlocked}) {
    auto ids = store_.trial_ids(state, 1);
    if (!ids.ok() || !ids->empty()) return false;
  }
  return true;
}

void Coordinator::flush() {
  for (auto& o : outbox_) proto::send_frames(*router_, proto::encode(o.message), &o.identity);
  outbox_.clear();
}

bool Coordinator::holds(const WorkerSession& w, const std::string& trial, int64_t attempt) {
  auto r = store_.get_trial(trial);
  return r.ok() && r->state == TrialState::kLeased && r->worker == w.name && r->attempt == attempt;
}

void Coordinator::handle(const std::string& identity, const std::vector<std::string>& frames) {
  auto decoded = proto::decode(frames);
  if (!decoded.ok() || !proto::from_worker(decoded->type)) {
    ++stats_.rejected_messages;
    if (stats_.rejected_messages <= 20 || stats_.rejected_messages % 1000 == 0)
      log("rejected a message: " +
          (decoded.ok() ? std::string(proto::type_name(decoded->type)) + " is not a worker's message"
                        : decoded.status().message()));
    return;
  }
  const proto::Message& m = *decoded;
  if (m.type == Type::kHello) return on_hello(identity, m);
  auto it = workers_.find(identity);
  if (it == workers_.end()) {
    // Not introduced (or lost and back without HELLO): ask it to start over.
    if (m.type != Type::kBye)
      send(identity, proto::make(Type::kShutdown, {{"reason", "unknown worker; send HELLO"}, {"rejoin", true}}));
    return;
  }
  WorkerSession& w = it->second;
  w.last_seen_ms = storage::now_ms();
  for (const auto& t : w.running) lease_deadline_[t] = w.last_seen_ms + int64_t{options_.liveness} * options_.heartbeat_ms;
  switch (m.type) {
    case Type::kReady:
      w.free_slots = static_cast<int>(std::min<int64_t>(m.header["slots"].get<int64_t>(), 64));
      break;
    case Type::kHeartbeat:
      break;
    case Type::kProgress: {
      const std::string trial = m.header["trial"];
      if (w.running.count(trial)) store_.record_progress(trial, w.name, m.header["epoch"]);
      break;
    }
    case Type::kUpload:
      on_upload(w, m);
      break;
    case Type::kResult:
      on_result(identity, w, m);
      break;
    case Type::kFailed:
      on_failed(w, m);
      break;
    case Type::kFetch:
      on_fetch(identity, m);
      break;
    case Type::kBye:
      lose_worker(identity, "worker " + w.name + " left");
      break;
    default:
      break;
  }
}

void Coordinator::on_hello(const std::string& identity, const proto::Message& m) {
  WorkerSession w;
  w.name = m.header["worker"].get<std::string>();
  w.capacity = static_cast<int>(std::clamp<int64_t>(m.header["slots"].get<int64_t>(), 1, 64));
  w.last_seen_ms = storage::now_ms();
  // A worker that comes back with trials in hand keeps those it still holds.
  for (const auto& r : m.header["running"]) {
    if (!r.is_object() || !r.contains("trial") || !r["trial"].is_string() || !r.contains("attempt") ||
        !r["attempt"].is_number_integer())
      continue;
    const std::string trial = r["trial"];
    if (holds(w, trial, r["attempt"].get<int64_t>())) {
      w.running.insert(trial);
      lease_deadline_[trial] = w.last_seen_ms + int64_t{options_.liveness} * options_.heartbeat_ms;
      log("worker " + w.name + " reclaimed trial " + trial.substr(0, 12));
    } else {
      send(identity, proto::make(Type::kCancel, {{"trial", trial}}));
    }
  }
  if (workers_.count(identity)) workers_.erase(identity);
  workers_[identity] = std::move(w);
  ++stats_.workers_joined;
  store_.append_event({0, 0, "worker_joined", "", workers_[identity].name,
                       {{"host", m.header["host"]}, {"devices", m.header["devices"]}, {"slots", m.header["slots"]}}});
  log("worker " + workers_[identity].name + " joined (" + m.header["host"].get<std::string>() + ", " +
      m.header["devices"].dump() + ")");
  send(identity, proto::make(Type::kWelcome, {{"heartbeat_ms", options_.heartbeat_ms}}));
  if (draining_) send(identity, proto::make(Type::kShutdown, {{"reason", "coordinator stopping"}}));
}

void Coordinator::on_upload(WorkerSession& w, const proto::Message& m) {
  const std::string trial = m.header["trial"], kind = m.header["kind"];
  const int64_t attempt = m.header["attempt"], chunk = m.header["chunk"], chunks = m.header["chunks"];
  if ((kind != "model" && kind != "checkpoint") || !w.running.count(trial)) return;
  auto& parts = w.uploads[{trial, kind}];
  if (chunk == 0) parts.clear();
  if (static_cast<int64_t>(parts.size()) != chunk) {  // out of order: drop the upload
    parts.clear();
    return;
  }
  parts.push_back(m.payload);
  if (static_cast<int64_t>(parts.size()) < chunks || kind != "checkpoint") return;
  std::string bytes;
  for (auto& p : parts) bytes += p;
  parts.clear();
  w.uploads.erase({trial, kind});
  if (!holds(w, trial, attempt)) return;
  Status s = store_.put_artifact(trial, "checkpoint", bytes);
  if (!s.ok()) log("cannot store the checkpoint of " + trial + ": " + s.message());
}

void Coordinator::on_result(const std::string& identity, WorkerSession& w, const proto::Message& m) {
  const std::string trial = m.header["trial"];
  const int64_t attempt = m.header["attempt"];
  std::optional<std::string> weights;
  if (auto it = w.uploads.find({trial, "model"}); it != w.uploads.end()) {
    std::string bytes;
    for (auto& p : it->second) bytes += p;
    weights = std::move(bytes);
    w.uploads.erase(it);
  }
  nlohmann::json result = m.header["result"];
  result["worker"] = w.name;
  result["attempt"] = attempt;
  Status s = store_.complete(trial, w.name, attempt, result, weights);
  w.running.erase(trial);
  lease_deadline_.erase(trial);
  if (s.ok()) {
    ++stats_.results;
    results_since_unblock_ = true;
    if (options_.log) {
      std::string top1 = result.contains("top1") ? result["top1"].dump() : "-";
      // Progress of the whole experiment, as far as it is known yet (adaptive
      // strategies add trials as phases open).
      std::string progress;
      if (auto counts = store_.count_by_state(); counts.ok()) {
        int64_t total = 0, done = 0;
        for (const auto& [state, n] : *counts) {
          total += n;
          if (state == TrialState::kDone) done += n;
        }
        progress = "; " + std::to_string(done) + "/" + std::to_string(total) + " trials done";
      }
      log("trial " + trial.substr(0, 12) + " done on " + w.name + " (top-1 " + top1 + ")" + progress);
    }
  } else {
    ++stats_.duplicates;
    log("result of " + trial.substr(0, 12) + " from " + w.name + " ignored: " + s.message());
  }
}

void Coordinator::on_failed(WorkerSession& w, const proto::Message& m) {
  const std::string trial = m.header["trial"], reason = m.header["reason"];
  const int64_t attempt = m.header["attempt"];
  w.running.erase(trial);
  lease_deadline_.erase(trial);
  if (!holds(w, trial, attempt)) return;
  ++stats_.failures;
  results_since_unblock_ = true;  // a failure can close a phase of the strategy too
  if (m.header["retryable"].get<bool>()) {
    auto r = store_.release(trial, reason, options_.max_attempts);
    log("trial " + trial.substr(0, 12) + " failed on " + w.name + " (" + reason + ")" +
        (r.ok() && r->state == TrialState::kFailed ? ": no attempts left" : ": will retry"));
  } else {
    store_.fail(trial, "attempt " + std::to_string(attempt) + " on " + w.name + ": " + reason);
    store_.unblock_ready();  // its dependents fail too
    log("trial " + trial.substr(0, 12) + " failed on " + w.name + ": " + reason);
  }
}

void Coordinator::on_fetch(const std::string& identity, const proto::Message& m) {
  const std::string trial = m.header["trial"], kind = m.header["kind"];
  auto artifact = store_.get_artifact(trial, kind);
  if (!artifact.ok() || !artifact->has_value()) {
    if (!artifact.ok()) log("artifact " + kind + " of " + trial + ": " + artifact.status().message());
    send(identity, proto::make(Type::kArtifact, {{"trial", trial}, {"kind", kind}, {"chunk", 0}, {"chunks", 1},
                                                 {"size", 0}, {"found", false}}));
    return;
  }
  const auto parts = proto::chunk(**artifact);
  for (size_t i = 0; i < parts.size(); ++i)
    send(identity, proto::make(Type::kArtifact,
                               {{"trial", trial}, {"kind", kind}, {"chunk", i}, {"chunks", parts.size()},
                                {"size", (*artifact)->size()}, {"found", true}},
                               parts[i]));
}

void Coordinator::lose_worker(const std::string& identity, const std::string& reason) {
  auto it = workers_.find(identity);
  if (it == workers_.end()) return;
  for (const auto& trial : it->second.running) {
    auto r = store_.get_trial(trial);
    if (!r.ok() || r->state != TrialState::kLeased || r->worker != it->second.name) continue;
    // Handing back on a stop is not the trial's fault: it keeps an extra attempt.
    store_.release(trial, reason, options_.max_attempts + (draining_ ? 1 : 0));
    lease_deadline_.erase(trial);
    results_since_unblock_ = true;
    ++stats_.released;
  }
  ++stats_.workers_lost;
  store_.append_event({0, 0, "worker_lost", "", it->second.name, {{"reason", reason}}});
  log(reason);
  workers_.erase(it);
}

void Coordinator::tick(int64_t now) {
  std::vector<std::string> lost;
  for (auto& [id, w] : workers_) {
    if (now - w.last_seen_ms > int64_t{options_.liveness} * options_.heartbeat_ms) {
      lost.push_back(id);
    } else {
      send(id, proto::make(Type::kHeartbeat));
    }
  }
  for (const auto& id : lost)
    lose_worker(id, "worker " + workers_[id].name + " lost: no heartbeat for " +
                        std::to_string(options_.liveness * options_.heartbeat_ms / 1000.0).substr(0, 4) + " s");
  // Leases whose worker never came back (after a coordinator restart).
  std::vector<std::string> expired;
  for (const auto& [trial, deadline] : lease_deadline_) {
    bool held = false;
    for (const auto& [id, w] : workers_) held |= w.running.count(trial) > 0;
    if (!held && deadline < now) expired.push_back(trial);
  }
  for (const auto& trial : expired) {
    lease_deadline_.erase(trial);
    auto r = store_.get_trial(trial);
    if (r.ok() && r->state == TrialState::kLeased) {
      store_.release(trial, "lease expired: worker " + r->worker + " did not come back", options_.max_attempts);
      ++stats_.released;
      results_since_unblock_ = true;
    }
  }
}

void Coordinator::dispatch() {
  // READY counts can cross an ASSIGN in flight; the announced capacity cannot.
  auto room = [](const WorkerSession& w) {
    return std::min(w.free_slots, w.capacity - static_cast<int>(w.running.size()));
  };
  int free = 0;
  for (auto& [id, w] : workers_) free += std::max(0, room(w));
  if (free == 0) return;
  auto pending = store_.trial_ids(TrialState::kPending, static_cast<size_t>(free));
  if (!pending.ok() || pending->empty()) return;
  size_t next = 0;
  for (auto& [id, w] : workers_) {
    while (room(w) > 0 && next < pending->size()) {
      const std::string& trial = (*pending)[next++];
      const int64_t deadline = storage::now_ms() + int64_t{options_.liveness} * options_.heartbeat_ms;
      auto leased = store_.lease(trial, w.name, deadline);
      if (!leased.ok()) continue;
      const storage::TrialRecord& t = *leased;
      // Only an earlier attempt can have left a checkpoint.
      bool has_checkpoint = false;
      if (t.attempt > 1) {
        auto checkpoint = store_.get_artifact(t.id, "checkpoint");
        has_checkpoint = checkpoint.ok() && checkpoint->has_value();
      }
      w.free_slots -= 1;
      w.running.insert(t.id);
      lease_deadline_[t.id] = deadline;
      ++stats_.assigned;
      send(id, proto::make(Type::kAssign, {{"trial", t.id},
                                           {"attempt", leased->attempt},
                                           {"spec", storage::to_json(t.spec)},
                                           {"checkpoint", has_checkpoint}}));
    }
  }
}

}  // namespace deepreduce::coordinator
