#include "worker/worker.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>
#include <tuple>

#include "protocol/messages.h"
#include "protocol/protocol.h"
#include "protocol/transport.h"
#include "common/clock.h"
#include "spec/datasets.h"
#include "spec/trial.h"
#include "train/checkpoint.h"
#include "train/trainer.h"
#include "train/trial_runner.h"

namespace deepreduce::worker {
namespace fs = std::filesystem;
namespace proto = deepreduce::protocol;
using proto::Type;

namespace {

// How long handshakes may keep failing, before any coordinator ever answered,
// until the worker calls itself misconfigured and stops (--give-up-after, if
// shorter, bounds it too).
constexpr int64_t kMisconfiguredMs = 20000;

// The most of an address file read: an address is tcp://HOST:PORT.
constexpr size_t kMaxAddressBytes = 1024;

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A missing or unreadable file (the dataset, the scratch folder), a missing
// device or an artifact the coordinator could not send: this worker's
// surroundings failed, not the trial. The coordinator hands such a trial back
// uncharged and quarantines a worker that keeps failing so.
bool environmental(const Status& s) {
  return s.code() == Status::Code::kIOError || s.code() == Status::Code::kNotFound ||
         s.code() == Status::Code::kUnavailable;
}
// A trial that fails the same way everywhere (a bad spec) is not worth another
// attempt; one that failed inside training (a diverging loss, out of memory) may be.
bool retryable(const Status& s) { return s.code() == Status::Code::kInternal || environmental(s); }

}  // namespace

// One trial in hand: its thread and what it asked the network for.
struct Running {
  std::string trial;
  int64_t attempt;
  std::string lease;
  std::atomic<bool> stop{false};
  bool resume_from_checkpoint = false;
  size_t device = 0;  // index into the worker's devices
  std::thread thread;
  bool finished = false;
};

struct Worker::Impl {
  zmq::context_t& context;
  WorkerOptions options;
  std::atomic<bool>& stop;
  std::optional<zmq::socket_t> socket;
  std::optional<zmq::socket_t> monitor;  // handshake events of socket
  bool owns_scratch = false;  // a temp folder made for this worker: removed when it ends

  std::mutex mu;
  std::deque<proto::Message> outbox;  // from trial threads, sent by the socket thread
  std::map<std::string, std::unique_ptr<Running>> running;
  std::vector<std::string> devices;  // from options.device; trials are spread over them
  // FETCH requests waiting for their ARTIFACT chunks: (trial, kind) -> chunks + promise.
  struct Fetch {
    std::vector<std::string> parts;
    std::promise<std::optional<std::string>> done;
  };
  std::map<std::pair<std::string, spec::ArtifactKind>, std::unique_ptr<Fetch>> fetches;
  std::deque<std::pair<std::string, spec::ArtifactKind>> fetch_requests;
  // Finished trials whose RESULT no RECEIPT has settled yet: the result and the
  // model stay on disk (scratch/<trial>/) until the coordinator says stored or
  // refused, across reconnects and coordinator restarts.
  struct Delivery {
    int64_t attempt = 0;
    std::string lease;
    nlohmann::json result;
    fs::path dir;
    int64_t size = 0;
    std::string digest;
    int64_t mask_size = 0;  // a mask phase's mask (mask.bin), 0 without one
    std::string mask_digest;
    int64_t next_send_ms = 0;  // 0: at the next chance
  };
  std::map<std::string, Delivery> deliveries;  // by trial
  // ASSIGNs of trials whose earlier attempt is still ending here: started once it has.
  std::map<std::string, proto::Message> deferred_assigns;
  bool quarantined = false;
  bool coordinator_stopped = false;  // it said it is stopping: reconnect (outlive_coordinator)
  std::string shutdown_reason;

  Impl(zmq::context_t& c, WorkerOptions o, std::atomic<bool>& s) : context(c), options(std::move(o)), stop(s) {}

  void log(const std::string& line) { options.log(line); }
  void log(LogLevel level, const std::string& line) { options.log(level, line); }

  void post(proto::Message m) {
    std::lock_guard<std::mutex> lock(mu);
    outbox.push_back(std::move(m));
  }

