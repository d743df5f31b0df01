// The coordinator: owns the store, dispatches ready trials to workers over a
// ZeroMQ ROUTER socket, keeps leases alive with heartbeats, moves artifacts.
//
// It keeps nothing it cannot rebuild from the store: worker sessions and lease
// deadlines live in memory and are rebuilt on restart (leased trials get a
// grace period for their workers to come back and claim them). Replies that
// acknowledge a state change (ASSIGN after a lease, ...) are sent only after the
// store's sync(), once per loop iteration (group commit).
//
// Thread safety: run() on one thread; request_stop() from any thread or a
// signal handler.
#pragma once

#include <atomic>
#include <functional>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/log.h"
#include "common/status.h"
#include "protocol/protocol.h"
#include "storage/store.h"

namespace deepreduce::coordinator {

struct CurveServer {
  std::string secret_key;                  // Z85
  std::vector<std::string> allowed_keys;   // Z85 public keys of workers allowed in
};

struct CoordinatorOptions {
  std::string bind = "tcp://*:5555";
  int heartbeat_ms = protocol::kHeartbeatIntervalMs;
  int liveness = protocol::kHeartbeatLiveness;
  int max_attempts = 3;         // failures of a trial itself before it fails
  int max_lost = 10;            // workers lost while training one trial before it fails
  // After a restart, how long a leased trial waits for its worker to come
  // back and claim it (workers retry with backoff up to 32 s). Expiring then
  // is not the trial's fault: it goes back to pending uncharged.
  int restart_grace_ms = protocol::kReconnectMaxMs + 4 * protocol::kHeartbeatIntervalMs;
  // A worker whose trials fail this many times in a row with the same error
  // is quarantined (no more work; it is told why and status shows it). Errors
  // of its surroundings (data, device) quarantine after 2.
  int quarantine_after = 3;
  // `run`: the local workers that exist. Once all are quarantined, run() ends
  // with the reason instead of waiting for workers that cannot come.
  int local_workers = 0;
  bool exit_when_done = true;   // return once no trial is blocked, pending or leased
  int drain_ms = 3000;          // after a stop: how long to wait for workers to hand back
  // A store that cannot take results (a full disk): dispatch pauses (said
  // every minute) and resumes when a result is stored again; after this long
  // without one, run() ends with the store's message.
  int64_t store_give_up_ms = 10 * 60 * 1000;
  // A checkpoint of the store's records (hard links: cheap) this often, the
  // newest `checkpoints_kept` kept: what `deepreduce repair --from-checkpoint`
  // restores when a disk damages the records. 0: none.
  int64_t checkpoint_every_ms = 10 * 60 * 1000;
  int checkpoints_kept = 3;
  std::optional<CurveServer> curve;
  Log log;  // one line per event worth telling a person
  // Called once bound, with the endpoint bound (the real port of "tcp://*:*").
  std::function<void(const std::string&)> on_bound;
  // The search strategy's turn (adaptive strategies): called on start, then
  // after trials finished or failed on a thread of its own, so that a strategy
  // slow on a large store never delays heartbeats, results or dispatch (one
  // call at a time; the experiment is not complete while one is due). It adds
  // the trials the strategy now wants to the store (idempotently) and returns
  // how many were new; it must only use the (thread-safe) store. Unset: the
  // experiment is the fixed set of trials already stored.
  std::function<Result<int64_t>()> expand;
};

struct CoordinatorStats {
  int64_t assigned = 0, results = 0, failures = 0, released = 0, rejected_messages = 0;
  int64_t refused = 0;  // well-formed messages about a lease the sender does not hold
  int64_t unsent = 0;   // replies to peers that were gone
  int64_t workers_joined = 0, workers_lost = 0, quarantined = 0;
};

class Coordinator {
 public:
  Coordinator(zmq::context_t& context, storage::Store& store, CoordinatorOptions options);
  ~Coordinator();

  // Binds (the ZAP handler first, with CURVE) and serves until the experiment
  // is complete (exit_when_done) or a stop is requested. An error: the store
  // failed (a full disk, ...) or every local worker is quarantined.
  Status run();
  void request_stop() { stop_.store(true); }
  const CoordinatorStats& stats() const { return stats_; }

 private:
  struct Lease {
    int64_t attempt = 0;
    std::string token;
  };
  struct Upload {
    int64_t attempt = 0, size = 0, chunks = 0;
    std::string lease;
    std::string bytes;
    int64_t next_chunk = 0;
  };
  struct WorkerSession {
    std::string name, host;
    int64_t last_seen_ms = 0;
    int free_slots = 0;  // as the worker's last READY (or HELLO) said
    int capacity = 1;    // slots announced in HELLO: never more trials than this at once
    std::map<std::string, Lease> running;  // trial id -> the lease it holds
    std::map<std::pair<std::string, spec::ArtifactKind>, Upload> uploads;  // (trial, kind) -> bytes so far
    std::map<std::string, std::string> models;  // trial -> a complete model upload awaiting its RESULT
    std::map<std::string, std::string> masks;   // trial -> a complete mask upload awaiting its RESULT
    std::string last_error;  // the streak of identical failures, for quarantine
    int error_streak = 0;
    std::string quarantined;  // why, when it gets no more work
  };
  struct Outgoing {
    std::string identity;
    protocol::Message message;
  };

