#include "storage/rocks_db.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>

namespace deepreduce::storage {
namespace {

constexpr const char* kArtifactDir = "artifacts";
constexpr const char* kSchemaKey = "schema_version";

// Families a store of this schema may lack (written by an earlier build): added on a writable open.
bool optional_family(const std::string& f) { return f == "workers" || f == "decisions"; }

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

}  // namespace

Status from_rocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status();
  if (s.IsNoSpace() || disk_full(s.ToString()))
    return Status::io_error(what + ": the disk is full (" + s.ToString() +
                            "); free space and start again: everything committed before is kept");
  if (s.IsNotFound()) return Status::not_found(what + ": " + s.ToString());
  if (s.IsCorruption())
    return Status::corruption(what + ": " + s.ToString() +
                              " (the store's records are damaged: `deepreduce repair --db STORE` brings them back)");
  if (s.IsIOError()) return Status::io_error(what + ": " + s.ToString());
  return Status::unavailable(what + ": " + s.ToString());
}

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

const std::vector<std::string>& RocksDb::families() {
  static const std::vector<std::string> kFamilies = {"experiments", "trials",  "trial_index", "results",
                                                     "artifacts",   "events",  "workers",     "decisions"};
  return kFamilies;
}

RocksDb::RocksDb(std::string path, StoreOptions options, std::unique_ptr<rocksdb::Env> owned_env)
    : path_(std::move(path)),
      options_(options),
      owned_env_(std::move(owned_env)),
      env_(owned_env_ ? owned_env_.get() : options.env ? options.env : rocksdb::Env::Default()) {}

RocksDb::~RocksDb() {
  if (!db_) return;
  // After a failed write RocksDB holds a background error: syncing or closing
  // then trips an assertion in Debian's build (an abort instead of the message
  // already given). What was committed before is durable either way, so the
  // DB is left to the process's end.
  if (!write_failure_.empty()) {
    (void)db_.release();
    return;
  }
  if (!options_.read_only) sync_wal(db_.get());
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  db_->Close();
}

rocksdb::ColumnFamilyHandle* RocksDb::cf(const std::string& family) const {
  auto it = cf_.find(family);
  return it == cf_.end() ? nullptr : it->second;
}

Status RocksDb::get(const std::string& family, const std::string& key, std::string* value,
                    const std::string& what) const {
  auto* h = cf(family);
  if (!h) return Status::not_found(what + ": not in this store");
  return from_rocks(db_->Get(rocksdb::ReadOptions(), h, key, value), what);
}

std::unique_ptr<rocksdb::Iterator> RocksDb::iterator(const std::string& family) const {
  return std::unique_ptr<rocksdb::Iterator>(db_->NewIterator(rocksdb::ReadOptions(), cf(family)));
}

rocksdb::DBOptions RocksDb::base_options() const { return db_options(env_); }

rocksdb::DBOptions db_options(rocksdb::Env* env) {
  rocksdb::DBOptions o;
  o.env = env;
  // Damage is said, never rolled back in silence: a log damaged before its
  // end refuses to open (only a torn last record, a crash mid-write, is
  // dropped), and a closed log missing or shorter than the manifest recorded
  // is an error too. The store's result copies catch what these cannot
  // (storage/recovery.h).
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  o.track_and_verify_wals_in_manifest = true;
  o.paranoid_checks = true;
  o.keep_log_file_num = 4;
  o.max_manifest_file_size = 64 << 20;
  o.max_total_wal_size = 64 << 20;  // records only (artifacts are files): flush rather than pile up WAL
  return o;
}

bool RocksDb::has_db_files(rocksdb::Env* env, const std::string& path) {
  std::vector<std::string> files;
  if (!env->GetChildren(path, &files).ok()) return false;
  for (const auto& f : files)
    if (f.rfind("MANIFEST-", 0) == 0 || (f.size() > 4 && (f.substr(f.size() - 4) == ".sst" || f.substr(f.size() - 4) == ".log")))
      return true;
  return false;
}

std::string damaged_store(const std::string& path, const std::string& what) {
  return path + ": the store is damaged: " + what +
         ". Nothing was changed. `deepreduce repair --db " + path +
         "` repairs it and brings back every finished trial whose results are whole on disk (it keeps a copy of "
         "the damaged files); then run again";
}