  // Asks the coordinator for an artifact and waits for it (from a trial thread).
  std::optional<std::string> fetch(const std::string& trial, spec::ArtifactKind kind, const std::atomic<bool>& cancel) {
    std::future<std::optional<std::string>> future;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto f = std::make_unique<Fetch>();
      future = f->done.get_future();
      fetches[{trial, kind}] = std::move(f);
      fetch_requests.push_back({trial, kind});
    }
    int64_t asked = now_ms();
    while (future.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
      if (cancel.load() || stop.load()) return std::nullopt;
      if (now_ms() - asked > 60000) {  // no answer (a lost message?): ask again
        std::lock_guard<std::mutex> lock(mu);
        if (auto it = fetches.find({trial, kind}); it != fetches.end()) it->second->parts.clear();
        fetch_requests.push_back({trial, kind});
        asked = now_ms();
      }
    }
    return future.get();
  }

  void train_trial(Running* r, nlohmann::json spec_json) {
    const std::string trial = r->trial, lease = r->lease;
    const int64_t attempt = r->attempt;
    auto fail = [&](const Status& s) {
      post(proto::message(proto::Failed{trial, attempt, lease, s.message().substr(0, proto::kMaxReasonBytes),
                                        retryable(s), environmental(s)}));
    };
    auto spec = spec::trial_spec_from_json(spec_json);
    if (!spec.ok()) return fail(spec.status());
    const fs::path dir = fs::path(options.scratch) / trial;
    train::TrialRun t;
    t.id = trial;
    t.spec = *spec;
    t.dir = dir.string();
    t.resume_own_checkpoint = r->resume_from_checkpoint;
    t.log = [this, trial](const std::string& line) { log("trial " + trial.substr(0, 12) + ": " + line); };
    spec::TrainJob& job = t.spec.job;
    job.data.data_dir = spec::data_dir_under_root(options.data_root, job.data.dataset, job.data.data_dir);
    t.run.device = devices[r->device];
    t.run.threads = options.threads > 0
                        ? options.threads
                        : std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / options.slots);
    // Teachers' weights and checkpoints come from the coordinator.
    struct FromCoordinator : train::ArtifactSource {
      Impl& impl;
      Running& r;
      FromCoordinator(Impl& i, Running& run) : impl(i), r(run) {}
      Result<std::string> fetch(const std::string& id, spec::ArtifactKind kind) override {
        auto bytes = impl.fetch(id, kind, r.stop);
        if (r.stop.load() || impl.stop.load()) return Status::unavailable("the worker is stopping");
        if (!bytes)
          return Status::not_found(std::string("the ") + spec::artifact_kind_name(kind) + " of trial " + id +
                                   " is not available from the coordinator");
        return *bytes;
      }
    } artifacts(*this, *r);
    train::TrainHooks hooks;
    hooks.stop = &r->stop;
    hooks.on_epoch = [&](const spec::EpochRecord& e) {
      post(proto::message(proto::Progress{trial, attempt, lease, nlohmann::json::parse(spec::to_json(e).dump())}));
      // The last epoch's checkpoint goes too when the schedule goes on: a longer
      // budget (successive halving) continues from it.
      const bool continued = e.epoch == job.train.epochs && spec::schedule_epochs(job.train) > job.train.epochs;
      if (continued || (options.checkpoint_every > 0 && e.epoch % options.checkpoint_every == 0 &&
                        e.epoch < job.train.epochs)) {
        const std::string bytes = read_bytes(dir / "checkpoint.pt");
        upload(trial, attempt, lease, spec::ArtifactKind::kCheckpoint, bytes);
      }
    };
    auto result = train::run_trial(t, artifacts, hooks);
    if (r->stop.load()) return;  // cancelled or stopping: nothing to report
    if (!result.ok()) return fail(result.status());
    if (!result->completed) return;
    // The result and its model stay on disk until the coordinator has them.
    Delivery d;
    d.attempt = attempt;
    d.lease = lease;
    d.result = nlohmann::json::parse(spec::to_json(*result).dump());
    d.dir = dir;
    const std::string model = read_bytes(dir / "model.pt");
    d.size = static_cast<int64_t>(model.size());
    d.digest = proto::digest(model);
    if (result->mask) {  // a mask phase: its mask goes with its model
      const std::string mask = read_bytes(dir / "mask.bin");
      d.mask_size = static_cast<int64_t>(mask.size());
      d.mask_digest = proto::digest(mask);
    }
    if (Status s = train::write_file_atomic((dir / "result.delivery.json").string(),
                                            nlohmann::json{{"trial", trial}, {"attempt", attempt},
                                                           {"result", d.result}, {"size", d.size},
                                                           {"blake2b", d.digest}, {"mask_size", d.mask_size},
                                                           {"mask_blake2b", d.mask_digest}}
                                                .dump());
        !s.ok())
      log(LogLevel::kWarn, "trial " + trial.substr(0, 12) + ": cannot keep the result on disk (" + s.message() + "); it is in memory");
    std::lock_guard<std::mutex> lock(mu);
    deliveries[trial] = std::move(d);
  }

  // The UPLOAD messages that carry `bytes` (a checkpoint or a model) in chunks.
  static std::vector<proto::Message> upload_messages(const std::string& trial, int64_t attempt,
                                                     const std::string& lease, spec::ArtifactKind kind,
                                                     const std::string& bytes) {
    const auto parts = proto::chunk(bytes);
    std::vector<proto::Message> out;
    for (size_t i = 0; i < parts.size(); ++i)
      out.push_back(proto::message(proto::Upload{trial, attempt, lease, kind, static_cast<int64_t>(i),
                                                 static_cast<int64_t>(parts.size()), static_cast<int64_t>(bytes.size())},
                                   parts[i]));
    return out;
  }

  // From a trial thread: queued for the socket thread.
  void upload(const std::string& trial, int64_t attempt, const std::string& lease, spec::ArtifactKind kind,
              const std::string& bytes) {
    for (auto& m : upload_messages(trial, attempt, lease, kind, bytes)) post(std::move(m));
  }

  // Sends the deliveries that are due (socket thread): the model's chunks, then RESULT.
  void send_deliveries(int64_t now) {
    std::vector<std::pair<std::string, Delivery>> due;
    {
      std::lock_guard<std::mutex> lock(mu);
      for (auto& [trial, d] : deliveries)
        if (d.next_send_ms <= now) {
          d.next_send_ms = now + 30000;  // offered again if no RECEIPT comes
          due.push_back({trial, d});
        }
    }
    for (const auto& [trial, d] : due) {
      proto::ResultMessage result{trial, d.attempt, d.lease, d.result, {d.size, d.digest}, std::nullopt};
      // Each artifact read back and checked against what was measured when
      // the trial ended: damage on this disk is reported, never sent.
      std::vector<std::pair<spec::ArtifactKind, std::string>> uploads;
      bool damaged = false;
      for (const auto& [kind, file, size, digest] :
           {std::tuple{spec::ArtifactKind::kMask, std::string("mask.bin"), d.mask_size, d.mask_digest},
            std::tuple{spec::ArtifactKind::kModel, std::string("model.pt"), d.size, d.digest}}) {
        if (size <= 0) continue;
        std::string bytes = read_bytes(d.dir / file);
        if (static_cast<int64_t>(bytes.size()) != size || proto::digest(bytes) != digest) {
          damaged = true;
          log(LogLevel::kWarn, "trial " + trial.substr(0, 12) + ": its " + spec::artifact_kind_name(kind) +
                                   " on disk changed; reporting a failure");
          break;
        }
        if (kind == spec::ArtifactKind::kMask) result.mask = proto::ArtifactDigest{size, digest};
        uploads.push_back({kind, std::move(bytes)});
      }
      if (damaged) {
        std::lock_guard<std::mutex> lock(mu);
        deliveries.erase(trial);
        outbox.push_back(proto::message(proto::Failed{trial, d.attempt, d.lease,
                                                      "the finished trial's files were damaged on the worker's disk",
                                                      true, true}));
        continue;
      }
      for (const auto& [kind, bytes] : uploads)
        for (const auto& m : upload_messages(trial, d.attempt, d.lease, kind, bytes)) send(m);
      send(proto::message(result));
    }
  }

  void connect() {
    unsent_said = false;
    socket.emplace(context, zmq::socket_type::dealer);
    // A fresh routing id per connection: nobody can take over this worker's
    // route by guessing its name.
    socket->set(zmq::sockopt::routing_id, options.name + "/" + proto::random_token().substr(0, 12));
    socket->set(zmq::sockopt::linger, 0);
    socket->set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(proto::kMaxPayloadBytes + proto::kMaxHeaderBytes));
    if (options.curve) {
      socket->set(zmq::sockopt::curve_serverkey, options.curve->server_key);
      socket->set(zmq::sockopt::curve_publickey, options.curve->public_key);
      socket->set(zmq::sockopt::curve_secretkey, options.curve->secret_key);
    }
    // Handshake failures (a CURVE key the coordinator does not allow) are only
    // visible through a socket monitor.
    const std::string monitor_endpoint = "inproc://deepreduce-monitor-" + proto::random_token();
    if (zmq_socket_monitor(static_cast<void*>(*socket), monitor_endpoint.c_str(),
                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                               ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) == 0) {
      monitor.emplace(context, zmq::socket_type::pair);
      monitor->set(zmq::sockopt::linger, 0);
      monitor->connect(monitor_endpoint);
    }
    try {
      socket->connect(options.connect);
    } catch (const zmq::error_t& e) {  // an address libzmq will not take: said, and tried again after the backoff
      log(LogLevel::kWarn, "cannot connect to " + options.connect + ": " + e.what());
    }
    send_hello();
  }

  // A failed handshake since the last call. libzmq tells a refusal by the
  // coordinator's ZAP handler (AUTH: this worker's key is not allowed) from
  // everything else, which it reports as a connection that broke off: a
  // plaintext worker at a CURVE coordinator or the reverse, a wrong
  // --server-key, something other than a coordinator at the address, or a
  // reset on the way (a restarting host, an unkind network).
  struct Refusal {
    std::string why;  // "" when none
    bool by_coordinator = false;
  };
  Refusal handshake_refused() {
    Refusal r;
    if (!monitor) return r;
    while (true) {
      zmq::message_t event, address;
      zmq::recv_result_t got;
      try {
        got = monitor->recv(event, zmq::recv_flags::dontwait);
      } catch (const zmq::error_t&) {
        break;
      }
      if (!got) break;
      if (event.more()) (void)monitor->recv(address, zmq::recv_flags::none);
      if (event.size() < 6) continue;
      uint16_t id;
      uint32_t value;
      std::memcpy(&id, event.data(), sizeof id);
      std::memcpy(&value, static_cast<const char*>(event.data()) + sizeof id, sizeof value);
      if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
        r = {"the coordinator at " + options.connect +
                 " refused this worker's CURVE key (is its public key in the coordinator's --allow file?)",
             true};
      } else if (!r.by_coordinator) {
        const std::string detail = id == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
                                       ? std::string(std::strerror(static_cast<int>(value)))
                                       : "protocol error " + std::to_string(value);
        r.why = "the handshake with " + options.connect + " broke off (" + detail +
                "): a CURVE coordinator without --curve-* here or the reverse, a wrong --server-key, no "
                "coordinator at that address, or a reset on the way";
      }
    }
    return r;
  }

  void close_socket() {
    if (monitor) {
      zmq_socket_monitor(static_cast<void*>(*socket), nullptr, 0);
      monitor->close();
      monitor.reset();
    }
    socket->close();
  }

  // The address to connect to: --connect, or what the address file says now.
  Status resolve_address(int64_t deadline_ms) {
    if (options.connect_file.empty()) return Status();
    bool said = false;
    std::string refused;  // the last unusable address the file held, said once
    while (!stop.load()) {
      // The file is another process's output: read a bounded first word and check it is an address.
      char buf[kMaxAddressBytes + 1] = {};
      std::ifstream(options.connect_file).read(buf, kMaxAddressBytes);
      std::istringstream words{std::string(buf)};
      std::string address;
      if (words >> address) {
        Status ok = proto::check_endpoint(address, false);
        if (ok.ok()) {
          if (address != options.connect) log("coordinator address from " + options.connect_file + ": " + address);
          options.connect = address;
          return Status();
        }
        if (address != refused) {
          std::string why = ok.message();
          if (why.size() > 160) why = why.substr(0, 160) + "...";
          log(LogLevel::kWarn, options.connect_file + " holds no usable address (" + why + "); waiting for one");
          refused = address;
        }
      } else if (!said) {
        log("waiting for the coordinator's address in " + options.connect_file);
      }
      said = true;
      if (deadline_ms > 0 && now_ms() > deadline_ms)
        return Status::unavailable("worker " + options.name + ": no coordinator address appeared in " +
                                   options.connect_file + " (--give-up-after)");
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    return Status();
  }

  int64_t hello_sent_ms = 0;
  void send_hello() {
    hello_sent_ms = now_ms();
    std::vector<proto::HeldLease> held;
    {
      std::lock_guard<std::mutex> lock(mu);
      for (auto& [t, r] : running)
        if (!r->finished && !deliveries.count(t)) held.push_back({t, r->attempt, r->lease});
      for (auto& [t, d] : deliveries) held.push_back({t, d.attempt, d.lease});
    }
    char host[256] = "unknown";
    gethostname(host, sizeof host - 1);
    send(proto::message(proto::Hello{options.name, host, static_cast<int64_t>(getpid()), devices, options.threads,
                                     options.slots, std::move(held)}));
  }

  // Sends one message; a message that cannot be queued (no coordinator
  // connected, its queue full) is said once per connection and re-sent by the
  // protocol where it matters (deliveries until their RECEIPT, HELLO on rejoin).
  bool send(const proto::Message& m) {
    if (proto::send_frames(*socket, proto::encode(m))) return true;
    if (!unsent_said) log("cannot send to " + options.connect + " right now (not connected?)");
    unsent_said = true;
    return false;
  }
  bool unsent_said = false;

  // The device with the fewest unfinished trials (mu held).
  size_t least_loaded_device() const {
    std::vector<int> load(devices.size(), 0);
    for (const auto& [t, r] : running)
      if (!r->finished) ++load[r->device];
    return static_cast<size_t>(std::min_element(load.begin(), load.end()) - load.begin());
  }

  int free_slots() {
    std::lock_guard<std::mutex> lock(mu);
    int busy = 0;
    for (auto& [t, r] : running) busy += !r->finished;
    return quarantined ? 0 : options.slots - busy;
  }

  void reap() {
    std::lock_guard<std::mutex> lock(mu);
    for (auto it = running.begin(); it != running.end();) {
      if (it->second->finished && it->second->thread.joinable()) {
        it->second->thread.join();
        it = running.erase(it);
      } else {
        ++it;
      }
    }
  }

  void on_message(const proto::Message& m, bool& welcomed, bool& shutdown) {
    switch (m.type) {
      case Type::kWelcome: {
        welcomed = true;  // the loop announces the free slots next, once
        // The coordinator sets the pace: it counts a worker lost after
        // liveness x its interval without a word, so heartbeats follow its
        // interval, not this worker's default.
        options.heartbeat_ms = static_cast<int>(proto::read<proto::Welcome>(m).heartbeat_ms);
        // Whatever waited for the coordinator goes now: results, and artifact
        // requests an earlier coordinator may never have answered.
        std::lock_guard<std::mutex> lock(mu);
        for (auto& [t, d] : deliveries) d.next_send_ms = 0;
        fetch_requests.clear();
        for (auto& [key, f] : fetches) {
          f->parts.clear();
          fetch_requests.push_back(key);
        }
        break;
      }
      case Type::kReceipt: {
        const auto receipt = proto::read<proto::Receipt>(m);
        const std::string &trial = receipt.trial, &status = receipt.status;
        std::lock_guard<std::mutex> lock(mu);
        auto it = deliveries.find(trial);
        if (it == deliveries.end() || it->second.attempt != receipt.attempt) break;
        if (status == "resend") {
          log("trial " + trial.substr(0, 12) + ": the coordinator asks for the result again (" + receipt.reason + ")");
          it->second.next_send_ms = now_ms() + 2000;
          break;
        }
        if (status == "refused")
          log(LogLevel::kWarn, "trial " + trial.substr(0, 12) + ": result refused: " + receipt.reason);
        std::error_code ec;
        fs::remove_all(it->second.dir, ec);
        deliveries.erase(it);
        break;
      }
      case Type::kAssign: {
        const auto assign = proto::read<proto::Assign>(m);
        const std::string &trial = assign.trial, &lease = assign.lease;
        {
          std::lock_guard<std::mutex> lock(mu);
          if (auto held = running.find(trial); held != running.end() && !held->second->finished) {
            if (held->second->lease == lease) break;  // a repeat of the lease in hand
            // An earlier attempt still winding down: the coordinator took it
            // back (this worker was lost a while) and leased the trial anew.
            // Dropping this ASSIGN would leave the trial leased to a worker
            // that never trains it; it starts once the old attempt has ended.
            held->second->stop = true;
            deferred_assigns[trial] = m;
            break;
          }
          if (running.count(trial)) {  // ended, not reaped yet: reaped first, then this one starts
            deferred_assigns[trial] = m;
            break;
          }
          if (auto d = deliveries.find(trial); d != deliveries.end()) {
            if (d->second.lease == lease) break;  // its result is on its way
            // A result of an attempt whose lease is gone cannot be stored: the new lease wins.
            log("trial " + trial.substr(0, 12) + ": attempt " + std::to_string(d->second.attempt) +
                " is no longer wanted; training attempt " + std::to_string(assign.attempt));
            deliveries.erase(d);
          }
        }
        // A malformed kind is the trial's failure, told by train_trial's parse.
        const auto kind = assign.spec.contains("kind") && assign.spec["kind"].is_string()
                              ? parse_enum(assign.spec["kind"].get<std::string>(), spec::kTrialKindNames)
                              : Result<spec::TrialKind>(spec::TrialKind::kTrain);
        if (kind.ok() && *kind == spec::TrialKind::kNoop) {
          // Nothing to train (coordinator benchmarks): answer at once, on this thread.
          send(proto::message(proto::ResultMessage{trial, assign.attempt, lease, {{"top1", 0.0}, {"noop", true}},
                                                   {0, proto::digest("")}, std::nullopt}));
          send(proto::message(proto::Ready{std::max(0, free_slots())}));
          break;
        }
        auto r = std::make_unique<Running>();
        r->trial = trial;
        r->attempt = assign.attempt;
        r->lease = lease;
        r->resume_from_checkpoint = assign.checkpoint;
        Running* raw = r.get();
        std::lock_guard<std::mutex> lock(mu);
        r->device = least_loaded_device();
        log("trial " + trial.substr(0, 12) + " assigned (attempt " + std::to_string(raw->attempt) + ")" +
            (devices.size() > 1 ? " to " + devices[r->device] : ""));
        running[trial] = std::move(r);
        raw->thread = std::thread([this, raw, spec = assign.spec] {
          try {
            train_trial(raw, spec);
          } catch (const std::exception& e) {
            post(proto::message(proto::Failed{raw->trial, raw->attempt, raw->lease,
                                              (std::string("worker error: ") + e.what()).substr(0, 2000), true, false}));
          }
          std::lock_guard<std::mutex> done_lock(mu);
          raw->finished = true;
        });
        break;
      }
      case Type::kArtifact: {
        const auto artifact = proto::read<proto::Artifact>(m);
        std::lock_guard<std::mutex> lock(mu);
        auto it = fetches.find({artifact.trial, artifact.kind});
        if (it == fetches.end()) break;
        if (!artifact.found) {
          it->second->done.set_value(std::nullopt);
          fetches.erase(it);
          break;
        }
        if (artifact.chunk != static_cast<int64_t>(it->second->parts.size())) break;  // a stale answer
        it->second->parts.push_back(m.payload);
        if (static_cast<int64_t>(it->second->parts.size()) == artifact.chunks) {
          std::string bytes;
          for (auto& p : it->second->parts) bytes += p;
          it->second->done.set_value(std::move(bytes));
          fetches.erase(it);
        }
        break;
      }
      case Type::kCancel: {
        const std::string trial = proto::read<proto::Cancel>(m).trial;
        std::lock_guard<std::mutex> lock(mu);
        if (auto it = running.find(trial); it != running.end()) it->second->stop = true;
        if (auto it = deliveries.find(trial); it != deliveries.end()) {
          std::error_code ec;
          fs::remove_all(it->second.dir, ec);
          deliveries.erase(it);
        }
        log("trial " + trial.substr(0, 12) + " cancelled by the coordinator");
        break;
      }
      case Type::kShutdown: {
        const auto told = proto::read<proto::Shutdown>(m);
        if (told.rejoin.value_or(false)) {
          // A restarted coordinator that does not know us yet: introduce ourselves
          // again (once: every message sent before it answers asks the same).
          if (now_ms() - hello_sent_ms < 1000) break;
          log("coordinator asks to rejoin: sending HELLO");
          welcomed = false;
          send_hello();
          break;
        }
        log("coordinator says: " + told.reason);
        shutdown_reason = told.reason;
        quarantined = shutdown_reason.rfind("quarantined", 0) == 0;
        if (options.outlive_coordinator && !quarantined && !told.done.value_or(false)) {
          // It is stopping, not finished: hand the trials back and wait for the next one.
          std::lock_guard<std::mutex> lock(mu);
          for (auto& [t, r] : running) r->stop = true;
          coordinator_stopped = true;
          break;
        }
        shutdown = true;
        break;
      }
      default:
        break;
    }
  }

  // What can be checked before taking work: the device and the data root.
  Status preflight() {
    for (const auto& device : devices)
      if (auto d = train::check_device(device); !d.ok())
        return Status::unavailable("worker " + options.name + ": " + d.status().message());
    if (!options.data_root.empty()) {
      std::error_code ec;
      if (!fs::is_directory(options.data_root, ec))
        return Status::not_found("worker " + options.name + ": --data-root " + options.data_root +
                                 " is not a readable folder");
    }
    std::error_code ec;
    fs::create_directories(options.scratch, ec);
    if (ec) return Status::io_error("worker " + options.name + ": scratch folder " + options.scratch + ": " + ec.message());
    return Status();
  }

  Status run() {
    DR_RETURN_IF_ERROR(preflight());
    int backoff = proto::kReconnectMinMs;
    bool shutdown = false;
    int64_t last_contact = now_ms();  // the last message from a coordinator (or the start)
    // Failed handshakes since the last message from a coordinator, and whether one ever answered.
    int refusals = 0;
    int64_t first_refusal = 0, refusal_said_at = 0;
    std::string refusal_said;
    bool contacted = false;
    Status failure;
    auto give_up_deadline = [&] {
      return options.give_up_after_ms > 0 ? last_contact + options.give_up_after_ms : int64_t{0};
    };
    while (!stop.load() && !shutdown) {
      if (Status s = resolve_address(give_up_deadline()); !s.ok()) {
        failure = s;
        break;
      }
      connect();
      bool welcomed = false;
      deferred_assigns.clear();  // leases of a connection that is gone: the coordinator re-sends what it wants
      int64_t last_heard = now_ms(), last_sent = 0;
      int last_ready = -1;
      while (!stop.load() && !shutdown) {
        zmq::pollitem_t items[] = {{static_cast<void*>(*socket), 0, ZMQ_POLLIN, 0}};
        try {
          zmq::poll(items, 1, std::chrono::milliseconds(50));
        } catch (const zmq::error_t& e) {
          if (e.num() != EINTR) throw;  // a signal: the stop flag is checked below
        }
        while (auto frames = proto::recv_frames(*socket)) {
          auto m = proto::decode(*frames);
          last_heard = last_contact = now_ms();
          refusals = 0;
          refusal_said.clear();
          contacted = true;
          if (!m.ok() && m.status().code() == Status::Code::kFailedPrecondition) {
            // The coordinator is of another build: waiting cannot fix that.
            return Status::failed_precondition(options.connect + ": the coordinator speaks another protocol (" +
                                               m.status().message() +
                                               "); run the same deepreduce version on both ends");
          }
          if (!m.ok()) {
            log(LogLevel::kWarn, "ignored a message: " + m.status().message());
            continue;
          }
          on_message(*m, welcomed, shutdown);
          if (m->type == Type::kWelcome) last_ready = -1;  // re-announce the capacity on every (re)join
        }
        // What the trial threads produced, and their artifact requests.
        std::deque<proto::Message> out;
        std::deque<std::pair<std::string, spec::ArtifactKind>> requests;
        {
          std::lock_guard<std::mutex> lock(mu);
          out.swap(outbox);
          requests.swap(fetch_requests);
        }
        for (const auto& [trial, kind] : requests) send(proto::message(proto::Fetch{trial, kind}));
        for (const auto& m : out) send(m);
        if (welcomed) send_deliveries(now_ms());
        if (!out.empty() || !requests.empty()) last_sent = now_ms();
        reap();
        for (auto it = deferred_assigns.begin(); it != deferred_assigns.end();) {
          bool ended;
          {
            std::lock_guard<std::mutex> lock(mu);
            ended = !running.count(it->first);
          }
          if (!ended) {
            ++it;
            continue;
          }
          const proto::Message assign = it->second;
          it = deferred_assigns.erase(it);
          on_message(assign, welcomed, shutdown);
        }
        const int free = free_slots();
        if (welcomed && free != last_ready && free > 0) {
          send(proto::message(proto::Ready{free}));
          last_ready = free;
        } else if (free <= 0) {
          last_ready = free;
        }
        const int64_t now = now_ms();
        if (now - last_sent >= options.heartbeat_ms) {
          send(proto::message(proto::Heartbeat{}));
          last_sent = now;
        }
        if (coordinator_stopped) {
          // BYE: the stopping coordinator releases our leases now, uncharged.
          coordinator_stopped = false;
          send(proto::message(proto::Bye{}));
          log("waiting for the coordinator to come back (" + options.connect + ")");
          break;
        }
        if (const Refusal refusal = handshake_refused(); !refusal.why.empty()) {
          if (refusals++ == 0) first_refusal = now;
          if (refusal.why != refusal_said || now - refusal_said_at >= 10000) {  // said once per 10 s
            log(refusal.why + (contacted ? "; retrying (this address answered before)" : ""));
            refusal_said = refusal.why;
            refusal_said_at = now;
          }
          // A worker that has never been let in is misconfigured, and that does not fix itself: after a
          // few refusals by the coordinator, or handshakes failing for a while, say why and stop. Once
          // the address has answered, a failing handshake is a restart or the network: keep trying
          // (--give-up-after still applies).
          const int64_t window = options.give_up_after_ms > 0 ? std::min(options.give_up_after_ms, kMisconfiguredMs)
                                                              : kMisconfiguredMs;
          if (!contacted && refusals >= 3 && (refusal.by_coordinator || now - first_refusal >= window)) {
            failure = Status::failed_precondition("worker " + options.name + ": " + refusal.why);
            break;
          }
        }
        if (now - last_heard > int64_t{options.liveness} * options.heartbeat_ms) {
          log("coordinator at " + options.connect + " silent for " + std::to_string((now - last_heard) / 1000) +
              " s; reconnecting in " + std::to_string(backoff / 1000) + " s");
          break;
        }
        if (options.give_up_after_ms > 0 && now - last_contact > options.give_up_after_ms) break;
        if (welcomed) backoff = proto::kReconnectMinMs;
      }
      if (shutdown || stop.load() || !failure.ok()) break;
      if (options.give_up_after_ms > 0 && now_ms() - last_contact > options.give_up_after_ms) {
        failure = Status::unavailable("worker " + options.name + ": no coordinator at " + options.connect + " for " +
                                      std::to_string((now_ms() - last_contact) / 1000) +
                                      " s (--give-up-after): " +
                                      (refusal_said.empty() ? "is it running, and is this its address?" : refusal_said));
        break;
      }
      close_socket();
      for (int waited = 0; waited < backoff && !stop.load(); waited += 50)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      backoff = std::min(backoff * 2, proto::kReconnectMaxMs);
    }
    // Stop every trial, hand back, leave.
    {
      std::lock_guard<std::mutex> lock(mu);
      for (auto& [t, r] : running) r->stop = true;
    }
    for (auto& [t, r] : running)
      if (r->thread.joinable()) r->thread.join();
    if (socket) {
      send(proto::message(proto::Bye{}));
      close_socket();
    }
    if (owns_scratch && deliveries.empty()) {
      std::error_code ec;
      fs::remove_all(options.scratch, ec);
    } else if (!deliveries.empty()) {
      log(LogLevel::kWarn, std::to_string(deliveries.size()) + " finished trial(s) not delivered; their results stay in " +
          options.scratch);
    }
    if (quarantined) return Status::failed_precondition("the coordinator quarantined this worker: " + shutdown_reason);
    return failure;
  }
};

