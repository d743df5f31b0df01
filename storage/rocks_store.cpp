// The RocksDB implementation of Store: one column family per kind of record.
//
//   default      schema_version
//   experiments  name -> Experiment JSON
//   trials       id -> TrialRecord JSON
//   trial_index  "<state>/<id>" -> role (find pending trials without a scan; count roles)
//   results      id -> result JSON
//   artifacts    "<id>/<kind>/meta" -> {size, blake2b, file}  (the bytes: artifacts/<file>)
//                (stores written before artifact files: "<id>/<kind>/<chunk:08>" -> bytes, still read)
//   events       8-byte big-endian seq -> Event JSON
//   workers      name -> WorkerRecord JSON
//   decisions    "<experiment>\0<key>" -> DecisionRecord JSON
//
// A mutex serialises read-modify-write calls; each builds one WriteBatch that
// holds every record the call changes plus its event, written with sync=true
// under Durability::kSync.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <functional>
#include <map>
#include <unordered_map>
#include <mutex>
#include <set>

#include "common/digest.h"
#include "storage/store.h"

namespace deepreduce::storage {
namespace {

constexpr const char* kFamilies[] = {"experiments", "trials", "trial_index", "results", "artifacts", "events", "workers",
                                     "decisions"};
// Families a store of this schema may lack (written by an earlier build): added on a writable open.
bool optional_family(const std::string& f) { return f == "workers" || f == "decisions"; }
constexpr const char* kArtifactDir = "artifacts";
constexpr size_t kChunkBytes = 1 << 20;
constexpr const char* kSchemaKey = "schema_version";

std::string be64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i, v >>= 8) s[i] = static_cast<char>(v & 0xff);
  return s;
}

uint64_t from_be64(const rocksdb::Slice& s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < s.size(); ++i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return v;
}


bool disk_full(const std::string& message) {
  return message.find("No space left") != std::string::npos || message.find("ENOSPC") != std::string::npos ||
         message.find("NoSpace") != std::string::npos || message.find("Disk quota exceeded") != std::string::npos;
}

// SyncWAL, where the filesystem has one: RocksDB's in-memory filesystem
// (open_memory_store) does not, and has nothing to make durable.
rocksdb::Status sync_wal(rocksdb::DB* db) {
  rocksdb::Status s = db->SyncWAL();
  return s.IsNotSupported() ? rocksdb::Status::OK() : s;
}

Status from_rocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status();
  if (s.IsNoSpace() || disk_full(s.ToString()))
    return Status::io_error(what + ": the disk is full (" + s.ToString() +
                            "); free space and start again: everything committed before is kept");
  if (s.IsNotFound()) return Status::not_found(what + ": " + s.ToString());
  if (s.IsCorruption()) return Status::corruption(what + ": " + s.ToString());
  if (s.IsIOError()) return Status::io_error(what + ": " + s.ToString());
  return Status::unavailable(what + ": " + s.ToString());
}

nlohmann::json event_json(const Event& e) {
  return {{"seq", e.seq}, {"time_ms", e.time_ms}, {"type", e.type}, {"trial", e.trial}, {"worker", e.worker},
          {"detail", e.detail}};
}

nlohmann::json experiment_json(const Experiment& e) {
  return {{"name", e.name},         {"config_yaml", e.config_yaml},       {"strategy", e.strategy},
          {"created_ms", e.created_ms}, {"schema_version", e.schema_version}, {"definition", e.definition},
          {"config", e.config},         {"revision", e.revision}};
}

class RocksStore final : public Store {
 public:
  RocksStore(std::string path, StoreOptions options, std::unique_ptr<rocksdb::Env> owned_env = nullptr)
      : path_(std::move(path)),
        options_(options),
        owned_env_(std::move(owned_env)),
        env_(owned_env_ ? owned_env_.get() : options.env ? options.env : rocksdb::Env::Default()) {}

  ~RocksStore() override {
    if (db_) {
      // After a failed write RocksDB holds a background error: syncing or
      // closing then trips an assertion in Debian's build (an abort instead of
      // the message already given). What was committed before is durable
      // either way, so the DB is left to the process's end.
      if (!write_failure_.empty()) {
        (void)db_.release();
        return;
      }
      if (!options_.read_only) sync_wal(db_.get());
      for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
      db_->Close();
    }
  }

