#include "coordinator/coordinator.h"

#include "protocol/messages.h"
#include "storage/export.h"
#include "spec/result.h"

#include "common/format.h"
#include "common/utf8.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <future>

#include "spec/relu_plan.h"
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
              Log log, std::promise<void>* bound) {
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
    if (!ok && log) log(LogLevel::kWarn, "refused a connection from " + str(3) + " (" + (str(5) == "CURVE" ? "unknown key" : str(5)) + ")");
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

void Coordinator::log(const std::string& line) { options_.log(line); }
void Coordinator::log(LogLevel level, const std::string& line) { options_.log(level, line); }

void Coordinator::unpause(const std::string& why) {
  for (const auto& e : paused_experiments_) (void)store_.put_decisions(e, {storage::dispatch_decision(false, why)});
  paused_experiments_.clear();
}

Status Coordinator::recover() {
  // Leased trials keep their lease for a grace period: their workers may come
  // back (HELLO lists what they hold) and finish them. Otherwise they go back
  // to pending, uncharged: the coordinator's death was not the trial's fault.
  auto leased = store_.list_trials(TrialState::kLeased);
  if (!leased.ok()) return leased.status();
  const int64_t grace = storage::now_ms() + options_.restart_grace_ms;
  for (const auto& t : *leased) lease_deadline_[t.id] = {grace, t.worker};
  if (!leased->empty())
    log("recovered " + std::to_string(leased->size()) + " leased trial(s); waiting up to " +
        std::to_string(options_.restart_grace_ms / 1000) + " s for their workers");
  DR_RETURN_IF_ERROR(expand());
  auto unblocked = store_.unblock_ready();
  if (!unblocked.ok()) return unblocked.status();
  return store_.sync();
}

Status Coordinator::expand() {
  if (!options_.expand) return Status();
  auto added = options_.expand();
  if (!added.ok()) return added.status().with_context("search strategy");
  if (*added > 0) options_.log.debug("the strategy added " + std::to_string(*added) + " trial(s)");
  return Status();
}

Status Coordinator::expand_in_background(int64_t now) {
  if (!options_.expand) return Status();
  if (expanding_ && expanding_->wait_for(std::chrono::seconds(0)) == std::future_status::ready)
    DR_RETURN_IF_ERROR(finish_expansion());
  if (!expanding_ && expand_wanted_ && now >= expansion_ready_ms_) {
    expand_wanted_ = false;
    expansion_started_ms_ = now;
    expanding_.emplace(std::async(std::launch::async, options_.expand));
  }
  return Status();
}

Status Coordinator::finish_expansion() {
  if (!expanding_) return Status();
  auto added = expanding_->get();
  expanding_.reset();
  const int64_t now = storage::now_ms();
  // A strategy that takes long on a large store runs at most half the time.
  expansion_ready_ms_ = now + std::max<int64_t>(200, now - expansion_started_ms_);
  if (!added.ok()) return added.status().with_context("search strategy");
  if (*added > 0) {
    options_.log.debug("the strategy added " + std::to_string(*added) + " trial(s)");
    auto unblocked = store_.unblock_ready();  // its new trials may be ready already
    if (!unblocked.ok()) return unblocked.status();
  }
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
  const std::string bound = router_->get(zmq::sockopt::last_endpoint);
  log("coordinator listening on " + bound);
  if (options_.on_bound) options_.on_bound(bound);
  int64_t stop_seen_ms = 0;
  while (true) {
    const int64_t now = storage::now_ms();
    if (stop_.load() && !draining_) {
      draining_ = true;
      stop_seen_ms = now;
      log("stopping: no new trials; asking workers to hand back");
      for (auto& [id, w] : workers_) send(id, proto::message(proto::Shutdown{"coordinator stopping", {}, {}}));
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
    if (options_.checkpoint_every_ms > 0) {
      if (!last_checkpoint_ms_) last_checkpoint_ms_ = now;
      if (now - last_checkpoint_ms_ >= options_.checkpoint_every_ms) {
        last_checkpoint_ms_ = now;
        // A checkpoint that cannot be taken (a full disk) is said; the experiment goes on.
        if (auto cp = store_.checkpoint(options_.checkpoints_kept); cp.ok())
          options_.log.debug("store checkpoint " + *cp);
        else
          log(LogLevel::kWarn, "cannot take a checkpoint of the store: " + cp.status().message());
      }
    }
    if (results_since_unblock_) {  // dependents become ready; the strategy will see the results
      if (auto unblocked = store_.unblock_ready(); !unblocked.ok()) return unblocked.status();
      results_since_unblock_ = false;
      expand_wanted_ = static_cast<bool>(options_.expand);
    }
    if (Status st = expand_in_background(now); !st.ok()) return st;
    if (options_.local_workers > 0 && static_cast<int>(quarantined_names_.size()) >= options_.local_workers &&
        !draining_) {
      flush();
      if (expanding_) expanding_->wait();
      router_->close();
      (void)store_.sync();
      return Status::failed_precondition("every local worker is quarantined (" + quarantine_reason_ +
                                         "); no trial was charged for it: fix the cause and run again");
    }
    if (store_failing_since_ms_ && now - store_failing_since_ms_ > options_.store_give_up_ms) {
      unpause("the coordinator gave up waiting for the store and stopped");
      (void)store_.sync();
      flush();
      if (expanding_) expanding_->wait();
      router_->close();
      return Status::io_error("the store has taken no result for " +
                              std::to_string((now - store_failing_since_ms_) / 1000) + " s: " + store_failure_ +
                              " (the workers keep the finished trials they hold: free space and run again)");
    }
    if (!draining_) dispatch();
    Status s = store_.sync();  // the durability point for everything this iteration did
    if (!s.ok()) return s;
    flush();
    if (draining_) {
      bool busy = false;
      for (auto& [id, w] : workers_) busy |= !w.running.empty();
      if (!busy || now - stop_seen_ms > options_.drain_ms) break;
    } else if (options_.exit_when_done && !expanding_ && !expand_wanted_ && experiment_complete()) {
      log("every trial is finished");
      for (auto& [id, w] : workers_) send(id, proto::message(proto::Shutdown{"experiment complete", {}, true}));
      flush();
      break;
    }
  }
  if (expanding_) expanding_->wait();  // its trials are added (or not) before the store closes
  unpause("the coordinator stopped");  // status shows no pause of a coordinator that is gone
  router_->close();
  for (const auto& [id, w] : workers_)
    if (w.quarantined.empty())
      (void)store_.put_worker(
          {w.name, w.host, storage::WorkerState::kGone, "the coordinator stopped", nlohmann::json::array(), 0});
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
  for (auto& o : outbox_) {
    if (proto::send_frames(*router_, proto::encode(o.message), &o.identity)) continue;
    // The peer is gone (or its queue is full): what it needed is re-sent by the
    // protocol (heartbeats, RECEIPT on the next RESULT, re-dispatch after a lost lease).
    ++stats_.unsent;
    if (stats_.unsent <= 20 || stats_.unsent % 1000 == 0)
      log(LogLevel::kWarn, "could not send " + std::string(proto::type_name(o.message.type)) + " to a worker that is gone (" +
          std::to_string(stats_.unsent) + " so far)");
  }
  outbox_.clear();
}

bool Coordinator::live_lease(const std::string& trial, const std::string& worker, int64_t attempt,
                             const std::string& lease) {
  auto r = store_.get_trial(trial);
  return r.ok() && r->state == TrialState::kLeased && r->worker == worker && r->attempt == attempt &&
         r->lease == lease;
}

bool Coordinator::holds(const WorkerSession& w, const std::string& trial, int64_t attempt, const std::string& lease) {
  auto it = w.running.find(trial);
  return it != w.running.end() && it->second.attempt == attempt && it->second.token == lease &&
         live_lease(trial, w.name, attempt, lease);
}

void Coordinator::refuse(const WorkerSession& w, const proto::Message& m, const std::string& why) {
  ++stats_.refused;
  if (stats_.refused <= 20 || stats_.refused % 1000 == 0)
    log(LogLevel::kWarn, "refused " + std::string(proto::type_name(m.type)) + " from " + w.name + " about trial " +
        m.header.value("trial", std::string("?")).substr(0, 12) + ": " + why + " (" + std::to_string(stats_.refused) +
        " refused so far)");
}

void Coordinator::release(const std::string& trial, const std::string& reason, storage::ReleaseCause cause) {
  auto r = store_.release(trial, reason, cause, limits());
  if (!r.ok()) {
    log(LogLevel::kWarn, "cannot release trial " + trial.substr(0, 12) + ": " + r.status().message());
    return;
  }
  ++stats_.released;
  results_since_unblock_ = true;
  if (r->state == TrialState::kFailed) log(LogLevel::kWarn, "trial " + trial.substr(0, 12) + " failed: " + r->reasons.back());
}

void Coordinator::handle(const std::string& identity, const std::vector<std::string>& frames) {
  auto decoded = proto::decode(frames);
  if (!decoded.ok() && decoded.status().code() == Status::Code::kFailedPrecondition) {
    // A worker of another build: told why in this build's words (a worker of
    // this protocol or later reads "protocol version" in the refusal it cannot
    // decode), once per peer, and counted.
    ++stats_.rejected_messages;
    if (version_told_.size() < 4096 && version_told_.insert(identity).second) {
      log(LogLevel::kWarn, "refused a worker of another build: " + decoded.status().message());
      send(identity, proto::message(proto::Shutdown{"this coordinator speaks protocol version " +
                                                        std::to_string(proto::kVersion) + ": " +
                                                        decoded.status().message().substr(0, 200) +
                                                        "; run the same deepreduce version on both ends",
                                                    {}, {}}));
    }
    return;
  }
  if (!decoded.ok() || !proto::from_worker(decoded->type)) {
    ++stats_.rejected_messages;
    if (stats_.rejected_messages <= 20 || stats_.rejected_messages % 1000 == 0)
      log(LogLevel::kWarn, "rejected a message (" + std::to_string(stats_.rejected_messages) + " so far): " +
          (decoded.ok() ? std::string(proto::type_name(decoded->type)) + " is not a worker's message"
                        : decoded.status().message()));
    return;
  }
  const proto::Message& m = *decoded;
  if (m.type == Type::kHello) return on_hello(identity, m);
  auto it = workers_.find(identity);
  if (it == workers_.end()) {
    // Not introduced (or lost and back without HELLO). A result whose lease is
    // no longer live (a frozen worker, lost and replaced meanwhile) is refused
    // and counted, so that the worker drops it; one whose lease still stands
    // (this coordinator restarted) waits for the worker's HELLO, which keeps it.
    if (m.type == Type::kResult) {
      const auto result = proto::read<proto::ResultMessage>(m);
      const std::string& trial = result.trial;
      const int64_t attempt = result.attempt;
      auto r = store_.get_trial(trial);
      if (!r.ok() || r->state != TrialState::kLeased || r->lease != result.lease || r->attempt != attempt) {
        ++stats_.refused;
        if (stats_.refused <= 20 || stats_.refused % 1000 == 0)
          log(LogLevel::kWarn, "refused a RESULT about trial " + trial.substr(0, 12) + " from a session this coordinator does not "
              "know: its lease is no longer live (" + std::to_string(stats_.refused) + " refused so far)");
        send(identity, proto::message(proto::Receipt{trial, attempt, "refused",
                                                     "the lease of this attempt is no longer live"}));
      }
    }
    if (m.type != Type::kBye)
      send(identity, proto::message(proto::Shutdown{"unknown worker; send HELLO", true, {}}));
    return;
  }
  WorkerSession& w = it->second;
  w.last_seen_ms = storage::now_ms();
  switch (m.type) {
    case Type::kReady:
      w.free_slots = static_cast<int>(proto::read<proto::Ready>(m).slots);
      break;
    case Type::kHeartbeat:
      break;
    case Type::kProgress:
      on_progress(w, m);
      break;
    case Type::kUpload:
      on_upload(w, m);
      break;
    case Type::kResult:
      on_result(identity, w, m);
      break;
    case Type::kFailed:
      on_failed(identity, w, m);
      break;
    case Type::kFetch:
      on_fetch(identity, w, m);
      break;
    case Type::kBye:
      // A worker that leaves hands its trials back: not their fault.
      lose_worker(identity, "worker " + w.name + " left", storage::ReleaseCause::kNotCharged);
      break;
    default:
      break;
  }
}

void Coordinator::on_hello(const std::string& identity, const proto::Message& m) {
  constexpr size_t kMaxWorkers = 4096;
  if (!workers_.count(identity) && workers_.size() >= kMaxWorkers) {
    ++stats_.rejected_messages;
    if (stats_.rejected_messages <= 20) log(LogLevel::kWarn, "refused a HELLO: " + std::to_string(kMaxWorkers) + " workers already");
    return;
  }
  const auto hello = proto::read<proto::Hello>(m);
  WorkerSession w;
  w.name = hello.worker;
  w.host = hello.host;
  w.capacity = static_cast<int>(hello.slots);
  w.last_seen_ms = storage::now_ms();
  // A worker that comes back with trials in hand keeps those whose live lease
  // it proves (attempt and token); it is told to drop the others.
  for (const auto& r : hello.running) {
    const std::string& trial = r.trial;
    const std::string& token = r.lease;
    const int64_t attempt = r.attempt;
    if (!w.running.count(trial) && live_lease(trial, w.name, attempt, token)) {
      for (auto& [other_id, other] : workers_)
        if (other_id != identity) other.running.erase(trial);  // its earlier connection's session
      w.running[trial] = {attempt, token};
      lease_deadline_.erase(trial);
      log("worker " + w.name + " reclaimed trial " + trial.substr(0, 12));
    } else {
      send(identity, proto::message(proto::Cancel{trial}));
    }
  }
  // A lease from before a restart that names this worker but is not in its
  // list was never received (the ASSIGN died with the last coordinator): it
  // goes back to pending now instead of waiting out the grace period.
  std::vector<std::string> never_received;
  for (const auto& [trial, lease] : lease_deadline_)
    if (lease.worker == w.name && !w.running.count(trial)) never_received.push_back(trial);
  for (const auto& trial : never_received) {
    lease_deadline_.erase(trial);
    const std::string why = "worker " + w.name + " rejoined without it: its assignment was lost with the last coordinator";
    log(LogLevel::kWarn, "trial " + trial.substr(0, 12) + " back to pending: " + why);
    release(trial, why, storage::ReleaseCause::kNotCharged);
  }
  // Capacity is re-announced with every HELLO: a worker that rejoins idle is
  // dispatched to at once, without waiting for a READY.
  w.free_slots = std::max(0, w.capacity - static_cast<int>(w.running.size()));
  quarantined_names_.erase(w.name);  // a restarted worker gets another chance
  const std::string name = w.name;
  workers_[identity] = std::move(w);
  ++stats_.workers_joined;
  if (Status s = store_.append_event({0, 0, "worker_joined", "", name,
                                      {{"host", hello.host}, {"devices", hello.devices}, {"slots", hello.slots}}});
      !s.ok())
    log(LogLevel::kError, "store: " + s.message());
  if (Status s = store_.put_worker({name, hello.host, storage::WorkerState::kActive, "", hello.devices, 0}); !s.ok())
    log(LogLevel::kError, "store: " + s.message());
  log("worker " + name + " joined (" + hello.host + ", " + hello.devices.dump() + ", " + std::to_string(hello.slots) +
      " slot(s))");
  send(identity, proto::message(proto::Welcome{options_.heartbeat_ms}));
  if (draining_) send(identity, proto::message(proto::Shutdown{"coordinator stopping", {}, {}}));
}

void Coordinator::on_progress(WorkerSession& w, const proto::Message& m) {
  const auto p = proto::read<proto::Progress>(m);
  const std::string& trial = p.trial;
  if (!holds(w, trial, p.attempt, p.lease)) return refuse(w, m, "no live lease of this worker");
  if (Status s = store_.record_progress(trial, w.name, p.epoch); !s.ok()) log(LogLevel::kError, "store: " + s.message());
  // A line per epoch: a 200-epoch trial is not hours of silence in a job log.
  const auto& e = p.epoch;
  auto num = [&](const char* key, int digits) {
    return e.contains(key) && e[key].is_number() ? fmt::format("{:.{}f}", e[key].get<double>(), digits) : "-";
  };
  auto record = store_.get_trial(trial);
  if (!record.ok()) return;
  const auto& job = record->spec.job;
  const auto top1 = spec::progress_top1(e);
  const std::string top1_text =
      !top1 ? "top-1 -"
            : (std::string(top1->split) == "test" ? "top-1 " : std::string(top1->split) + " top-1 ") + fixed(top1->value, 2);
  if (e.contains("seconds") && e["seconds"].is_number()) {
    epoch_seconds_ += e["seconds"].get<double>();
    ++epochs_seen_;
  }
  log("trial " + trial.substr(0, 12) + " (" + (record->spec.name.empty() ? "" : printable(record->spec.name) + ": ") +
      job.model.arch + " " + spec::plan_summary(job.model) +
      (record->spec.teacher.empty() ? "" : " +KD") + ") epoch " + num("epoch", 0) + "/" +
      std::to_string(job.train.epochs) + " on " + w.name + ": " +
      top1_text + ", " + num("images_per_second", 0) + " img/s");
  maybe_log_experiment();
}

void Coordinator::maybe_log_experiment(bool now) {
  const int64_t t = storage::now_ms();
  if (!now && t - last_experiment_line_ms_ < 30000) return;
  last_experiment_line_ms_ = t;
  auto trials = store_.list_trials();
  if (!trials.ok()) return;
  int64_t done = 0, failed = 0, running = 0, waiting = 0, epochs_left = 0;
  for (const auto& r : *trials) {
    done += r.state == TrialState::kDone;
    failed += r.state == TrialState::kFailed;
    running += r.state == TrialState::kLeased;
    waiting += r.state == TrialState::kPending || r.state == TrialState::kBlocked;
    if (r.state == TrialState::kPending || r.state == TrialState::kBlocked || r.state == TrialState::kLeased) {
      int64_t trained = 0;
      if (r.progress.is_object() && r.progress.contains("epoch") && r.progress["epoch"].is_number_integer())
        trained = r.progress["epoch"].get<int64_t>();
      epochs_left += std::max<int64_t>(0, r.spec.job.train.epochs - trained);
    }
  }
  int slots = 0;
  for (const auto& [id, w] : workers_) slots += w.quarantined.empty() ? w.capacity : 0;
  std::string eta;
  if (epochs_seen_ > 0 && slots > 0) {
    const double seconds = epochs_left * (epoch_seconds_ / static_cast<double>(epochs_seen_)) / slots;
    const std::string left = seconds < 120    ? fmt::format("about {:.0f} s left", seconds)
                             : seconds < 7200 ? fmt::format("about {:.0f} min left", seconds / 60)
                                              : fmt::format("about {:.1f} h left", seconds / 3600);
    eta = "; " + left + " at the epochs measured so far (more trials may open)";
  }
  log("experiment: " + std::to_string(done) + "/" + std::to_string(trials->size()) + " done, " +
      std::to_string(running) + " running, " + std::to_string(waiting) + " waiting, " + std::to_string(failed) +
      " failed; " + std::to_string(workers_.size()) + " worker(s)" + eta);
}

void Coordinator::on_upload(WorkerSession& w, const proto::Message& m) {
  const auto up = proto::read<proto::Upload>(m);
  const std::string &trial = up.trial, &lease = up.lease;
  const spec::ArtifactKind kind = up.kind;
  const int64_t attempt = up.attempt, chunk = up.chunk, chunks = up.chunks, size = up.size;
  if (!holds(w, trial, attempt, lease)) return refuse(w, m, "no live lease of this worker");
  Upload& u = w.uploads[{trial, kind}];
  if (chunk == 0) u = Upload{attempt, size, chunks, lease, std::string(), 0};
  if (chunk != u.next_chunk || attempt != u.attempt || size != u.size || chunks != u.chunks ||
      static_cast<int64_t>(u.bytes.size() + m.payload.size()) > size) {
    // Out of order or inconsistent: drop it; a RESULT without its model asks for a resend.
    w.uploads.erase({trial, kind});
    return refuse(w, m, "upload chunk " + std::to_string(chunk) + " out of order or inconsistent");
  }
  u.bytes += m.payload;
  ++u.next_chunk;
  if (u.next_chunk < u.chunks) return;
  std::string bytes = std::move(u.bytes);
  w.uploads.erase({trial, kind});
  if (static_cast<int64_t>(bytes.size()) != size) return refuse(w, m, "upload shorter than its size");
  if (kind == spec::ArtifactKind::kModel || kind == spec::ArtifactKind::kMask) {
    // Checked against RESULT's digests.
    (kind == spec::ArtifactKind::kModel ? w.models : w.masks)[trial] = std::move(bytes);
    return;
  }
  if (Status s = store_.put_artifact(trial, spec::ArtifactKind::kCheckpoint, bytes); !s.ok())
    log(LogLevel::kWarn, "cannot store the checkpoint of " + trial.substr(0, 12) + " (the trial goes on): " + s.message());
}

void Coordinator::on_result(const std::string& identity, WorkerSession& w, const proto::Message& m) {
  const auto res = proto::read<proto::ResultMessage>(m);
  const std::string &trial = res.trial, &lease = res.lease;
  const int64_t attempt = res.attempt;
  auto receipt = [&](const char* status, const std::string& reason) {
    send(identity, proto::message(proto::Receipt{trial, attempt, status, reason}));
  };
  auto model = w.models.find(trial);
  std::optional<std::string> weights;
  if (model != w.models.end()) {
    weights = std::move(model->second);
    w.models.erase(model);
  }
  std::optional<std::string> mask;
  if (auto it = w.masks.find(trial); it != w.masks.end()) {
    mask = std::move(it->second);
    w.masks.erase(it);
  }
  if (!holds(w, trial, attempt, lease)) {
    // The same result delivered again (its RECEIPT was lost) is acknowledged;
    // anything else is refused and never applied.
    auto r = store_.get_trial(trial);
    if (r.ok() && r->state == TrialState::kDone && r->worker == w.name) {
      auto stored = store_.get_result(trial);
      if (stored.ok() && stored->has_value() && (**stored).value("attempt", int64_t{0}) == attempt)
        return receipt("stored", "already stored");
    }
    refuse(w, m, "no live lease of this worker");
    return receipt("refused", "no live lease of " + w.name + " for attempt " + std::to_string(attempt));
  }
  const int64_t want_size = res.model.size;
  auto record = store_.get_trial(trial);
  const bool noop = record.ok() && record->spec.kind == spec::TrialKind::kNoop;  // benchmarks: nothing trained, no model
  const bool model_ok = (noop && want_size == 0 && !weights) ||
                        (weights && static_cast<int64_t>(weights->size()) == want_size &&
                         proto::digest(*weights) == res.model.blake2b);
  if (!model_ok) {
    log("result of " + trial.substr(0, 12) + " from " + w.name +
        (weights ? " came with a model that does not match its digest" : " came without its model") +
        ": asking for both again");
    return receipt("resend", weights ? "model digest mismatch" : "model not received");
  }
  // A mask phase's result names its mask: it is stored with it, or not at all.
  std::map<spec::ArtifactKind, std::string> more;
  if (res.mask) {
    if (!mask || static_cast<int64_t>(mask->size()) != res.mask->size || proto::digest(*mask) != res.mask->blake2b) {
      log("result of " + trial.substr(0, 12) + " from " + w.name +
          (mask ? " came with a mask that does not match its digest" : " came without its mask") + ": asking again");
      return receipt("resend", mask ? "mask digest mismatch" : "mask not received");
    }
    more[spec::ArtifactKind::kMask] = std::move(*mask);
  }
  nlohmann::json result = res.result;
  result["worker"] = w.name;
  result["attempt"] = attempt;
  Status s = store_.complete(trial, w.name, attempt, lease, result, weights, more);
  if (!s.ok()) {
    // The store could not take it (a full disk?): the worker keeps both and
    // offers them again; the lease stays; no new work goes out meanwhile.
    const int64_t now = now_ms();
    store_failure_ = s.message();
    if (!store_failing_since_ms_) store_failing_since_ms_ = now;
    // For status and the live page (the records may still fit where a model
    // does not; if they do not either, the log and run's end say it).
    if (record.ok() && paused_experiments_.insert(record->experiment).second)
      (void)store_.put_decisions(record->experiment, {storage::dispatch_decision(true, store_failure_)});
    if (now - store_failure_logged_ms_ >= 60000) {
      store_failure_logged_ms_ = now;
      log(LogLevel::kError, "cannot store the result of " + trial.substr(0, 12) + ": " + s.message() +
          "; dispatch is paused until the store takes results again");
    }
    return receipt("resend", s.message().substr(0, proto::kMaxReasonBytes));
  }
  if (store_failing_since_ms_) {
    log("the store takes results again; dispatch resumes");
    unpause("the store takes results again");
    store_failing_since_ms_ = 0;
    store_failure_logged_ms_ = 0;
  }
  w.running.erase(trial);
  lease_deadline_.erase(trial);
  w.last_error.clear();
  w.error_streak = 0;
  ++stats_.results;
  // Its last checkpoint matters only to a longer budget that continues it (successive halving).
  if (record.ok() && record->spec.job.train.horizon <= record->spec.job.train.epochs)
    if (Status rm = store_.remove_artifact(trial, spec::ArtifactKind::kCheckpoint); !rm.ok())
      log(LogLevel::kWarn, "cannot remove the checkpoint of " + trial.substr(0, 12) + ": " + rm.message());
  results_since_unblock_ = true;
  receipt("stored", "");
  if (options_.log) {
    // As the epoch lines print it (10.16, not 10.15625).
    std::string top1 = "-";
    if (result.contains("top1") && result["top1"].is_number()) top1 = fmt::format("{:.2f}", result["top1"].get<double>());
    const std::string name = record.ok() && !record->spec.name.empty() ? " (" + printable(record->spec.name) + ")" : "";
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
    log("trial " + trial.substr(0, 12) + name + " done on " + w.name + " (top-1 " + top1 + ")" + progress);
  }
}

void Coordinator::on_failed(const std::string& identity, WorkerSession& w, const proto::Message& m) {
  const auto failed = proto::read<proto::Failed>(m);
  const std::string &trial = failed.trial, &lease = failed.lease;
  std::string reason = failed.reason;
  for (auto& c : reason)  // it is logged and stored: no terminal control characters
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  const int64_t attempt = failed.attempt;
  if (!holds(w, trial, attempt, lease)) return refuse(w, m, "no live lease of this worker");
  w.running.erase(trial);
  lease_deadline_.erase(trial);
  ++stats_.failures;
  results_since_unblock_ = true;  // a failure can close a phase of the strategy too
  const bool environment = failed.environment;
  if (environment) {
    // The worker's surroundings failed, not the trial: it goes back uncharged.
    release(trial, "the worker's environment: " + reason, storage::ReleaseCause::kNotCharged);
    log(LogLevel::kWarn, "trial " + trial.substr(0, 12) + " handed back by " + w.name + " (its environment: " + reason + ")");
  } else if (failed.retryable) {
    release(trial, reason, storage::ReleaseCause::kTrialFailed);
    log(LogLevel::kWarn, "trial " + trial.substr(0, 12) + " failed on " + w.name + " (" + reason + ")");
  } else {
    if (Status s = store_.fail(trial, "attempt " + std::to_string(attempt) + " on " + w.name + ": " + reason); !s.ok())
      log(LogLevel::kError, "store: " + s.message());
    log(LogLevel::kWarn, "trial " + trial.substr(0, 12) + " failed on " + w.name + ": " + reason);
  }
  note_failure(identity, w, reason, environment);
}

void Coordinator::note_failure(const std::string& identity, WorkerSession& w, const std::string& reason,
                               bool environment) {
  w.error_streak = reason == w.last_error ? w.error_streak + 1 : 1;
  w.last_error = reason;
  const int limit = environment ? std::min(2, options_.quarantine_after) : options_.quarantine_after;
  if (w.error_streak < limit || !w.quarantined.empty()) return;
  w.quarantined = std::to_string(w.error_streak) + " failures in a row: " + reason;
  ++stats_.quarantined;
  quarantined_names_.insert(w.name);
  quarantine_reason_ = w.name + ": " + w.quarantined;
  log(LogLevel::kWarn, "worker " + w.name + " quarantined after " + w.quarantined + "; it gets no more work (fix it and restart it)");
  if (Status s = store_.put_worker({w.name, w.host, storage::WorkerState::kQuarantined, w.quarantined, nlohmann::json::array(), 0}); !s.ok())
    log(LogLevel::kError, "store: " + s.message());
  if (Status s = store_.append_event({0, 0, "worker_quarantined", "", w.name, {{"reason", w.quarantined}}}); !s.ok())
    log(LogLevel::kError, "store: " + s.message());
  send(identity, proto::message(proto::Shutdown{"quarantined after " + w.quarantined.substr(0, 3000), {}, {}}));
}

void Coordinator::on_fetch(const std::string& identity, WorkerSession& w, const proto::Message& m) {
  const auto fetch = proto::read<proto::Fetch>(m);
  const std::string& trial = fetch.trial;
  const spec::ArtifactKind kind = fetch.kind;
  auto not_found = [&] { send(identity, proto::message(proto::Artifact{trial, kind, 0, 1, 0, false})); };
  // Only what a trial in hand needs: its own checkpoint, its teacher's or base's artifacts.
  bool needed = w.running.count(trial) > 0;
  for (const auto& [held, lease] : w.running) {
    if (needed) break;
    auto r = store_.get_trial(held);
    if (!r.ok()) continue;
    for (const auto& dep : r->spec.dependencies()) needed |= dep == trial;
  }
  if (!needed) {
    refuse(w, m, "no trial of this worker needs it");
    return not_found();
  }
  auto artifact = store_.get_artifact(trial, kind);
  if (!artifact.ok() && artifact.status().code() == Status::Code::kCorruption) {
    // The store's copy is damaged: the trial that made it is, not the worker
    // that asked (it is never served, and its trial goes back uncharged).
    damaged(trial, kind, artifact.status().message());
    return not_found();
  }
  if (!artifact.ok() || !artifact->has_value()) {
    if (!artifact.ok())
      log(std::string("artifact ") + spec::artifact_kind_name(kind) + " of " + trial + ": " + artifact.status().message());
    return not_found();
  }
  const auto parts = proto::chunk(**artifact);
  for (size_t i = 0; i < parts.size(); ++i)
    send(identity, proto::message(proto::Artifact{trial, kind, static_cast<int64_t>(i),
                                                  static_cast<int64_t>(parts.size()),
                                                  static_cast<int64_t>((*artifact)->size()), true},
                                  parts[i]));
}

void Coordinator::damaged(const std::string& trial, spec::ArtifactKind kind_enum, const std::string& why) {
  const std::string kind = spec::artifact_kind_name(kind_enum);
  auto rec = store_.get_trial(trial);
  if (!rec.ok() || rec->state != TrialState::kDone) return;
  // Every trial in hand that needs it goes back, uncharged, and waits.
  for (auto& [identity, w] : workers_) {
    std::vector<std::string> back;
    for (const auto& [held, lease] : w.running) {
      auto r = store_.get_trial(held);
      if (!r.ok()) continue;
      const auto deps = r->spec.dependencies();
      if (std::find(deps.begin(), deps.end(), trial) != deps.end()) back.push_back(held);
    }
    for (const auto& held : back) {
      send(identity, proto::message(proto::Cancel{held}));
      release(held, "its dependency " + trial.substr(0, 12) + " was found damaged", storage::ReleaseCause::kNotCharged);
      lease_deadline_.erase(held);
      w.running.erase(held);
    }
  }
  // Trained again while its attempts allow (a damaged copy counts as one).
  const bool retrain = rec->charged + 1 < options_.max_attempts;  // damage() counts this copy as one
  auto blocked = store_.damage(trial, "its " + kind + " failed verification (" + why + ")", retrain);
  if (!blocked.ok()) {
    log(LogLevel::kError, "cannot mark trial " + trial.substr(0, 12) + " damaged: " + blocked.status().message());
    return;
  }
  results_since_unblock_ = true;
  log(LogLevel::kWarn, "trial " + trial.substr(0, 12) + " is damaged: its " + kind + " failed verification; " +
      (retrain ? "it is trained again" : "its attempts are spent: deepreduce repair trains it again") + ", " +
      std::to_string(blocked->size()) + " trial(s) that need it wait");
}

void Coordinator::lose_worker(const std::string& identity, const std::string& reason, storage::ReleaseCause cause) {
  auto it = workers_.find(identity);
  if (it == workers_.end()) return;
  // Handing back on a stop is not the trial's fault either.
  if (draining_) cause = storage::ReleaseCause::kNotCharged;
  for (const auto& [trial, lease] : it->second.running) {
    auto r = store_.get_trial(trial);
    if (!r.ok() || r->state != TrialState::kLeased || r->worker != it->second.name || r->lease != lease.token) continue;
    release(trial, reason, cause);
    lease_deadline_.erase(trial);
  }
  ++stats_.workers_lost;
  if (Status s = store_.append_event({0, 0, "worker_lost", "", it->second.name, {{"reason", reason}}}); !s.ok())
    log(LogLevel::kError, "store: " + s.message());
  // `status` lists it as gone, not active (a quarantined one stays quarantined).
  if (it->second.quarantined.empty())
    if (Status s = store_.put_worker(
            {it->second.name, it->second.host, storage::WorkerState::kGone, reason, nlohmann::json::array(), 0});
        !s.ok())
      log(LogLevel::kError, "store: " + s.message());
  log(reason);
  workers_.erase(it);
}

void Coordinator::tick(int64_t now) {
  std::vector<std::string> lost;
  for (auto& [id, w] : workers_) {
    if (now - w.last_seen_ms > int64_t{options_.liveness} * options_.heartbeat_ms) {
      lost.push_back(id);
    } else {
      send(id, proto::message(proto::Heartbeat{}));
    }
  }
  for (const auto& id : lost)
    lose_worker(id,
                "worker " + workers_[id].name + " lost: no heartbeat for " +
                    std::to_string(options_.liveness * options_.heartbeat_ms / 1000.0).substr(0, 4) + " s",
                storage::ReleaseCause::kWorkerLost);
  // Leases whose worker never came back after a coordinator restart: not the trial's fault.
  std::vector<std::string> expired;
  for (const auto& [trial, lease] : lease_deadline_) {
    if (lease.deadline >= now) continue;  // the common case: no scan of the workers
    const bool held = std::any_of(workers_.begin(), workers_.end(),
                                  [&, &trial = trial](const auto& w) { return w.second.running.count(trial) > 0; });
    if (!held) expired.push_back(trial);
  }
  for (const auto& trial : expired) {
    const std::string worker = lease_deadline_[trial].worker;
    lease_deadline_.erase(trial);
    auto r = store_.get_trial(trial);
    if (r.ok() && r->state == TrialState::kLeased)
      release(trial, "lease expired after a coordinator restart: worker " + worker + " did not come back",
              storage::ReleaseCause::kNotCharged);
  }
}

bool Coordinator::inputs_available(const std::string& trial) {
  auto r = store_.get_trial(trial);
  if (!r.ok()) return false;
  const auto& spec = r->spec;
  using spec::ArtifactKind;
  std::vector<std::pair<std::string, ArtifactKind>> needed;
  if (!spec.teacher.empty()) needed.push_back({spec.teacher, ArtifactKind::kModel});
  // Its base's weights (pruning, learned linearization), or its checkpoint (a longer budget continuing it);
  // a fine-tuning under a learned mask needs the base's mask too.
  if (!spec.base.empty())
    needed.push_back({spec.base, spec.continues_base() ? ArtifactKind::kCheckpoint : ArtifactKind::kModel});
  if (!spec.base.empty() && spec.job.model.masks && !spec.job.model.masks->learnable)
    needed.push_back({spec.base, ArtifactKind::kMask});
  for (const auto& [dep, kind] : needed) {
    auto has = store_.has_artifact(dep, kind);
    if (has.ok() && *has) continue;
    if (waiting_logged_.insert(trial).second)
      log("trial " + trial.substr(0, 12) + " waits: the " + spec::artifact_kind_name(kind) + " of " + dep.substr(0, 12) +
          " is not in the store (a trial done before results carried their models?)");
    return false;
  }
  return true;
}

void Coordinator::dispatch() {
  if (store_failing_since_ms_) return;  // nothing new while results cannot be stored
  // READY counts can cross an ASSIGN in flight; the announced capacity cannot.
  auto room = [](const WorkerSession& w) {
    if (!w.quarantined.empty()) return 0;
    return std::min(w.free_slots, w.capacity - static_cast<int>(w.running.size()));
  };
  int free = 0;
  for (auto& [id, w] : workers_) free += std::max(0, room(w));
  if (free == 0) return;
  // A few more than the free slots: a trial whose teacher's weights are not in
  // the store (yet) waits, and must not hold up the others.
  auto pending = store_.trial_ids(TrialState::kPending, static_cast<size_t>(free) + 16);
  if (!pending.ok() || pending->empty()) return;
  size_t next = 0;
  for (auto& [id, w] : workers_) {
    while (room(w) > 0 && next < pending->size()) {
      const std::string& trial = (*pending)[next++];
      if (!inputs_available(trial)) continue;
      const int64_t deadline = storage::now_ms() + int64_t{options_.liveness} * options_.heartbeat_ms;
      const std::string token = proto::random_token();
      auto leased = store_.lease(trial, w.name, deadline, token);
      if (!leased.ok()) {
        log(LogLevel::kWarn, "cannot lease trial " + trial.substr(0, 12) + ": " + leased.status().message());
        continue;
      }
      const storage::TrialRecord& t = *leased;
      // Only an earlier attempt can have left a checkpoint.
      bool has_checkpoint = false;
      if (t.attempt > 1) {
        auto checkpoint = store_.has_artifact(t.id, spec::ArtifactKind::kCheckpoint);  // its record: the file is not read here
        has_checkpoint = checkpoint.ok() && *checkpoint;
      }
      w.free_slots -= 1;
      w.running[t.id] = {t.attempt, token};
      ++stats_.assigned;
      send(id, proto::message(proto::Assign{t.id, t.attempt, token, spec::to_json(t.spec), has_checkpoint}));
    }
  }
}

}  // namespace deepreduce::coordinator
