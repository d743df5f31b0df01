#include "worker/worker.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "nn/prune_weights.h"
#include "protocol/protocol.h"
#include "protocol/transport.h"
#include "storage/trial.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace deepreduce::worker {
namespace fs = std::filesystem;
namespace proto = deepreduce::protocol;
using proto::Type;

namespace {

int64_t now_ms() { return storage::now_ms(); }

std::string read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool retryable(const Status& s) {
  // A trial that fails the same way everywhere (a bad spec, a diverging loss) is
  // not worth another attempt; a missing file or device on this worker may be.
  return s.code() == Status::Code::kIOError || s.code() == Status::Code::kNotFound ||
         s.code() == Status::Code::kUnavailable || s.code() == Status::Code::kInternal;
}

}  // namespace

// One trial in hand: its thread and what it asked the network for.
struct Running {
  std::string trial;
  int64_t attempt;
  std::atomic<bool> stop{false};
  bool resume_from_checkpoint = false;
  std::thread thread;
  bool finished = false;
};

struct Worker::Impl {
  zmq::context_t& context;
  WorkerOptions options;
  std::atomic<bool>& stop;
  std::optional<zmq::socket_t> socket;
  bool owns_scratch = false;  // a temp folder made for this worker: removed when it ends

  std::mutex mu;
  std::deque<proto::Message> outbox;  // from trial threads, sent by the socket thread
  std::map<std::string, std::unique_ptr<Running>> running;
  // FETCH requests waiting for their ARTIFACT chunks: (trial, kind) -> chunks + promise.
  struct Fetch {
    std::vector<std::string> parts;
    std::promise<std::optional<std::string>> done;
  };
  std::map<std::pair<std::string, std::string>, std::unique_ptr<Fetch>> fetches;
  std::deque<std::pair<std::string, std::string>> fetch_requests;

  Impl(zmq::context_t& c, WorkerOptions o, std::atomic<bool>& s) : context(c), options(std::move(o)), stop(s) {}

  void log(const std::string& line) {
    if (options.log) options.log(line);
  }

  void post(proto::Message m) {
    std::lock_guard<std::mutex> lock(mu);
    outbox.push_back(std::move(m));
  }

  // Asks the coordinator for an artifact and waits for it (from a trial thread).
  std::optional<std::string> fetch(const std::string& trial, const std::string& kind, const std::atomic<bool>& cancel) {
    std::future<std::optional<std::string>> future;
    {
      std::lock_guard<std::mutex> lock(mu);
      auto f = std::make_unique<Fetch>();
      future = f->done.get_future();
      fetches[{trial, kind}] = std::move(f);
      fetch_requests.push_back({trial, kind});
    }
    while (future.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
      if (cancel.load() || stop.load()) return std::nullopt;
    }
    return future.get();
  }