  Status open() {
    if (!env_->FileExists(path_ + "/CURRENT").ok()) {
      if (options_.read_only || !options_.create_if_missing) return Status::not_found(path_ + ": no deepreduce store here");
      DR_RETURN_IF_ERROR(env_ == rocksdb::Env::Default() ? create() : create_in_place());
    }
    // Opening for writing writes (a new log, a new manifest).
    if (!options_.read_only)
      DR_RETURN_IF_ERROR(room_in(path_, "opening the store for writing", "",
                                 " (free space and start again: everything stored is kept)"));
    rocksdb::DBOptions db_options = base_options();
    std::vector<std::string> present;
    auto s = rocksdb::DB::ListColumnFamilies(db_options, path_, &present);
    if (!s.ok()) return from_rocks(s, path_);
    std::set<std::string> have(present.begin(), present.end());
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
    std::vector<std::string> opened;
    for (const char* f : kFamilies) {
      if (!have.count(f)) {
        if (!optional_family(f))
          return Status::corruption(path_ + ": not a complete deepreduce store: column family \"" + std::string(f) +
                                    "\" is missing");
        if (options_.read_only) continue;  // an earlier build's store: read as if empty
        db_options.create_missing_column_families = true;
      }
      descriptors.emplace_back(f, rocksdb::ColumnFamilyOptions());
      opened.push_back(f);
    }
    rocksdb::DB* db = nullptr;
    s = options_.read_only ? rocksdb::DB::OpenForReadOnly(db_options, path_, descriptors, &handles_, &db)
                           : rocksdb::DB::Open(db_options, path_, descriptors, &handles_, &db);
    if (!s.ok()) {
      if (s.IsIOError() && s.ToString().find("lock") != std::string::npos)
        return Status::unavailable(path_ + ": the store is in use by another process (a run or a coordinator "
                                   "holds it); stop that one first, or read it beside it with status, export or "
                                   "report");
      return from_rocks(s, path_);
    }
    db_.reset(db);
    for (size_t i = 0; i < opened.size(); ++i) cf_[opened[i]] = handles_[i + 1];

    std::string version;
    s = db_->Get(rocksdb::ReadOptions(), handles_[0], kSchemaKey, &version);
    if (s.IsNotFound()) {
      return Status::corruption(path_ + ": not a complete deepreduce store (no schema version: its creation by an "
                                "earlier deepreduce was interrupted); remove the folder and run again");
    } else if (!s.ok()) {
      return from_rocks(s, path_);
    } else if (version != std::to_string(kSchemaVersion) &&
               !(options_.accept_schema > 0 && version == std::to_string(options_.accept_schema))) {
      const int64_t v = std::atoll(version.c_str());
      return Status::failed_precondition(
          path_ + ": store schema version " + version + ", this deepreduce reads version " +
          std::to_string(kSchemaVersion) +
          (v == 2 ? ": run `deepreduce migrate --db " + path_ + "` to bring it to version " +
                        std::to_string(kSchemaVersion) + " (it keeps every trial, result and artifact; trial ids change)"
           : v == 3 ? ": run `deepreduce migrate --db " + path_ + "` to bring it to version " +
                          std::to_string(kSchemaVersion) +
                          " (it keeps every trial, id, result and artifact, and stores each experiment's parsed config "
                          "and decisions)"
           : v < kSchemaVersion ? " (an older deepreduce wrote it: use that version on it, or start a new store)"
                                : " (a newer deepreduce wrote it?)"));
    }
    if (!options_.read_only) {
      DR_RETURN_IF_ERROR(from_rocks(env_->CreateDirIfMissing(artifact_dir()), artifact_dir() + ": cannot create"));
      DR_RETURN_IF_ERROR(remove_orphan_artifacts());
    }
    // The next event number continues after the last one stored.
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_["events"]));
    it->SeekToLast();
    last_seq_ = it->Valid() ? from_be64(it->key()) : 0;
    if (!options_.read_only) DR_RETURN_IF_ERROR(load_state_index());
    return Status();
  }

  // The writer keeps the ids of each state in memory, read once here from the
  // trial_index family: dispatch, counts and unblocking never seek through the
  // index's pile of deleted keys, and cost what they return, not the store's size.
  Status load_state_index() {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_["trial_index"]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string key = it->key().ToString();
      const size_t slash = key.find('/');
      if (slash == std::string::npos) return Status::corruption(path_ + ": trial index key \"" + key + "\"");
      auto state = parse_state(key.substr(0, slash));
      if (!state.ok()) return state.status().with_context(path_ + ": trial index");
      by_state_[static_cast<size_t>(*state)].insert(key.substr(slash + 1));
    }
    DR_RETURN_IF_ERROR(from_rocks(it->status(), path_ + ": trial index"));
    indexed_ = true;
    return Status();
  }

  rocksdb::DBOptions base_options() const {
    rocksdb::DBOptions o;
    o.env = env_;
    o.keep_log_file_num = 4;
    o.max_manifest_file_size = 64 << 20;
    o.max_total_wal_size = 64 << 20;  // records only (artifacts are files): flush rather than pile up WAL
    return o;
  }

  std::string artifact_dir() const { return (std::filesystem::path(path_) / kArtifactDir).string(); }

  // Builds a complete store (every family, the schema version, the artifacts
  // folder) in a sibling temp folder, then renames it into place: a kill at
  // any moment leaves either no store or a whole one. Temp folders of
  // processes that died are removed.
  Status create() {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path target = fs::path(path_).lexically_normal();
    if (target.filename().empty()) target = target.parent_path();
    if (fs::exists(target, ec)) {
      if (!fs::is_directory(target, ec)) return Status::invalid_argument(path_ + ": exists and is not a folder");
      if (!fs::is_empty(target, ec))
        return Status::failed_precondition(path_ + ": a folder that is not a deepreduce store (it has no CURRENT "
                                           "file); give another --db or empty it");
    }
    fs::path parent = target.parent_path().empty() ? fs::path(".") : target.parent_path();
    fs::create_directories(parent, ec);
    if (ec) return Status::io_error(parent.string() + ": cannot create: " + ec.message());
    const std::string stem = target.filename().string() + ".creating-";
    for (const auto& entry : fs::directory_iterator(parent, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind(stem, 0) != 0) continue;
      const long pid = std::atol(name.c_str() + stem.size());
      if (pid > 0 && (pid == getpid() || ::kill(static_cast<pid_t>(pid), 0) != 0)) fs::remove_all(entry.path(), ec);
    }
    const fs::path temp = parent / (stem + std::to_string(getpid()));
    fs::remove_all(temp, ec);
    DR_RETURN_IF_ERROR(room_in(parent.string(), "creating a store", " in " + parent.string(), ""));
    if (Status built = build_db(temp.string()); !built.ok()) {
      fs::remove_all(temp, ec);
      return built;
    }
    fs::create_directories(temp / kArtifactDir, ec);
    if (ec) return Status::io_error(path_ + ": creating the store: " + ec.message());
    DR_RETURN_IF_ERROR(fsync_dir(temp.string()));
    if (fs::exists(target)) fs::remove(target, ec);  // the empty folder it replaces
    if (::rename(temp.c_str(), target.c_str()) != 0) {
      const int err = errno;
      if ((err == ENOTEMPTY || err == EEXIST) && fs::exists(target / "CURRENT", ec)) {
        // Another process created it first (two runs started at once): its
        // store is the one; opening it says whether that process holds it.
        fs::remove_all(temp, ec);
        return Status();
      }
      fs::remove_all(temp, ec);
      if (err == ENOTEMPTY || err == EEXIST)
        return Status::unavailable(path_ + ": the store is being created by another process at the same moment; "
                                   "try again");
      return Status::io_error(path_ + ": creating the store: rename from " + temp.string() + ": " + std::strerror(err));
    }
    return fsync_dir(parent.string());
  }

  // A store through another filesystem (StoreOptions::env: in memory, a test's
  // full disk) is built where it stays: the rename of a whole folder that
  // makes creation atomic is the real filesystem's.
  Status create_in_place() {
    DR_RETURN_IF_ERROR(from_rocks(env_->CreateDirIfMissing(path_), path_ + ": creating the store"));
    DR_RETURN_IF_ERROR(room_in(path_, "creating a store", "", ""));
    DR_RETURN_IF_ERROR(build_db(path_));
    return from_rocks(env_->CreateDirIfMissing(artifact_dir()), path_ + ": creating the store");
  }

  // A new database in `where` with every family and the schema version,
  // synced and closed. Closing a DB after a failed write asserts in Debian's
  // RocksDB: a half-made one is left to the process's end.
  Status build_db(const std::string& where) {
    rocksdb::DBOptions o = base_options();
    o.create_if_missing = true;
    o.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
    descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
    for (const char* f : kFamilies) descriptors.emplace_back(f, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    auto s = rocksdb::DB::Open(o, where, descriptors, &handles, &raw);
    if (!s.ok()) return from_rocks(s, path_ + ": creating the store");
    std::unique_ptr<rocksdb::DB> db(raw);
    rocksdb::WriteOptions wo;
    wo.sync = true;
    s = db->Put(wo, handles[0], kSchemaKey, std::to_string(kSchemaVersion));
    if (s.ok()) s = sync_wal(db.get());
    for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
    if (s.ok()) s = db->Close();
    if (!s.ok()) {
      (void)db.release();
      return from_rocks(s, path_ + ": creating the store");
    }
    return Status();
  }

  // RocksDB meeting a full disk while it creates or opens a store aborts in
  // Debian's build: with under 1 MiB free in `dir`, `doing` is refused first
  // ("STORE: the disk is full: DOING needs 1048576 bytes free[WHERE], N are[TAIL]").
  // A filesystem that cannot say how much is free is let through.
  Status room_in(const std::string& dir, const std::string& doing, const std::string& where,
                 const std::string& tail) const {
    constexpr uint64_t kRoom = 1u << 20;
    uint64_t room = 0;
    if (!env_->GetFreeSpace(dir, &room).ok() || room >= kRoom) return Status();
    return Status::io_error(path_ + ": the disk is full: " + doing + " needs " + std::to_string(kRoom) + " bytes free" +
                            where + ", " + std::to_string(room) + " are" + tail);
  }

  Status fsync_dir(const std::string& dir) const {
    std::unique_ptr<rocksdb::Directory> d;
    auto s = env_->NewDirectory(dir, &d);
    if (s.ok()) s = d->Fsync();
    if (s.ok()) s = d->Close();
    return from_rocks(s, dir + ": fsync");
  }

  // Writes an artifact file durably (temp file, fsync, rename, fsync folder).
  Status write_artifact_file(const std::string& file, const std::string& bytes, const std::string& what) {
    const std::string final_path = artifact_dir() + "/" + file;
    const std::string temp = final_path + ".tmp-" + std::to_string(getpid());
    auto failed = [&](const char* step, const rocksdb::Status& s) {
      (void)env_->DeleteFile(temp);
      if (s.IsNoSpace() || disk_full(s.ToString()))
        return Status::io_error(path_ + ": the disk is full: storing " + what + " needs " +
                                std::to_string(bytes.size()) + " bytes (" + s.ToString() +
                                "); free space: everything stored before is kept");
      return Status::io_error(path_ + ": " + step + " " + temp + " for " + what + ": " + s.ToString());
    };
    std::unique_ptr<rocksdb::WritableFile> f;
    rocksdb::EnvOptions eo;
    if (auto s = env_->NewWritableFile(temp, &f, eo); !s.ok()) return failed("cannot create", s);
    // In slices, so that a file of gigabytes never waits in one buffer.
    constexpr size_t kSlice = 4 << 20;
    for (size_t off = 0; off < bytes.size(); off += kSlice)
      if (auto s = f->Append(rocksdb::Slice(bytes.data() + off, std::min(kSlice, bytes.size() - off))); !s.ok()) {
        (void)f->Close();
        return failed("cannot write", s);
      }
    if (auto s = f->Sync(); !s.ok()) {
      (void)f->Close();
      return failed("cannot sync", s);
    }
    if (auto s = f->Close(); !s.ok()) return failed("cannot close", s);
    if (auto s = env_->RenameFile(temp, final_path); !s.ok()) return failed("cannot rename", s);
    return fsync_dir(artifact_dir());
  }

  // Files in artifacts/ that no record names: a crash between writing a file
  // and committing its record, or between a commit and removing the file it
  // replaced.
  Status remove_orphan_artifacts() {
    std::set<std::string> named;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_["artifacts"]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (!it->key().ends_with("/meta")) continue;
      if (auto file = file_of(it->value().ToString())) named.insert(*file);
    }
    DR_RETURN_IF_ERROR(from_rocks(it->status(), path_ + ": artifacts"));
    std::vector<std::string> files;
    if (!env_->GetChildren(artifact_dir(), &files).ok()) return Status();
    for (const auto& f : files)
      if (f != "." && f != ".." && !named.count(f)) (void)env_->DeleteFile(artifact_dir() + "/" + f);
    return Status();
  }

  // --- experiments
  Status put_experiment(const Experiment& e) override {
    DR_RETURN_IF_ERROR(writable());
    auto lock = locked();
    auto existing = get_experiment_locked(e.name);
    if (!existing.ok()) return existing.status();
    if (*existing) {
      const Experiment& old = **existing;
      const bool same = (old.definition.empty() || e.definition.empty()) ? old.config_yaml == e.config_yaml
                                                                          : old.definition == e.definition;
      if (old.config_yaml == e.config_yaml && old.definition == e.definition && old.config == e.config) return Status();
      // Another definition is a revision: the caller keeps the trials it
      // still plans (search::revise); the same one in another text is not.
      Experiment updated = old;
      updated.config_yaml = e.config_yaml;
      if (!e.definition.empty()) updated.definition = e.definition;
      if (!e.config.is_null() || !same) updated.config = e.config;
      if (!same) {
        updated.revision = old.revision + 1;
        updated.strategy = e.strategy;
      }
      rocksdb::WriteBatch batch;
      batch.Put(cf_["experiments"], e.name, experiment_json(updated).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      add_event(batch, {0, 0, same ? "experiment_updated" : "experiment_revised", "", "",
                        {{"name", e.name}, {"revision", updated.revision}}});
      return commit(batch);
    }
    Experiment copy = e;
    if (!copy.created_ms) copy.created_ms = now_ms();
    rocksdb::WriteBatch batch;
    batch.Put(cf_["experiments"], e.name, experiment_json(copy).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    add_event(batch, {0, 0, "experiment_created", "", "", {{"name", e.name}, {"strategy", e.strategy}}});
    return commit(batch);
  }

  Result<std::optional<Experiment>> get_experiment(const std::string& name) override {
    auto lock = locked();
    return get_experiment_locked(name);
  }

  Result<std::vector<Experiment>> list_experiments() override {
    std::vector<Experiment> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_["experiments"]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto e = parse_experiment(it->key().ToString(), it->value().ToString());
      if (!e.ok()) return e.status();
      out.push_back(*e);
    }
    return out;
  }

  // --- trials
  Result<std::vector<AddResult>> add_trials(const std::string& experiment,
                                            const std::vector<TrialSpec>& trials) override {
    DR_RETURN_IF_ERROR(writable());
    auto lock = locked();
    rocksdb::WriteBatch batch;
    std::vector<AddResult> out;
    std::map<std::string, TrialState> in_batch;
    const int64_t now = now_ms();
    for (const auto& spec : trials) {
      const std::string id = trial_id(spec);
      if (auto it = in_batch.find(id); it != in_batch.end()) {
        out.push_back({id, false, it->second});
        continue;
      }
      auto existing = get_trial_locked(id);
      if (existing.ok()) {
        out.push_back({id, false, existing->state});
        in_batch[id] = existing->state;
        // The same trial asked for again: it keeps everything but learns where
        // its data now is (unless finished) and a role it had none of.
        TrialRecord r = *existing;
        if (r.state != TrialState::kDone && r.state != TrialState::kCancelled)
          r.spec.job.data.data_dir = spec.job.data.data_dir;
        if (r.spec.role == Role::kNone) r.spec.role = spec.role;
        if (r.spec.phase == Role::kNone) r.spec.phase = spec.phase;
        if (r.spec.name.empty()) r.spec.name = spec.name;
        if (r.spec.strategy.empty()) r.spec.strategy = spec.strategy;
        if (to_json(r.spec) != to_json(existing->spec)) {
          r.updated_ms = now;
          put_trial(batch, r, r.state);
        }
        continue;
      }
      if (existing.status().code() != Status::Code::kNotFound) return existing.status();
      TrialState state = TrialState::kPending;
      std::string failed_dep;
      for (const auto& dep : spec.dependencies()) {
        TrialState dep_state;
        if (auto it = in_batch.find(dep); it != in_batch.end()) {
          dep_state = it->second;
        } else {
          auto d = get_trial_locked(dep);
          if (!d.ok())
            return Status::invalid_argument("trial " + id + " depends on " + dep + ", which is not in the store (" +
                                            d.status().message() + ")");
          dep_state = d->state;
        }
        if (dep_state == TrialState::kFailed) {
          state = TrialState::kFailed;
          failed_dep = dep;
          break;
        }
        if (dep_state != TrialState::kDone) state = TrialState::kBlocked;
      }
      TrialRecord r;
      r.id = id;
      r.experiment = experiment;
      r.spec = spec;
      r.state = state;
      r.created_ms = r.updated_ms = now;
      if (state == TrialState::kFailed) r.reasons.push_back(dependency_failed(failed_dep));
      put_trial(batch, r, std::nullopt);
      add_event(batch, {0, 0, "trial_created", id, "", {{"state", state_name(state)}, {"experiment", experiment}}});
      out.push_back({id, true, state});
      in_batch[id] = state;
    }
    DR_RETURN_IF_ERROR(commit(batch));
    return out;
  }

  Status set_role(const std::string& id, Role role, Role phase) override {
    DR_RETURN_IF_ERROR(writable());
    auto lock = locked();
    auto r = get_trial_locked(id);
    if (!r.ok()) return r.status();
    if (r->spec.role == role && r->spec.phase == phase) return Status();
    TrialRecord updated = *r;
    updated.spec.role = role;
    updated.spec.phase = phase;
    rocksdb::WriteBatch batch;
    put_trial(batch, updated, updated.state);
    return commit(batch);
  }

  Result<TrialRecord> get_trial(const std::string& id) override {
    auto lock = locked();
    return get_trial_locked(id);
  }

  Result<std::vector<TrialRecord>> list_trials(std::optional<TrialState> state) override {
    auto lock = locked();  // get_trial_locked reads the cache
    std::vector<TrialRecord> out;
    if (state && indexed_) {
      for (const auto& id : by_state_[static_cast<size_t>(*state)]) {
        auto r = get_trial_locked(id);
        if (!r.ok()) return r.status();
        out.push_back(*r);
      }
      return out;
    }
    if (state) {
      const std::string prefix = std::string(state_name(*state)) + "/";
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_["trial_index"]));
      for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
        auto r = get_trial_locked(it->key().ToString().substr(prefix.size()));
        if (!r.ok()) return r.status();
        out.push_back(*r);
      }
      return out;
    }
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_["trials"]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto r = parse_trial(it->key().ToString(), it->value().ToString());
      if (!r.ok()) return r.status();
      out.push_back(*r);
    }
    return out;
  }

  Result<std::vector<std::pair<TrialState, int64_t>>> count_by_state() override {
    std::vector<std::pair<TrialState, int64_t>> out;
    if (indexed_) {
      auto lock = locked();
      for (auto s : all_states()) out.push_back({s, static_cast<int64_t>(by_state_[static_cast<size_t>(s)].size())});
      return out;
    }
    for (auto s : all_states()) {
      const std::string prefix = std::string(state_name(s)) + "/";
      int64_t n = 0;
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_["trial_index"]));
      for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) ++n;
      out.push_back({s, n});
    }
    return out;
  }

  Result<std::map<std::string, int64_t>> count_by_role() override {
    std::map<std::string, int64_t> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_["trial_index"]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++out[it->value().ToString()];
    DR_RETURN_IF_ERROR(from_rocks(it->status(), path_ + ": trial index"));
    return out;
  }

  Result<std::vector<std::string>> trial_ids(TrialState state, size_t limit) override {
    std::vector<std::string> out;
    if (indexed_) {
      auto lock = locked();
      for (const auto& id : by_state_[static_cast<size_t>(state)]) {
        if (out.size() >= limit) break;
        out.push_back(id);
      }
      return out;
    }
    const std::string prefix = std::string(state_name(state)) + "/";
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_["trial_index"]));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix) && out.size() < limit; it->Next())
      out.push_back(it->key().ToString().substr(prefix.size()));
    DR_RETURN_IF_ERROR(from_rocks(it->status(), path_ + ": trial index"));
    return out;
  }

  Result<TrialRecord> lease(const std::string& id, const std::string& worker, int64_t deadline_ms,
                            const std::string& lease) override {
    DR_RETURN_IF_ERROR(writable());
    auto lock = locked();
    auto r = get_trial_locked(id);
    if (!r.ok()) return r.status();
    const TrialState from = r->state;
    DR_RETURN_IF_ERROR(check_transition(id, from, TrialState::kLeased));
    r->state = TrialState::kLeased;
    r->attempt += 1;
    r->worker = worker;
    r->lease_deadline_ms = deadline_ms;
    r->lease = lease;
    r->updated_ms = now_ms();
    rocksdb::WriteBatch batch;
    put_trial(batch, *r, from);
    add_event(batch, {0, 0, "leased", id, worker, {{"attempt", r->attempt}, {"deadline_ms", deadline_ms}}});
    DR_RETURN_IF_ERROR(commit(batch));
    return *r;
  }

  Status renew(const std::string& id, const std::string& worker, int64_t attempt, int64_t deadline_ms) override {
    DR_RETURN_IF_ERROR(writable());
    auto lock = locked();
    auto r = get_trial_locked(id);
    if (!r.ok()) return r.status();
    DR_RETURN_IF_ERROR(check_lease(*r, worker, attempt));
    r->lease_deadline_ms = deadline_ms;
    rocksdb::WriteBatch batch;
    put_trial(batch, *r, r->state);
    return commit(batch);  // no event: renewals are heartbeats, not history
  }

  Result<TrialRecord> release(const std::string& id, const std::string& reason, ReleaseCause cause,
                              const AttemptLimits& limits) override {
    DR_RETURN_IF_ERROR(writable());
    auto lock = locked();
    auto r = get_trial_locked(id);
    if (!r.ok()) return r.status();
    const TrialState from = r->state;
    if (from != TrialState::kLeased) return check_transition(id, from, TrialState::kPending);
    std::string why = reason;
    TrialState to = TrialState::kPending;
    if (cause == ReleaseCause::kTrialFailed && ++r->charged >= limits.max_attempts) {
      to = TrialState::kFailed;
      why += " (" + std::to_string(r->charged) + " failed attempt(s): no attempts left)";
    } else if (cause == ReleaseCause::kWorkerLost && ++r->lost >= limits.max_lost) {
      to = TrialState::kFailed;
      why += " (" + std::to_string(r->lost) + " workers lost while training it: does it crash its worker?)";
    }
    r->reasons.push_back("attempt " + std::to_string(r->attempt) + " on " + r->worker + ": " + why);
    const std::string worker = r->worker;
    r->state = to;
    r->worker.clear();
    r->lease.clear();
    r->lease_deadline_ms = 0;
    r->updated_ms = now_ms();
    rocksdb::WriteBatch batch;
    put_trial(batch, *r, from);
    const char* causes[] = {"trial", "worker_lost", "not_charged"};
    add_event(batch, {0, 0, to == TrialState::kFailed ? "failed" : "released", id, worker,
                      {{"attempt", r->attempt}, {"reason", why}, {"cause", causes[static_cast<int>(cause)]}}});
    DR_RETURN_IF_ERROR(commit(batch));
    return *r;
  }

  Status record_progress(const std::string& id, const std::string& worker, const nlohmann::json& progress) override {
    DR_RETURN_IF_ERROR(writable());
    auto lock = locked();
    auto r = get_trial_locked(id);
    if (!r.ok()) return r.status();
    if (r->state != TrialState::kLeased || r->worker != worker)
      return Status::failed_precondition("trial " + id + ": progress from " + worker + " but the trial is " +
                                         state_name(r->state) + (r->worker.empty() ? "" : " by " + r->worker));
    r->progress = progress;
    r->updated_ms = now_ms();
    rocksdb::WriteBatch batch;
    put_trial(batch, *r, r->state);
    add_event(batch, {0, 0, "progress", id, worker, progress});
    return commit(batch);
  }

  Status complete(const std::string& id, const std::string& worker, int64_t attempt, const std::string& lease,
                  const nlohmann::json& result, const std::optional<std::string>& weights,
                  const std::map<std::string, std::string>& more) override {
    DR_RETURN_IF_ERROR(writable());
    auto lock = locked();
    auto r = get_trial_locked(id);
    if (!r.ok()) return r.status();
    if (r->state == TrialState::kDone)
      return Status::failed_precondition("trial " + id + " is already done; the result of " + worker + " attempt " +
                                         std::to_string(attempt) + " is ignored");
    // Only the live lease: a result from anyone else is never applied.
    DR_RETURN_IF_ERROR(check_lease(*r, worker, attempt));
    if (r->lease != lease) return Status::failed_precondition("trial " + id + ": a result with another lease token");
    const TrialState from = r->state;
    r->state = TrialState::kDone;
    r->worker = worker;
    r->lease.clear();
    r->lease_deadline_ms = 0;
    r->updated_ms = now_ms();
    rocksdb::WriteBatch batch;
    if (weights) DR_RETURN_IF_ERROR(put_artifact_batch(batch, id, "model", *weights));
    for (const auto& [kind, bytes] : more) DR_RETURN_IF_ERROR(put_artifact_batch(batch, id, kind, bytes));
    put_trial(batch, *r, from);
    batch.Put(cf_["results"], id, result.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    add_event(batch, {0, 0, "done", id, worker,
                      {{"attempt", attempt}, {"top1", result.value("top1", nlohmann::json())}}});
    return commit(batch);
  }

  Status fail(const std::string& id, const std::string& reason) override {
    return simple_transition(id, TrialState::kFailed, "failed", reason);
  }
  Status cancel(const std::string& id, const std::string& reason) override {
    return simple_transition(id, TrialState::kCancelled, "cancelled", reason);
  }
  Result<std::vector<std::string>> damage(const std::string& id, const std::string& reason, bool retrain) override {
    DR_RETURN_IF_ERROR(writable());
    auto lock = locked();
    auto r = get_trial_locked(id);
    if (!r.ok()) return r.status();
    if (r->state != TrialState::kDone)
      return Status::failed_precondition("trial " + id + " is " + state_name(r->state) + ": only done trials are damaged");
    rocksdb::WriteBatch batch;
    TrialRecord t = *r;
    t.reasons.push_back(reason);
    t.retired.clear();
    ++t.charged;  // a damaged copy counts as one of its attempts
    t.state = TrialState::kDamaged;
    if (retrain) {
      t.state = ready_or_blocked(t);
      t.reasons.back() += "; trained again";
    }
    t.updated_ms = now_ms();
    put_trial(batch, t, TrialState::kDone);
    add_event(batch, {0, 0, "damaged", id, "", {{"reason", reason}, {"retrain", retrain}}});
    // What depends on it waits for its retraining.
    std::vector<std::string> blocked;
    const std::vector<std::string> pending(by_state_[static_cast<size_t>(TrialState::kPending)].begin(),
                                           by_state_[static_cast<size_t>(TrialState::kPending)].end());
    for (const auto& pid : pending) {
      if (pid == id) continue;
      auto p = get_trial_locked(pid);
      if (!p.ok()) return p.status();
      const auto deps = p->spec.dependencies();
      if (std::find(deps.begin(), deps.end(), id) == deps.end()) continue;
      TrialRecord b = *p;
      b.state = TrialState::kBlocked;
      b.reasons.push_back("waits: its dependency " + id.substr(0, 12) + " was damaged");
      b.updated_ms = t.updated_ms;
      put_trial(batch, b, TrialState::kPending);
      blocked.push_back(pid);
    }
    DR_RETURN_IF_ERROR(commit(batch));
    return blocked;
  }

  Status retrain(const std::string& id, const std::string& why) override {
    DR_RETURN_IF_ERROR(writable());
    auto lock = locked();
    auto r = get_trial_locked(id);
    if (!r.ok()) return r.status();
    if (r->state != TrialState::kDamaged)
      return Status::failed_precondition("trial " + id + " is " + state_name(r->state) + ": only damaged trials are "
                                         "trained again this way");
    TrialRecord t = *r;
    t.state = ready_or_blocked(t);
    t.charged = t.lost = 0;
    t.reasons.push_back(why);
    t.updated_ms = now_ms();
    rocksdb::WriteBatch batch;
    put_trial(batch, t, TrialState::kDamaged);
    add_event(batch, {0, 0, "retrain", id, "", {{"reason", why}}});
    return commit(batch);
  }

  Status set_retired(const std::string& id, const std::string& why) override {
    DR_RETURN_IF_ERROR(writable());
    auto lock = locked();
    auto r = get_trial_locked(id);
    if (!r.ok()) return r.status();
    if (r->retired == why) return Status();
    if (!why.empty() && r->state != TrialState::kDone)
      return Status::failed_precondition("trial " + id + " is " + state_name(r->state) + ": only done trials are retired "
                                         "(the others are cancelled)");
    r->retired = why;
    r->updated_ms = now_ms();
    rocksdb::WriteBatch batch;
    put_trial(batch, *r, r->state);
    add_event(batch, {0, 0, why.empty() ? "planned_again" : "retired", id, "",
                      why.empty() ? nlohmann::json() : nlohmann::json{{"reason", why}}});
    return commit(batch);
  }
  Status retry(const std::string& id, const std::string& why) override {
    DR_RETURN_IF_ERROR(writable());
    auto lock = locked();
    auto r = get_trial_locked(id);
    if (!r.ok()) return r.status();
    const TrialState from = r->state;
    if (from != TrialState::kFailed && from != TrialState::kCancelled)
      return Status::failed_precondition("trial " + id + " is " + state_name(from) + ": only failed or cancelled "
                                         "trials are retried");
    const TrialState to = ready_or_blocked(*r);
    DR_RETURN_IF_ERROR(check_transition(id, from, to));
    r->state = to;
    r->charged = r->lost = 0;
    r->reasons.push_back(why);
    r->updated_ms = now_ms();
    rocksdb::WriteBatch batch;
    put_trial(batch, *r, from);
    add_event(batch, {0, 0, "retried", id, "", {{"state", state_name(to)}}});
    return commit(batch);
  }

  Result<std::vector<std::string>> unblock_ready() override {
    DR_RETURN_IF_ERROR(writable());
    auto lock = locked();
    std::vector<std::string> changed;
    rocksdb::WriteBatch batch;
    const std::vector<std::string> blocked(by_state_[static_cast<size_t>(TrialState::kBlocked)].begin(),
                                           by_state_[static_cast<size_t>(TrialState::kBlocked)].end());
    for (const auto& blocked_id : blocked) {
      auto r = get_trial_locked(blocked_id);
      if (!r.ok()) return r.status();
      bool all_done = true, any_failed = false;
      std::string failed_dep, damaged_dep;
      for (const auto& dep : r->spec.dependencies()) {
        auto d = get_trial_locked(dep);
        if (!d.ok()) return d.status().with_context("dependency of " + r->id);
        all_done &= d->state == TrialState::kDone;
        if (d->state == TrialState::kFailed && !any_failed) failed_dep = dep;
        // Damaged and not trained again (its attempts are spent): it waits for
        // `deepreduce repair`, and so would this one, for ever.
        if (d->state == TrialState::kDamaged && !any_failed) damaged_dep = dep;
        any_failed |= d->state == TrialState::kFailed || d->state == TrialState::kDamaged;
      }
      if (!all_done && !any_failed) continue;
      const TrialState to = any_failed ? TrialState::kFailed : TrialState::kPending;
      if (any_failed)
        r->reasons.push_back(!damaged_dep.empty() ? "its dependency " + damaged_dep.substr(0, 12) +
                                                        " is damaged (deepreduce repair trains it again; then retry this)"
                                                  : dependency_failed(failed_dep));
      r->state = to;
      r->updated_ms = now_ms();
      put_trial(batch, *r, TrialState::kBlocked);
      add_event(batch, {0, 0, any_failed ? "failed" : "unblocked", r->id, "", nullptr});
      changed.push_back(r->id);
    }
    if (!changed.empty()) DR_RETURN_IF_ERROR(commit(batch));
    return changed;
  }

  // --- results and artifacts
  Result<std::optional<nlohmann::json>> get_result(const std::string& id) override {
    std::string value;
    auto s = db_->Get(rocksdb::ReadOptions(), cf_["results"], id, &value);
    if (s.IsNotFound()) return std::optional<nlohmann::json>();
    DR_RETURN_IF_ERROR(from_rocks(s, "result " + id));
    try {
      return std::optional<nlohmann::json>(nlohmann::json::parse(value));
    } catch (const nlohmann::json::exception& e) {
      return Status::corruption("result of trial " + id + " is not JSON: " + e.what());
    }
  }

  Status put_artifact(const std::string& id, const std::string& kind, const std::string& bytes) override {
    DR_RETURN_IF_ERROR(writable());
    auto lock = locked();
    rocksdb::WriteBatch batch;
    DR_RETURN_IF_ERROR(put_artifact_batch(batch, id, kind, bytes));
    add_event(batch, {0, 0, "artifact", id, "", {{"kind", kind}, {"bytes", bytes.size()}}});
    return commit(batch);
  }

  Result<std::optional<std::string>> get_artifact(const std::string& id, const std::string& kind) override {
    if (!artifact_name_ok(id, kind)) return std::optional<std::string>();
    const std::string base = id + "/" + kind + "/";
    const std::string what = "artifact " + kind + " of trial " + id;
    {
      // One snapshot: a concurrent replacement never mixes two versions.
      const rocksdb::Snapshot* snap = db_->GetSnapshot();
      rocksdb::ReadOptions ro;
      ro.snapshot = snap;
      auto release = std::unique_ptr<const rocksdb::Snapshot, std::function<void(const rocksdb::Snapshot*)>>(
          snap, [this](const rocksdb::Snapshot* sn) { db_->ReleaseSnapshot(sn); });
      std::string meta_text;
      auto s = db_->Get(ro, cf_["artifacts"], base + "meta", &meta_text);
      if (s.IsNotFound()) return std::optional<std::string>();
      DR_RETURN_IF_ERROR(from_rocks(s, "artifact " + base + "meta"));
      nlohmann::json meta = nlohmann::json::parse(meta_text, nullptr, false);
      if (!meta.is_object() || !meta.contains("size") || !meta["size"].is_number_unsigned() ||
          !meta.contains("blake2b") || !meta["blake2b"].is_string())
        return Status::corruption(what + ": unreadable metadata");
      const uint64_t size = meta["size"].get<uint64_t>();
      std::string bytes;
      if (meta.contains("file") && meta["file"].is_string()) {
        const std::string file = artifact_dir() + "/" + meta["file"].get<std::string>();
        if (!env_->FileExists(file).ok()) {
          if (options_.read_only)  // a view opened beside the writer, which has replaced it since
            return Status::unavailable(what + ": " + file + " was replaced since this read-only view opened; "
                                       "open the store again");
          return Status::corruption(what + ": its file " + file + " is missing");
        }
        DR_RETURN_IF_ERROR(from_rocks(rocksdb::ReadFileToString(env_, file, &bytes), what + ": reading " + file));
      } else {
        const uint64_t chunks = meta.value("chunks", uint64_t{0});
        bytes.reserve(size);
        for (uint64_t c = 0; c < chunks; ++c) {
          std::string chunk;
          auto cs = db_->Get(ro, cf_["artifacts"], chunk_key(base, c), &chunk);
          if (cs.IsNotFound()) return Status::corruption(what + ": chunk " + std::to_string(c) + " is missing");
          DR_RETURN_IF_ERROR(from_rocks(cs, what));
          bytes += chunk;
        }
      }
      if (bytes.size() != size)
        return Status::corruption(what + ": " + std::to_string(bytes.size()) + " bytes, metadata says " +
                                  std::to_string(size));
      if (blake2b_hex(bytes) != meta["blake2b"].get<std::string>())
        return Status::corruption(what + ": checksum mismatch (the stored bytes are damaged)");
      return std::optional<std::string>(std::move(bytes));
    }
  }

  Result<bool> has_artifact(const std::string& id, const std::string& kind) override {
    if (!artifact_name_ok(id, kind)) return false;
    std::string meta;
    auto s = db_->Get(rocksdb::ReadOptions(), cf_["artifacts"], id + "/" + kind + "/meta", &meta);
    if (s.IsNotFound()) return false;
    DR_RETURN_IF_ERROR(from_rocks(s, "artifact " + id + "/" + kind));
    return true;
  }

  Result<std::map<std::string, std::string>> artifact_digests(const std::string& id) override {
    std::map<std::string, std::string> out;
    if (!is_lower_hex(id, 32)) return out;
    const std::string prefix = id + "/";
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_["artifacts"]));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      const std::string key = it->key().ToString();
      if (!it->key().ends_with("/meta")) continue;
      const std::string kind = key.substr(prefix.size(), key.size() - prefix.size() - 5);
      auto meta = nlohmann::json::parse(it->value().ToString(), nullptr, false);
      if (!meta.is_object() || !meta.contains("blake2b") || !meta["blake2b"].is_string())
        return Status::corruption("artifact " + kind + " of trial " + id + ": unreadable metadata");
      out[kind] = meta["blake2b"].get<std::string>();
    }
    DR_RETURN_IF_ERROR(from_rocks(it->status(), "artifacts of trial " + id));
    return out;
  }

  // --- decisions
  Status put_decisions(const std::string& experiment, const std::vector<DecisionRecord>& decisions) override {
    DR_RETURN_IF_ERROR(writable());
    auto lock = locked();
    rocksdb::WriteBatch batch;
    bool any = false;
    for (const auto& d : decisions) {
      const std::string key = experiment + std::string(1, '\0') + d.key;
      std::string old;
      auto s = db_->Get(rocksdb::ReadOptions(), cf_["decisions"], key, &old);
      if (!s.ok() && !s.IsNotFound()) return from_rocks(s, "decision " + d.key);
      if (s.ok()) {
        auto j = nlohmann::json::parse(old, nullptr, false);
        if (j.is_object() && j.value("value", nlohmann::json()) == d.value && j.value("why", std::string()) == d.why)
          continue;
      }
      const nlohmann::json record = {{"key", d.key}, {"value", d.value}, {"why", d.why}, {"time_ms", now_ms()}};
      batch.Put(cf_["decisions"], key, record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      add_event(batch, {0, 0, "decided", "", "", {{"experiment", experiment}, {"key", d.key}, {"why", d.why}}});
      any = true;
    }
    return any ? commit(batch) : Status();
  }

  Result<std::vector<DecisionRecord>> list_decisions(const std::string& experiment) override {
    std::vector<DecisionRecord> out;
    if (!cf_.count("decisions")) return out;  // an older store, read-only
    const std::string prefix = experiment + std::string(1, '\0');
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_["decisions"]));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      auto j = nlohmann::json::parse(it->value().ToString(), nullptr, false);
      if (!j.is_object() || !j.contains("key") || !j["key"].is_string())
        return Status::corruption(path_ + ": a decision of experiment " + experiment + " is not a record");
      out.push_back({j["key"].get<std::string>(), j.value("value", nlohmann::json()), j.value("why", std::string()),
                     j.value("time_ms", int64_t{0})});
    }
    DR_RETURN_IF_ERROR(from_rocks(it->status(), path_ + ": decisions"));
    return out;
  }

  Status remove_artifact(const std::string& id, const std::string& kind) override {
    DR_RETURN_IF_ERROR(writable());
    if (!artifact_name_ok(id, kind)) return Status();
    auto lock = locked();
    const std::string base = id + "/" + kind + "/";
    std::string old_text;
    auto s = db_->Get(rocksdb::ReadOptions(), cf_["artifacts"], base + "meta", &old_text);
    if (s.IsNotFound()) return Status();
    DR_RETURN_IF_ERROR(from_rocks(s, "artifact " + base + "meta"));
    if (auto old = file_of(old_text)) doomed_.push_back(*old);
    rocksdb::WriteBatch batch;
    batch.DeleteRange(cf_["artifacts"], base + "00000000", base + "99999999~");
    batch.Delete(cf_["artifacts"], base + "meta");
    add_event(batch, {0, 0, "artifact_removed", id, "", {{"kind", kind}}});
    return commit(batch);
  }

  // --- workers
  Status put_worker(const WorkerRecord& w) override {
    DR_RETURN_IF_ERROR(writable());
    auto lock = locked();
    nlohmann::json j = {{"name", w.name},     {"host", w.host},       {"state", w.state},
                        {"reason", w.reason}, {"devices", w.devices}, {"updated_ms", w.updated_ms ? w.updated_ms : now_ms()}};
    rocksdb::WriteBatch batch;
    batch.Put(cf_["workers"], w.name, j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return commit(batch);
  }

  Result<std::vector<WorkerRecord>> list_workers() override {
    std::vector<WorkerRecord> out;
    if (!cf_.count("workers")) return out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_["workers"]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      auto j = nlohmann::json::parse(it->value().ToString(), nullptr, false);
      if (!j.is_object()) return Status::corruption(path_ + ": worker " + it->key().ToString() + ": not JSON");
      out.push_back({j.value("name", ""), j.value("host", ""), j.value("state", ""), j.value("reason", ""),
                     j.value("devices", nlohmann::json::array()), j.value("updated_ms", int64_t{0})});
    }
    DR_RETURN_IF_ERROR(from_rocks(it->status(), path_ + ": workers"));
    return out;
  }

  // --- events
  Status append_event(const Event& e) override {
    DR_RETURN_IF_ERROR(writable());
    auto lock = locked();
    rocksdb::WriteBatch batch;
    add_event(batch, e);
    return commit(batch);
  }

  Result<std::vector<Event>> events(uint64_t after_seq, size_t limit) override {
    std::vector<Event> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_["events"]));
    for (it->Seek(be64(after_seq + 1)); it->Valid() && out.size() < limit; it->Next()) {
      try {
        auto j = nlohmann::json::parse(it->value().ToString());
        out.push_back({j.at("seq").get<uint64_t>(), j.at("time_ms").get<int64_t>(), j.at("type").get<std::string>(),
                       j.at("trial").get<std::string>(), j.at("worker").get<std::string>(), j.at("detail")});
      } catch (const nlohmann::json::exception& e) {
        return Status::corruption("event " + std::to_string(from_be64(it->key())) + ": " + e.what());
      }
    }
    return out;
  }

  uint64_t last_seq() override {
    auto lock = locked();
    return last_seq_;
  }

  Status sync() override {
    if (options_.read_only) return Status();
    DR_RETURN_IF_ERROR(writable());
    Status s = from_rocks(sync_wal(db_.get()), path_ + ": sync");
    if (!s.ok()) write_failure_ = s.message();
    return s;
  }

 private:
  // Every call holds the mutex for its whole read-modify-write, and starts with
  // no staged records (a call that returned early must not leak its records
  // into the next commit's cache update).
  std::unique_lock<std::mutex> locked() {
    std::unique_lock<std::mutex> lock(mu_);
    staged_.clear();
    moves_.clear();
    doomed_.clear();
    written_.clear();
    return lock;
  }

  Status writable() const {
    if (options_.read_only) return Status::failed_precondition(path_ + ": opened read-only");
    if (!write_failure_.empty())
      return Status::io_error(write_failure_ + " (this process writes no more to the store; everything committed "
                              "before is kept: free space and start again)");
    return Status();
  }

  static std::string chunk_key(const std::string& base, uint64_t c) {
    return base + fmt::format("{:08}", c);
  }

  // The file an artifact record names (records of earlier builds, with chunks, name none).
  static std::optional<std::string> file_of(const std::string& meta_text) {
    auto meta = nlohmann::json::parse(meta_text, nullptr, false);
    if (!meta.is_object() || !meta.contains("file") || !meta["file"].is_string()) return std::nullopt;
    return meta["file"].get<std::string>();
  }

  static bool artifact_name_ok(const std::string& id, const std::string& kind) {
    return artifact_kind_ok(kind) && is_lower_hex(id, 32);
  }

  // Writes the bytes to their file and puts the record that names them in the
  // batch; the file of the version it replaces is removed after the commit.
  Status put_artifact_batch(rocksdb::WriteBatch& batch, const std::string& id, const std::string& kind,
                            const std::string& bytes) {
    if (!artifact_name_ok(id, kind))
      return Status::invalid_argument("artifact \"" + kind + "\" of trial \"" + id + "\": not a trial id and kind");
    const std::string base = id + "/" + kind + "/";
    const std::string hash = blake2b_hex(bytes);
    const std::string file = id + "." + kind + "." + hash.substr(0, 16);
    std::string old_text;
    if (db_->Get(rocksdb::ReadOptions(), cf_["artifacts"], base + "meta", &old_text).ok())
      if (auto old = file_of(old_text); old && *old != file) doomed_.push_back(*old);
    DR_RETURN_IF_ERROR(write_artifact_file(file, bytes, "the " + kind + " of trial " + id));
    written_.push_back(file);
    // The chunks of a version stored by an earlier build, if any.
    batch.DeleteRange(cf_["artifacts"], base + "00000000", base + "99999999~");
    nlohmann::json meta = {{"size", bytes.size()}, {"blake2b", hash}, {"file", file}};
    batch.Put(cf_["artifacts"], base + "meta", meta.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return Status();
  }

  void put_trial(rocksdb::WriteBatch& batch, const TrialRecord& r, std::optional<TrialState> old_state) {
    batch.Put(cf_["trials"], r.id, to_json(r).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    staged_.push_back(r);
    moves_.push_back({r.id, old_state, r.state});
    if (old_state && *old_state != r.state) batch.Delete(cf_["trial_index"], std::string(state_name(*old_state)) + "/" + r.id);
    // The index entry's value is the trial's role: counts per role need no record.
    batch.Put(cf_["trial_index"], std::string(state_name(r.state)) + "/" + r.id, role_name(r.spec.role));
  }

  // Adds the event to the batch with the next sequence number. The number is
  // taken back if the commit fails, so sequences stay gap-free.
  void add_event(rocksdb::WriteBatch& batch, Event e) {
    e.seq = ++last_seq_;
    ++pending_events_;
    e.time_ms = now_ms();
    batch.Put(cf_["events"], be64(e.seq), event_json(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }

  Status commit(rocksdb::WriteBatch& batch) {
    rocksdb::WriteOptions wo;
    wo.sync = options_.durability == Durability::kSync;
    auto s = db_->Write(wo, &batch);
    if (!s.ok()) {
      last_seq_ -= pending_events_;
      // A failed write leaves RocksDB in an error state: nothing more is
      // written through it (no call that could assert after the failure).
      write_failure_ = from_rocks(s, path_ + ": writing its records").message();
    }
    pending_events_ = 0;
    // Artifact files: the replaced versions go once their successor is
    // committed; a failed commit takes back the files it wrote.
    for (const auto& f : s.ok() ? doomed_ : written_) (void)env_->DeleteFile(artifact_dir() + "/" + f);
    doomed_.clear();
    written_.clear();
    // The records just written become the cached ones, and the state sets
    // follow; a failed write changes neither. Only leased trials are cached
    // (progress, renewals and results read them again and again): the cache
    // grows with the workers, not with the experiment.
    if (s.ok()) {
      for (auto& r : staged_) {
        if (r.state == TrialState::kLeased)
          cache_[r.id] = std::move(r);
        else
          cache_.erase(r.id);
      }
      if (indexed_)
        for (const auto& m : moves_) {
          if (m.from) by_state_[static_cast<size_t>(*m.from)].erase(m.id);
          by_state_[static_cast<size_t>(m.to)].insert(m.id);
        }
    }
    staged_.clear();
    moves_.clear();
    return from_rocks(s, path_ + ": write");
  }

  Status simple_transition(const std::string& id, TrialState to, const char* event, const std::string& reason) {
    DR_RETURN_IF_ERROR(writable());
    auto lock = locked();
    auto r = get_trial_locked(id);
    if (!r.ok()) return r.status();
    const TrialState from = r->state;
    DR_RETURN_IF_ERROR(check_transition(id, from, to));
    const std::string worker = r->worker;
    r->state = to;
    if (!reason.empty()) r->reasons.push_back(reason);
    if (from == TrialState::kLeased && to == TrialState::kFailed) ++r->charged;  // its own failure
    if (to != TrialState::kLeased) {
      r->worker.clear();
      r->lease.clear();
      r->lease_deadline_ms = 0;
    }
    r->updated_ms = now_ms();
    rocksdb::WriteBatch batch;
    put_trial(batch, *r, from);
    add_event(batch, {0, 0, event, id, worker, reason.empty() ? nlohmann::json() : nlohmann::json{{"reason", reason}}});
    return commit(batch);
  }

  // Pending when every dependency of `t` is done, else blocked (the store is locked).
  TrialState ready_or_blocked(const TrialRecord& t) {
    for (const auto& dep : t.spec.dependencies()) {
      auto d = get_trial_locked(dep);
      if (!d.ok() || d->state != TrialState::kDone) return TrialState::kBlocked;
    }
    return TrialState::kPending;
  }

  // "a dependency failed: trial 1a2b3c4d5e6f (baseline)", by its name or
  // role where it has one (the store is locked).
  std::string dependency_failed(const std::string& dep) {
    auto d = get_trial_locked(dep);
    std::string about;
    if (d.ok() && d->spec.role != Role::kNone) about = role_name(d->spec.role);
    if (d.ok() && !d->spec.name.empty()) about = d->spec.name;
    return "a dependency failed: trial " + dep.substr(0, 12) + (about.empty() ? "" : " (" + about + ")");
  }

  Status check_lease(const TrialRecord& r, const std::string& worker, int64_t attempt) {
    if (r.state != TrialState::kLeased || r.worker != worker || r.attempt != attempt)
      return Status::failed_precondition("trial " + r.id + ": no lease of " + worker + " attempt " +
                                         std::to_string(attempt) + " (it is " + state_name(r.state) +
                                         (r.worker.empty() ? "" : " by " + r.worker) + ", attempt " +
                                         std::to_string(r.attempt) + ")");
    return Status();
  }

  Result<TrialRecord> parse_trial(const std::string& id, const std::string& value) {
    try {
      auto r = trial_record_from_json(nlohmann::json::parse(value));
      if (!r.ok()) return Status::corruption(path_ + ": trial " + id + ": " + r.status().message());
      return r;
    } catch (const nlohmann::json::exception& e) {
      return Status::corruption(path_ + ": trial " + id + ": record is not JSON (" + e.what() + ")");
    }
  }

  Result<TrialRecord> get_trial_locked(const std::string& id) {
    if (auto it = cache_.find(id); it != cache_.end()) return it->second;
    std::string value;
    auto s = db_->Get(rocksdb::ReadOptions(), cf_["trials"], id, &value);
    if (s.IsNotFound()) return Status::not_found("no trial " + id);
    DR_RETURN_IF_ERROR(from_rocks(s, "trial " + id));
    auto r = parse_trial(id, value);
    // Only the writer caches: it is the one process that changes records, so
    // its cache cannot go stale. A read-only view reads through.
    if (r.ok() && !options_.read_only && r->state == TrialState::kLeased) cache_[id] = *r;
    return r;
  }

  Result<Experiment> parse_experiment(const std::string& name, const std::string& value) {
    try {
      auto j = nlohmann::json::parse(value);
      Experiment e{j.at("name").get<std::string>(),       j.at("config_yaml").get<std::string>(),
                   j.at("strategy").get<std::string>(),   j.at("created_ms").get<int64_t>(),
                   j.at("schema_version").get<int64_t>(), j.value("definition", std::string()),
                   j.value("config", nlohmann::json())};
      e.revision = j.value("revision", int64_t{1});  // none before config revisions
      return e;
    } catch (const nlohmann::json::exception& e) {
      return Status::corruption(path_ + ": experiment " + name + ": " + e.what());
    }
  }

  Result<std::optional<Experiment>> get_experiment_locked(const std::string& name) {
    std::string value;
    auto s = db_->Get(rocksdb::ReadOptions(), cf_["experiments"], name, &value);
    if (s.IsNotFound()) return std::optional<Experiment>();
    DR_RETURN_IF_ERROR(from_rocks(s, "experiment " + name));
    auto e = parse_experiment(name, value);
    if (!e.ok()) return e.status();
    return std::optional<Experiment>(*e);
  }

  std::string path_;
  StoreOptions options_;
  // The filesystem of the DB and the artifacts: the options' env, one this
  // store owns (in memory), or the real one. Declared before db_: it outlives it.
  std::unique_ptr<rocksdb::Env> owned_env_;
  rocksdb::Env* env_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::map<std::string, rocksdb::ColumnFamilyHandle*> cf_;
  std::mutex mu_;
  // Why writing stopped (a failed write: a full disk...); "" while it works.
  std::string write_failure_;
  uint64_t last_seq_ = 0;
  uint64_t pending_events_ = 0;
  // Parsed trial records of this writer, kept coherent by commit(): the
  // coordinator reads a trial on every lease and result.
  std::unordered_map<std::string, TrialRecord> cache_;
  std::vector<TrialRecord> staged_;  // records of the batch being built
  struct Move {
    std::string id;
    std::optional<TrialState> from;  // nullopt: a new trial
    TrialState to;
  };
  std::vector<Move> moves_;  // state changes of the batch being built
  // The writer's state sets (id order), loaded at open, changed on commit.
  std::array<std::set<std::string>, 7> by_state_;  // one per TrialState
  bool indexed_ = false;
  std::vector<std::string> doomed_, written_;  // artifact files the batch replaces / writes
};

}  // namespace

Result<int64_t> store_schema_version(const std::string& path) {
  rocksdb::DBOptions o;
  std::vector<std::string> families;
  auto s = rocksdb::DB::ListColumnFamilies(o, path, &families);
  if (!s.ok()) return from_rocks(s, path);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const auto& f : families) descriptors.emplace_back(f, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  s = rocksdb::DB::OpenForReadOnly(o, path, descriptors, &handles, &raw);
  if (!s.ok()) return from_rocks(s, path);
  std::unique_ptr<rocksdb::DB> db(raw);
  std::string version;
  s = db->Get(rocksdb::ReadOptions(), db->DefaultColumnFamily(), kSchemaKey, &version);
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  if (s.IsNotFound()) return Status::corruption(path + ": not a complete deepreduce store (no schema version)");
  if (!s.ok()) return from_rocks(s, path);
  return static_cast<int64_t>(std::atoll(version.c_str()));
}

Result<std::unique_ptr<Store>> open_store(const std::string& path, const StoreOptions& options) {
  auto store = std::make_unique<RocksStore>(path, options);
  DR_RETURN_IF_ERROR(store->open());
  return std::unique_ptr<Store>(std::move(store));
}

Result<std::unique_ptr<Store>> open_memory_store(const StoreOptions& options) {
  StoreOptions o = options;
  o.env = nullptr;
  o.read_only = false;
  o.create_if_missing = true;
  auto store = std::make_unique<RocksStore>("/deepreduce-memory-store", o,
                                            std::unique_ptr<rocksdb::Env>(rocksdb::NewMemEnv(rocksdb::Env::Default())));
  DR_RETURN_IF_ERROR(store->open());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace deepreduce::storage