Status RocksDb::open() {
  if (!env_->FileExists(path_ + "/CURRENT").ok()) {
    // Its database files without the file that names the current manifest: a damaged store, not an empty folder.
    if (has_db_files(env_, path_)) return Status::corruption(damaged_store(path_, "its CURRENT file is missing"));
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
  if (s.IsCorruption()) return Status::corruption(damaged_store(path_, "RocksDB cannot read its manifest (" + s.ToString() + ")"));
  if (!s.ok()) return from_rocks(s, path_);
  std::set<std::string> have(present.begin(), present.end());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  std::vector<std::string> opened;
  for (const auto& f : families()) {
    if (!have.count(f)) {
      if (!optional_family(f) && !options_.recovering)
        return Status::corruption(path_ + ": not a complete deepreduce store: column family \"" + f + "\" is missing");
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
    if (s.IsCorruption() || (s.IsIOError() && s.ToString().find("Corruption") != std::string::npos))
      return Status::corruption(damaged_store(path_, "RocksDB refuses to open its records (" + s.ToString() + ")"));
    return from_rocks(s, path_);
  }
  db_.reset(db);
  for (size_t i = 0; i < opened.size(); ++i) cf_[opened[i]] = handles_[i + 1];

  std::string version;
  s = db_->Get(rocksdb::ReadOptions(), handles_[0], kSchemaKey, &version);
  if (s.IsNotFound() && options_.recovering && !options_.read_only) {
    // A repair that lost the record of the version writes this build's.
    rocksdb::WriteOptions wo;
    wo.sync = true;
    version = std::to_string(kSchemaVersion);
    s = db_->Put(wo, handles_[0], kSchemaKey, version);
    if (!s.ok()) return from_rocks(s, path_ + ": writing its schema version");
  }
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
  return Status();
}

Status RocksDb::writable() const {
  if (options_.read_only) return Status::failed_precondition(path_ + ": opened read-only");
  if (!write_failure_.empty())
    return Status::io_error(write_failure_ + " (this process writes no more to the store; everything committed "
                            "before is kept: free space and start again)");
  return Status();
}

Status RocksDb::commit(rocksdb::WriteBatch& batch) {
  rocksdb::WriteOptions wo;
  wo.sync = options_.durability == Durability::kSync;
  auto s = db_->Write(wo, &batch);
  // A failed write leaves RocksDB in an error state: nothing more is written
  // through it (no call that could assert after the failure).
  if (!s.ok()) write_failure_ = from_rocks(s, path_ + ": writing its records").message();
  return from_rocks(s, path_ + ": write");
}

Status RocksDb::sync() {
  if (options_.read_only) return Status();
  DR_RETURN_IF_ERROR(writable());
  Status s = from_rocks(sync_wal(db_.get()), path_ + ": sync");
  if (!s.ok()) write_failure_ = s.message();
  return s;
}

// Builds a complete store (every family, the schema version, the artifacts
// folder) in a sibling temp folder, then renames it into place: a kill at
// any moment leaves either no store or a whole one. Temp folders of
// processes that died are removed.
Status RocksDb::create() {
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
Status RocksDb::create_in_place() {
  DR_RETURN_IF_ERROR(from_rocks(env_->CreateDirIfMissing(path_), path_ + ": creating the store"));
  DR_RETURN_IF_ERROR(room_in(path_, "creating a store", "", ""));
  DR_RETURN_IF_ERROR(build_db(path_));
  return from_rocks(env_->CreateDirIfMissing(path_ + "/" + kArtifactDir), path_ + ": creating the store");
}

// A new database in `where` with every family and the schema version,
// synced and closed. Closing a DB after a failed write asserts in Debian's
// RocksDB: a half-made one is left to the process's end.
Status RocksDb::build_db(const std::string& where) {
  rocksdb::DBOptions o = base_options();
  o.create_if_missing = true;
  o.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (const auto& f : families()) descriptors.emplace_back(f, rocksdb::ColumnFamilyOptions());
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
Status RocksDb::room_in(const std::string& dir, const std::string& doing, const std::string& where,
                      const std::string& tail) const {
  constexpr uint64_t kRoom = 1u << 20;
  uint64_t room = 0;
  if (!env_->GetFreeSpace(dir, &room).ok() || room >= kRoom) return Status();
  return Status::io_error(path_ + ": the disk is full: " + doing + " needs " + std::to_string(kRoom) + " bytes free" +
                          where + ", " + std::to_string(room) + " are" + tail);
}

Status RocksDb::fsync_dir(const std::string& dir) const {
  std::unique_ptr<rocksdb::Directory> d;
  auto s = env_->NewDirectory(dir, &d);
  if (s.ok()) s = d->Fsync();
  if (s.ok()) s = d->Close();
  return from_rocks(s, dir + ": fsync");
}

}  // namespace deepreduce::storage