  void train_trial(Running* r, nlohmann::json spec_json) {
    const std::string trial = r->trial;
    const int64_t attempt = r->attempt;
    auto fail = [&](const Status& s) {
      post(proto::make(Type::kFailed, {{"trial", trial}, {"attempt", attempt}, {"reason", s.message()},
                                       {"retryable", retryable(s)}}));
    };
    auto spec = storage::trial_spec_from_json(spec_json);
    if (!spec.ok()) return fail(spec.status());
    if (spec->kind == "noop") {
      post(proto::make(Type::kResult, {{"trial", trial}, {"attempt", attempt}, {"result", {{"top1", 0.0}, {"noop", true}}}}));
      return;
    }
    const fs::path dir = fs::path(options.scratch) / trial;
    std::error_code ec;
    fs::create_directories(dir, ec);
    train::TrainJob job = spec->job;
    if (!options.data_root.empty() && job.data.dataset != "synthetic") {
      const fs::path per_dataset = fs::path(options.data_root) / job.data.dataset;
      job.data.data_dir = fs::exists(per_dataset) ? per_dataset.string() : options.data_root;
    }
    if (!spec->teacher.empty()) {
      auto bytes = fetch(spec->teacher, "model", r->stop);
      if (r->stop.load()) return;
      if (!bytes) return fail(Status::unavailable("the teacher's weights (trial " + spec->teacher + ") are not available"));
      const fs::path teacher = dir / "teacher.pt";
      if (Status s = train::write_file_atomic(teacher.string(), *bytes); !s.ok()) return fail(s);
      job.train.kd.teacher = teacher.string();
    }
    train::RunOptions run;
    run.device = options.device;
    run.threads = options.threads > 0 ? options.threads
                                      : std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / options.slots);
    if (!spec->prune.is_null() && !r->resume_from_checkpoint) {
      // Channel pruning: the trained base network loses its least important
      // filters, and fine-tuning starts from what is left.
      if (spec->base.empty()) return fail(Status::invalid_argument("a pruning trial needs a base trial"));
      auto bytes = fetch(spec->base, "model", r->stop);
      if (r->stop.load()) return;
      if (!bytes) return fail(Status::unavailable("the weights of base trial " + spec->base + " are not available"));
      const fs::path base = dir / "base.pt", init = dir / "pruned.pt";
      if (Status s = train::write_file_atomic(base.string(), *bytes); !s.ok()) return fail(s);
      auto criterion = nn::parse_criterion(spec->prune.value("criterion", ""));
      if (!criterion.ok()) return fail(criterion.status());
      auto source = train::load_model(base.string());
      if (!source.ok()) return fail(source.status());
      auto pruned = nn::prune_network(*source, job.model, *criterion);
      if (!pruned.ok()) return fail(pruned.status());
      if (Status s = train::save_model(init.string(), *pruned); !s.ok()) return fail(s);
      run.init = init.string();
    }
    // Where training starts: this trial's own checkpoint (a re-leased trial),
    // else the checkpoint of its base (a longer budget continues a shorter one).
    if (!spec->base.empty() && spec->prune.is_null() && !r->resume_from_checkpoint) {
      auto bytes = fetch(spec->base, "checkpoint", r->stop);
      if (r->stop.load()) return;
      if (!bytes) return fail(Status::unavailable("the checkpoint of base trial " + spec->base + " is not available"));
      const fs::path ckpt = dir / "base-checkpoint.pt";
      if (Status s = train::write_file_atomic(ckpt.string(), *bytes); !s.ok()) return fail(s);
      run.resume = ckpt.string();
    }
    if (r->resume_from_checkpoint) {
      auto bytes = fetch(trial, "checkpoint", r->stop);
      if (r->stop.load()) return;
      if (bytes) {
        const fs::path ckpt = dir / "checkpoint.pt";
        if (train::write_file_atomic(ckpt.string(), *bytes).ok()) {
          run.resume = ckpt.string();
          auto meta = train::read_checkpoint_meta(run.resume);
          log("trial " + trial.substr(0, 12) + ": resuming from the checkpoint of epoch " +
              (meta.ok() ? std::to_string(meta->epoch) : std::string("?")));
        }
      }
    }
    train::TrainHooks hooks;
    hooks.stop = &r->stop;
    hooks.on_epoch = [&](const train::EpochRecord& e) {
      post(proto::make(Type::kProgress, {{"trial", trial}, {"attempt", attempt},
                                          {"epoch", nlohmann::json::parse(train::to_json(e).dump())}}));
      // The last epoch's checkpoint goes too when the schedule goes on: a longer
      // budget (successive halving) continues from it.
      const bool continued = e.epoch == job.train.epochs && train::schedule_epochs(job.train) > job.train.epochs;
      if (continued || (options.checkpoint_every > 0 && e.epoch % options.checkpoint_every == 0 &&
                        e.epoch < job.train.epochs)) {
        const std::string bytes = read_bytes(dir / "checkpoint.pt");
        upload(trial, attempt, "checkpoint", bytes);
      }
    };
    auto result = train::run_training(job, run, dir.string(), hooks);
    if (r->stop.load()) return;  // cancelled or stopping: nothing to report
    if (!result.ok()) return fail(result.status());
    if (!result->completed) return;
    upload(trial, attempt, "model", read_bytes(dir / "model.pt"));
    nlohmann::json j = nlohmann::json::parse(train::to_json(*result).dump());
    post(proto::make(Type::kResult, {{"trial", trial}, {"attempt", attempt}, {"result", j}}));
    fs::remove_all(dir, ec);
  }

  void upload(const std::string& trial, int64_t attempt, const std::string& kind, const std::string& bytes) {
    const auto parts = proto::chunk(bytes);
    for (size_t i = 0; i < parts.size(); ++i)
      post(proto::make(Type::kUpload, {{"trial", trial}, {"attempt", attempt}, {"kind", kind}, {"chunk", i},
                                        {"chunks", parts.size()}, {"size", bytes.size()}},
                       parts[i]));
  }

  void connect() {
    socket.emplace(context, zmq::socket_type::dealer);
    socket->set(zmq::sockopt::routing_id, options.name);
    socket->set(zmq::sockopt::linger, 0);
    socket->set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(proto::kMaxPayloadBytes + proto::kMaxHeaderBytes));
    if (options.curve) {
      socket->set(zmq::sockopt::curve_serverkey, options.curve->server_key);
      socket->set(zmq::sockopt::curve_publickey, options.curve->public_key);
      socket->set(zmq::sockopt::curve_secretkey, options.curve->secret_key);
    }
    socket->connect(options.connect);
    send_hello();
  }

  void send_hello() {
    nlohmann::json held = nlohmann::json::array();
    {
      std::lock_guard<std::mutex> lock(mu);
      for (auto& [t, r] : running)
        if (!r->finished) held.push_back({{"trial", t}, {"attempt", r->attempt}});
    }
    char host[256] = "unknown";
    gethostname(host, sizeof host - 1);
    send(proto::make(Type::kHello, {{"worker", options.name}, {"host", host}, {"pid", static_cast<int64_t>(getpid())},
                                    {"devices", {options.device}}, {"threads", options.threads},
                                    {"slots", options.slots}, {"running", held}}));
  }

  bool send(const proto::Message& m) { return proto::send_frames(*socket, proto::encode(m)); }

  int free_slots() {
    std::lock_guard<std::mutex> lock(mu);
    int busy = 0;
    for (auto& [t, r] : running) busy += !r->finished;
    return options.slots - busy;
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
      case Type::kWelcome:
        welcomed = true;  // the loop announces the free slots next, once
        break;
      case Type::kAssign: {
        const std::string trial = m.header["trial"];
        if (m.header["spec"].value("kind", "") == "noop") {
          // Nothing to train (coordinator benchmarks): answer at once, on this thread.
          send(proto::make(Type::kResult, {{"trial", trial}, {"attempt", m.header["attempt"]},
                                           {"result", {{"top1", 0.0}, {"noop", true}}}}));
          send(proto::make(Type::kReady, {{"slots", std::max(0, free_slots())}}));
          break;
        }
        auto r = std::make_unique<Running>();
        r->trial = trial;
        r->attempt = m.header["attempt"];
        r->resume_from_checkpoint = m.header["checkpoint"].get<bool>();
        Running* raw = r.get();
        log("trial " + trial.substr(0, 12) + " assigned (attempt " + std::to_string(raw->attempt) + ")");
        std::lock_guard<std::mutex> lock(mu);
        running[trial] = std::move(r);
        raw->thread = std::thread([this, raw, spec = m.header["spec"]] {
          try {
            train_trial(raw, spec);
          } catch (const std::exception& e) {
            post(proto::make(Type::kFailed, {{"trial", raw->trial}, {"attempt", raw->attempt},
                                             {"reason", std::string("worker error: ") + e.what()}, {"retryable", true}}));
          }
          std::lock_guard<std::mutex> done_lock(mu);
          raw->finished = true;
        });
        break;
      }
      case Type::kArtifact: {
        std::lock_guard<std::mutex> lock(mu);
        auto it = fetches.find({m.header["trial"], m.header["kind"]});
        if (it == fetches.end()) break;
        if (!m.header["found"].get<bool>()) {
          it->second->done.set_value(std::nullopt);
          fetches.erase(it);
          break;
        }
        it->second->parts.push_back(m.payload);
        if (static_cast<int64_t>(it->second->parts.size()) == m.header["chunks"].get<int64_t>()) {
          std::string bytes;
          for (auto& p : it->second->parts) bytes += p;
          it->second->done.set_value(std::move(bytes));
          fetches.erase(it);
        }
        break;
      }
      case Type::kCancel: {
        std::lock_guard<std::mutex> lock(mu);
        if (auto it = running.find(m.header["trial"]); it != running.end()) it->second->stop = true;
        log("trial " + m.header["trial"].get<std::string>().substr(0, 12) + " cancelled by the coordinator");
        break;
      }
      case Type::kShutdown:
        if (m.header.value("rejoin", false)) {
          // A restarted coordinator that does not know us yet: introduce ourselves again.
          log("coordinator asks to rejoin: sending HELLO");
          welcomed = false;
          send_hello();
          break;
        }
        log("coordinator says: " + m.header["reason"].get<std::string>());
        shutdown = true;
        break;
      default:
        break;
    }
  }

  Status run() {
    int backoff = proto::kReconnectMinMs;
    bool shutdown = false;
    while (!stop.load() && !shutdown) {
      connect();
      bool welcomed = false;
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
          last_heard = now_ms();
          if (!m.ok()) {
            log("ignored a message: " + m.status().message());
            continue;
          }
          on_message(*m, welcomed, shutdown);
        }
        // What the trial threads produced, and their artifact requests.
        std::deque<proto::Message> out;
        std::deque<std::pair<std::string, std::string>> requests;
        {
          std::lock_guard<std::mutex> lock(mu);
          out.swap(outbox);
          requests.swap(fetch_requests);
        }
        for (const auto& [trial, kind] : requests) send(proto::make(Type::kFetch, {{"trial", trial}, {"kind", kind}}));
        for (const auto& m : out) send(m);
        if (!out.empty() || !requests.empty()) last_sent = now_ms();
        reap();
        const int free = free_slots();
        if (welcomed && free != last_ready && free > 0) {
          send(proto::make(Type::kReady, {{"slots", free}}));
          last_ready = free;
        } else if (free <= 0) {
          last_ready = free;
        }
        const int64_t now = now_ms();
        if (now - last_sent >= options.heartbeat_ms) {
          send(proto::make(Type::kHeartbeat));
          last_sent = now;
        }
        if (now - last_heard > int64_t{options.liveness} * options.heartbeat_ms) {
          log("coordinator silent for " + std::to_string((now - last_heard) / 1000) + " s; reconnecting in " +
              std::to_string(backoff / 1000) + " s");
          break;
        }
        if (welcomed) backoff = proto::kReconnectMinMs;
      }
      if (shutdown || stop.load()) break;
      socket->close();
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
      send(proto::make(Type::kBye));
      socket->close();
    }
    if (owns_scratch) {
      std::error_code ec;
      fs::remove_all(options.scratch, ec);
    }
    return Status();
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
  if (options.slots < 1) options.slots = 1;
  impl_ = std::make_unique<Impl>(context, std::move(options), stop_);
  impl_->owns_scratch = temp_scratch;
}

Worker::~Worker() = default;

Status Worker::run() { return impl_->run(); }

}  // namespace deepreduce::worker
