// The experiment store: the truth from which a coordinator rebuilds everything.
//
// Contract (every implementation; tests/storage/store_test.cpp checks it):
//  - Atomicity: each mutating call is all-or-nothing. A trial's state change,
//    its index entry, its result or artifact (when the call carries one) and its
//    event are written in one batch.
//  - Durability: with Durability::kSync (the default) a call returns only once
//    its batch is on stable storage (fsync of the WAL). With kGroupCommit calls
//    return once written to the OS, and sync() is the durability point for every
//    call before it: a crash may lose calls after the last sync(), never half of one.
//  - Transitions follow storage/trial.h's table; an illegal one is
//    FailedPrecondition and writes nothing. A done trial is immutable.
//  - Events carry gap-free sequence numbers 1, 2, 3, ... in commit order.
//  - Artifacts (models, checkpoints: up to gigabytes) live as files in the
//    store's artifacts/ folder, written and fsynced before the batch that
//    names them (size, BLAKE2b-256) commits, so they never pass through the
//    WAL nor get rewritten by compaction. One version per (trial, kind): a
//    replaced file is removed once its successor is committed, and files no
//    record names (a crash between the two) are removed on open. Every read
//    is verified: a damaged artifact is Corruption, never bytes.
//  - Creation is atomic: a store is built in a sibling temp folder and renamed
//    into place complete, so a kill leaves no store or a whole one.
//  - A full disk is an IOError naming the store and what it was writing;
//    nothing committed before it is lost.
//  - Damage is said, never rolled back in silence: a done trial's result is
//    also copied beside its artifacts (artifacts/<id>.result.<seq>.json, with
//    its record and its artifacts' digests), written before the batch that
//    makes it done. Opening a store whose records end before results it had
//    stored, whose log is damaged before its end, or whose manifest or
//    CURRENT file is damaged or missing is Corruption naming the damage and
//    `deepreduce repair` (storage/recovery.h), and changes nothing.
//  - Thread safety: every method may be called from any thread.
//  - Ownership: the store owns its database; values returned are copies.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/lifecycle.h"
#include "storage/trial.h"

namespace rocksdb {
class Env;
}

namespace deepreduce::storage {

// 2: trial specs carry train.horizon and model.widths (their ids changed).
// 3: a trial's id no longer hashes where its data lives; specs carry their
//    role and phase.
// 4: experiments keep their parsed config as canonical JSON, and the
//    strategies' decisions are records (reports read both, never YAML).
// `deepreduce migrate` brings a version-2 or 3 store to this one.
constexpr int64_t kSchemaVersion = 4;


struct Experiment {
  std::string name;
  std::string config_yaml;  // verbatim, the latest text given
  std::string strategy;
  int64_t created_ms = 0;
  int64_t schema_version = kSchemaVersion;
  // What the config defines, without where its data lives (a digest the
  // caller computes): the same experiment run again with its dataset
  // elsewhere is the same experiment. "" compares the texts.
  std::string definition;
  // The parsed config as canonical JSON (search::to_json(SweepConfig)); null
  // for a trial list. Reports and `migrate` read this, never the YAML.
  nlohmann::json config = nullptr;
  // 1, then one more each time the experiment is run with a config that
  // defines other trials (a revision; search/revise.h keeps what it still plans).
  int64_t revision = 1;
};

// A decision a strategy made (a criticality ranking, the phases it opened),
// one value per key and experiment; replaced when the strategy decides again.
struct DecisionRecord {
  std::string key;
  nlohmann::json value;
  std::string why;
  int64_t time_ms = 0;  // when it was stored (set by the store)
};

struct Event {
  uint64_t seq = 0;
  int64_t time_ms = 0;
  std::string type;   // trial_created, leased, released, progress, done, failed, cancelled, unblocked,
                      // worker_joined, worker_lost, ...
  std::string trial;  // "" for events about workers
  std::string worker;
  nlohmann::json detail = nullptr;
};

enum class Durability { kSync, kGroupCommit };

// What the coordinator last knew of a worker: it works; it was told to stop
// because its surroundings fail (quarantined); it left or was lost, or the
// coordinator stopped (gone).
enum class WorkerState { kActive, kQuarantined, kGone };
inline constexpr EnumName<WorkerState> kWorkerStateNames[] = {
    {WorkerState::kActive, "active"}, {WorkerState::kQuarantined, "quarantined"}, {WorkerState::kGone, "gone"}};

// A worker as the coordinator last saw it (status shows these).
struct WorkerRecord {
  std::string name;
  std::string host;
  WorkerState state = WorkerState::kActive;
  std::string reason;  // quarantined/lost: why
  nlohmann::json devices = nlohmann::json::array();
  int64_t updated_ms = 0;
};

struct NewTrial {
  spec::TrialSpec spec;
};

struct AddResult {
  std::string id;
  bool created = false;  // false: the trial existed already and was left as it is
  TrialState state = TrialState::kPending;
};

class Store {
 public:
  virtual ~Store() = default;