  Status recover();
  Status expand();
  // The strategy's turn, off the loop that answers workers: started on its own
  // thread when results arrived (at most one at a time, no sooner than its
  // last duration after the previous one), collected when done.
  Status expand_in_background(int64_t now);
  Status finish_expansion();
  void handle(const std::string& identity, const std::vector<std::string>& frames);
  void on_hello(const std::string& identity, const protocol::Message& m);
  void on_progress(WorkerSession& w, const protocol::Message& m);
  void on_upload(WorkerSession& w, const protocol::Message& m);
  void on_result(const std::string& identity, WorkerSession& w, const protocol::Message& m);
  void on_failed(const std::string& identity, WorkerSession& w, const protocol::Message& m);
  void on_fetch(const std::string& identity, WorkerSession& w, const protocol::Message& m);
  // An artifact of done trial `trial` failed verification when served: the
  // trial is damaged (trained again while its attempts allow); what needs it waits.
  void damaged(const std::string& trial, spec::ArtifactKind kind, const std::string& why);
  void lose_worker(const std::string& identity, const std::string& reason, storage::ReleaseCause cause);
  // An experiment line (done/total, running, failures, ETA) at most every 30 s, or now.
  void maybe_log_experiment(bool now = false);
  void note_failure(const std::string& identity, WorkerSession& w, const std::string& reason, bool environment);
  void tick(int64_t now);
  void dispatch();
  // The teacher's weights and the base's checkpoint or weights a trial starts from are stored.
  bool inputs_available(const std::string& trial);
  bool experiment_complete();
  void send(const std::string& identity, protocol::Message m) { outbox_.push_back({identity, std::move(m)}); }
  void flush();
  void log(const std::string& line);
  void log(LogLevel level, const std::string& line);
  // Records dispatch as running again (why) in the experiments marked paused
  // for status and the live page (storage::dispatch_decision).
  void unpause(const std::string& why);
  // Refuses (counts, logs a few) a message about a lease the sender does not hold.
  void refuse(const WorkerSession& w, const protocol::Message& m, const std::string& why);
  // Whether the store's record of `trial` is leased to `worker` at `attempt` under `lease`.
  bool live_lease(const std::string& trial, const std::string& worker, int64_t attempt, const std::string& lease);
  // Whether `w` holds the live lease (trial, attempt, token), in its session and in the store.
  bool holds(const WorkerSession& w, const std::string& trial, int64_t attempt, const std::string& lease);
  void release(const std::string& trial, const std::string& reason, storage::ReleaseCause cause);
  storage::AttemptLimits limits() const {
    return {options_.max_attempts, options_.max_lost};
  }

  zmq::context_t& context_;
  storage::Store& store_;
  CoordinatorOptions options_;
  std::optional<zmq::socket_t> router_;
  std::atomic<bool> stop_{false};
  std::map<std::string, WorkerSession> workers_;  // by routing id
  // Leases from before a restart that no session holds yet: their worker may
  // come back for them until the deadline (unix ms).
  struct RecoveredLease {
    int64_t deadline;
    std::string worker;
  };
  std::map<std::string, RecoveredLease> lease_deadline_;  // by trial
  std::set<std::string> quarantined_names_;
  std::set<std::string> waiting_logged_;  // trials said to wait for their inputs
  double epoch_seconds_ = 0;  // measured epochs so far, for the ETA
  int64_t epochs_seen_ = 0;
  int64_t last_experiment_line_ms_ = 0;
  int64_t last_checkpoint_ms_ = 0;  // 0: none yet (the first comes one interval after the start)
  std::string quarantine_reason_;  // the last one, for run()'s error once every local worker is out
  std::vector<Outgoing> outbox_;
  CoordinatorStats stats_;
  bool draining_ = false;
  bool results_since_unblock_ = false;
  bool expand_wanted_ = false;
  std::set<std::string> version_told_;  // peers of another version already told so
  int64_t store_failing_since_ms_ = 0;  // the first result the store refused, 0 while it takes them
  int64_t store_failure_logged_ms_ = 0;
  std::string store_failure_;             // why the store refused the last result
  std::set<std::string> paused_experiments_;  // marked paused (their results could not be stored)
  std::optional<std::future<Result<int64_t>>> expanding_;
  int64_t expansion_started_ms_ = 0, expansion_ready_ms_ = 0;  // the next may start at expansion_ready_ms_
  int64_t last_tick_ = 0;
  std::string zap_endpoint_;
  std::atomic<bool> zap_stop_{false};
  std::optional<std::thread> zap_thread_;
};

}  // namespace deepreduce::coordinator