Worker::Worker(zmq::context_t& context, WorkerOptions options) {
  if (options.name.empty()) {
    char host[256] = "worker";
    gethostname(host, sizeof host - 1);
    std::mt19937 rng(std::random_device{}());
    options.name = std::string(host) + ":" + std::to_string(getpid()) + ":" + std::to_string(rng() % 100000);
  }
  const bool temp_scratch = options.scratch.empty();
  if (temp_scratch)
    options.scratch = (fs::temp_directory_path() / ("deepreduce-worker-" + std::to_string(getpid()) + "-" +
                                                     std::to_string(reinterpret_cast<uintptr_t>(this) % 100000)))
                          .string();
  std::vector<std::string> devices = device_list(options.device);
  if (devices.empty()) devices = {"cpu"};
  if (options.slots_per_device > 0) options.slots = options.slots_per_device * static_cast<int>(devices.size());
  if (options.slots < 1) options.slots = 1;
  impl_ = std::make_unique<Impl>(context, std::move(options), stop_);
  impl_->devices = std::move(devices);
  impl_->owns_scratch = temp_scratch;
}

std::vector<std::string> device_list(const std::string& devices) {
  std::vector<std::string> out;
  size_t begin = 0;
  while (begin <= devices.size()) {
    size_t end = devices.find(',', begin);
    if (end == std::string::npos) end = devices.size();
    std::string item = devices.substr(begin, end - begin);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
    begin = end + 1;
  }
  return out;
}

Worker::~Worker() = default;

Status Worker::run() { return impl_->run(); }

}  // namespace deepreduce::worker