  // --- experiments
  // Creates or, for an existing name, updates an experiment. The same
  // definition (digest; without digests, the same text) in another text (a
  // new dataset path, a comment) replaces the stored text; another definition
  // is a revision: revision + 1, the new config and strategy stored.
  virtual Status put_experiment(const Experiment& e) = 0;
  virtual Result<std::optional<Experiment>> get_experiment(const std::string& name) = 0;
  virtual Result<std::vector<Experiment>> list_experiments() = 0;

  // --- decisions
  // Stores each decision that is new or changed (with a `decided` event);
  // unchanged ones write nothing. All in one batch.
  virtual Status put_decisions(const std::string& experiment, const std::vector<DecisionRecord>& decisions) = 0;
  virtual Result<std::vector<DecisionRecord>> list_decisions(const std::string& experiment) = 0;

  // --- trials
  // Adds trials idempotently: an existing id keeps its state and result; of an
  // unfinished one only where its data is read from (job.data.data_dir) is
  // updated, and a role or phase it lacks is filled in. A new trial is
  // blocked while any dependency is not done (failed if one has failed),
  // pending otherwise. Dependencies must exist already or be earlier in `trials`.
  virtual Result<std::vector<AddResult>> add_trials(const std::string& experiment,
                                                    const std::vector<spec::TrialSpec>& trials) = 0;
  virtual Result<TrialRecord> get_trial(const std::string& id) = 0;
  // Sets the role and phase a trial's experiment gives it (not part of its id).
  virtual Status set_role(const std::string& id, spec::Role role, spec::Role phase) = 0;
  // All trials, or those in one state, in id order.
  virtual Result<std::vector<TrialRecord>> list_trials(std::optional<TrialState> state = std::nullopt) = 0;
  virtual Result<std::vector<std::pair<TrialState, int64_t>>> count_by_state() = 0;
  // Trials per role ("" for trials without one), from the state index alone:
  // no record is read.
  virtual Result<std::map<std::string, int64_t>> count_by_role() = 0;
  // Up to `limit` ids of trials in `state`, in id order, from the state index
  // alone (cheap: no record is read).
  virtual Result<std::vector<std::string>> trial_ids(TrialState state, size_t limit) = 0;

  // pending -> leased by `worker` until `deadline_ms` under the token `lease`; attempt + 1.
  virtual Result<TrialRecord> lease(const std::string& id, const std::string& worker, int64_t deadline_ms,
                                    const std::string& lease) = 0;
  // Extends a lease held by `worker` at `attempt`; FailedPrecondition otherwise.
  virtual Status renew(const std::string& id, const std::string& worker, int64_t attempt, int64_t deadline_ms) = 0;
  // leased -> pending (worker lost, lease expired, handed back, failed), recording
  // why and charging `cause`'s counter; leased -> failed instead when that
  // counter reaches its limit.
  virtual Result<TrialRecord> release(const std::string& id, const std::string& reason, ReleaseCause cause,
                                      const AttemptLimits& limits) = 0;
  // Stores the last progress report of a leased trial (and a progress event).
  virtual Status record_progress(const std::string& id, const std::string& worker, const nlohmann::json& progress) = 0;
  // leased -> done with its result, optional final weights and other
  // artifacts it made (a mask phase's "mask"), in one batch, only from the
  // live lease (worker, attempt and token); anything else is
  // FailedPrecondition ("already done" on a done trial) and changes nothing.
  virtual Status complete(const std::string& id, const std::string& worker, int64_t attempt, const std::string& lease,
                          const nlohmann::json& result, const std::optional<std::string>& weights,
                          const std::map<spec::ArtifactKind, std::string>& more = {}) = 0;
  // leased -> failed (a failure that retrying cannot fix, e.g. a bad config).
  virtual Status fail(const std::string& id, const std::string& reason) = 0;
  // pending, blocked, leased or failed -> cancelled; `reason` joins its reasons.
  virtual Status cancel(const std::string& id, const std::string& reason) = 0;
  // An artifact of done trial `id` failed verification: done -> damaged with
  // `reason`, and on to pending (blocked while a dependency of its own is not
  // done) when `retrain`; every pending trial that depends on it goes back to
  // blocked (leased ones are the caller's: release them first). Returns the
  // dependents it blocked.
  virtual Result<std::vector<std::string>> damage(const std::string& id, const std::string& reason, bool retrain) = 0;
  // damaged -> pending (or blocked): `deepreduce repair`.
  virtual Status retrain(const std::string& id, const std::string& why) = 0;
  // Marks a done trial as no longer planned (TrialRecord::retired), or as
  // planned again with why = "". Its state, result and artifacts are unchanged.
  virtual Status set_retired(const std::string& id, const std::string& why) = 0;
  // failed/cancelled -> pending, or blocked while a dependency is not done (the
  // user asks again); its charged and lost counts start over.
  // `why` joins its reasons ("retried by the user").
  virtual Status retry(const std::string& id, const std::string& why) = 0;
  // Moves every blocked trial whose dependencies are done to pending, and to
  // failed those with a failed dependency; returns the ids that changed.
  virtual Result<std::vector<std::string>> unblock_ready() = 0;

