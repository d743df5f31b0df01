// A worker: a ZeroMQ DEALER that announces itself, takes trials, trains them on
// their own threads, streams progress and checkpoints, and returns results.
//
// It keeps heartbeating while trials train; when the coordinator falls silent
// for kHeartbeatLiveness intervals it reconnects with exponential backoff
// (1 s up to 32 s) and, in its HELLO, lists the trials it still holds so a
// restarted coordinator can let it finish them.
//
// Thread safety: run() on one thread (it owns the socket); request_stop() from
// any thread or a signal handler.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/log.h"
#include "common/status.h"

namespace deepreduce::worker {

struct CurveClient {
  std::string public_key, secret_key;  // this worker's pair (Z85)
  std::string server_key;              // the coordinator's public key
};

struct WorkerOptions {
  std::string connect = "tcp://127.0.0.1:5555";
  // A file holding the coordinator's address (written by `coordinator
  // --address-file`), read before every (re)connect: a coordinator that comes
  // back elsewhere (a requeued Slurm job) is found again. Overrides connect.
  std::string connect_file;
  // Without the coordinator for this long (never reached, or gone), run()
  // returns an error naming the address. 0: never.
  int64_t give_up_after_ms = 10 * 60 * 1000;
  std::string name;              // default: host:pid
  // Where trials train: "cpu", "cuda", "cuda:N", or a comma-separated list
  // of CUDA devices ("cuda:0,cuda:1"); each trial goes to the device with the
  // fewest trials.
  std::string device = "cpu";
  int threads = 0;               // per trial; 0 = every core / slots
  int slots = 1;                 // trials trained at once, over all devices
  // When > 0: trials per device (slots = devices x this). Small networks leave
  // most of a GPU idle; several trials on one raise its throughput.
  int slots_per_device = 0;
  std::string data_root;         // overrides the trials' data_dir ("" = use theirs)
  std::string scratch;           // where trials train (default: a temp folder)
  int checkpoint_every = 1;      // send a checkpoint every K epochs
  int heartbeat_ms = 1000;
  int liveness = 3;
  bool exit_on_shutdown = true;  // SHUTDOWN from the coordinator ends run()
  // A coordinator that stops (preempted, requeued) does not end run(): the
  // worker hands its trials back and waits for it (--give-up-after still
  // applies). Only a complete experiment or a quarantine ends it.
  bool outlive_coordinator = false;
  std::optional<CurveClient> curve;
  Log log;
};

// "cuda:0, cuda:1" -> {"cuda:0", "cuda:1"}: a --device value as a list, in
// order, blanks and empty items dropped.
std::vector<std::string> device_list(const std::string& devices);

class Worker {
 public:
  Worker(zmq::context_t& context, WorkerOptions options);
  ~Worker();
  // Serves until SHUTDOWN (exit_on_shutdown) or request_stop().
  Status run();
  void request_stop() { stop_.store(true); }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> stop_{false};
};

}  // namespace deepreduce::worker