  // --- results and artifacts
  virtual Result<std::optional<nlohmann::json>> get_result(const std::string& id) = 0;
  // kind: kModel (final weights), kCheckpoint (latest) or kMask (a learned
  // ReLU mask, spec/relu_mask.h); replaces the old one.
  // Results and artifacts are stored by the coordinator, which checks the
  // trial id's form before (it names a file).
  virtual Status put_artifact(const std::string& id, spec::ArtifactKind kind, const std::string& bytes) = 0;
  virtual Result<std::optional<std::string>> get_artifact(const std::string& id, spec::ArtifactKind kind) = 0;
  // Whether an artifact is stored (its record only: cheap, not verified).
  virtual Result<bool> has_artifact(const std::string& id, spec::ArtifactKind kind) = 0;
  // A trial's stored artifacts, kind -> BLAKE2b-256 (records only: cheap, not verified).
  virtual Result<std::map<spec::ArtifactKind, std::string>> artifact_digests(const std::string& id) = 0;
  // Removes an artifact (its record, then its file); absent is not an error.
  virtual Status remove_artifact(const std::string& id, spec::ArtifactKind kind) = 0;

  // --- workers
  virtual Status put_worker(const WorkerRecord& w) = 0;
  virtual Result<std::vector<WorkerRecord>> list_workers() = 0;

  // --- events
  virtual Status append_event(const Event& e) = 0;  // seq and time are assigned
  virtual Result<std::vector<Event>> events(uint64_t after_seq, size_t limit) = 0;
  virtual uint64_t last_seq() = 0;

  // The durability point of kGroupCommit (a no-op cost under kSync).
  virtual Status sync() = 0;

  // --- damage (storage/recovery.h repairs a damaged store)
  // Reads every block of the records' table files against its checksum
  // (RocksDB's VerifyChecksum); Corruption names the file.
  virtual Status verify_records() = 0;
  // A checkpoint of the records (RocksDB's: hard links, cheap) in
  // STORE/checkpoints/, keeping the newest `keep`; returns its folder.
  // Artifacts are not copied: they are files the records name.
  virtual Result<std::string> checkpoint(int keep) = 0;
  // Every trial whose result copy and artifacts are whole on disk (sizes and
  // BLAKE2b checked) but whose records do not say it is done: made done again
  // with its result and artifacts, recreated from its copy if its record is
  // gone. Returns the ids, in id order; copies that do not verify are listed
  // in `unusable` with why.
  struct Readopted {
    std::vector<std::string> trials;
    std::vector<std::pair<std::string, std::string>> unusable;  // file, why
    uint64_t newest_result_seq = 0;  // the event number of the newest result on disk
  };
  virtual Result<Readopted> readopt() = 0;
};

struct StoreOptions {
  Durability durability = Durability::kSync;
  bool read_only = false;       // open beside a running coordinator, for status/export/report
  bool create_if_missing = true;
  // Also open a store of this older schema version (for `migrate`, which
  // reads one); 0: only kSchemaVersion.
  int64_t accept_schema = 0;
  // The filesystem seam: every file of the store (RocksDB's and the
  // artifacts) is read and written through this RocksDB Env, not owned;
  // nullptr is the real filesystem. Tests pass one that runs out of space
  // (tests/storage/quota_env.h). Through another Env a store is created in
  // place (the atomic rename of its folder is the real filesystem's).
  rocksdb::Env* env = nullptr;
  // `deepreduce repair` only: open a store whose records lost results it had
  // stored (the open-time check is skipped: readopt() brings them back).
  bool recovering = false;
};

// Opens (or creates) a RocksDB store in `path`. A store of another schema
// version, a missing column family or a corrupt record is an error naming it.
Result<std::unique_ptr<Store>> open_store(const std::string& path, const StoreOptions& options = {});

// A store held in memory: the same RocksDB store over RocksDB's in-memory
// filesystem (records and artifacts), gone when the returned object is. For
// tests and dry runs; it passes the same contract suite (tests/storage/store_test.cpp).
Result<std::unique_ptr<Store>> open_memory_store(const StoreOptions& options = {});

// The schema version of the store in `path` (read-only, cheap).
Result<int64_t> store_schema_version(const std::string& path);

}  // namespace deepreduce::storage
