// The RocksDB under a store: its column families, its creation (whole or not
// at all), its opening (schema version, read-only views, a store in use), its
// commits (synced, and never again after one failed), and the files beside it.
// Internal to storage/: the store's rules are storage/lifecycle.h, its
// artifact files storage/artifact_files.h, the Store itself rocks_store.cpp.
#pragma once

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/store.h"

namespace deepreduce::storage {

// RocksDB's status as ours, naming `what`; a full disk says so and that
// everything committed before is kept.
Status from_rocks(const rocksdb::Status& s, const std::string& what);

// The options every store's database is opened with (its Env, how its log is
// recovered: a log damaged before its end is refused, never cut in silence).
rocksdb::DBOptions db_options(rocksdb::Env* env);

// "PATH: the store is damaged: WHAT. Nothing was changed. `deepreduce repair
// --db PATH` ...": what every command that meets damage says.
std::string damaged_store(const std::string& path, const std::string& what);

// 8-byte big-endian keys (events): ordered as numbers.
std::string be64(uint64_t v);
uint64_t from_be64(const rocksdb::Slice& s);

class RocksDb {
 public:
  // The column families of a store (besides "default", which holds the schema version).
  static const std::vector<std::string>& families();
  // Whether `path` holds files of a RocksDB database (a manifest, tables, logs).
  static bool has_db_files(rocksdb::Env* env, const std::string& path);

  RocksDb(std::string path, StoreOptions options, std::unique_ptr<rocksdb::Env> owned_env = nullptr);
  ~RocksDb();
  RocksDb(const RocksDb&) = delete;
  RocksDb& operator=(const RocksDb&) = delete;

  // Opens the store's database, creating it first when there is none and the
  // options allow. Checks the schema version.
  Status open();

  const std::string& path() const { return path_; }
  const StoreOptions& options() const { return options_; }
  rocksdb::Env* env() const { return env_; }
  rocksdb::DB* db() const { return db_.get(); }
  // A family's handle; null for an optional family an older read-only store lacks.
  rocksdb::ColumnFamilyHandle* cf(const std::string& family) const;

  // Value of `key` in `family`: NotFound when absent, Corruption/IOError naming `what`.
  Status get(const std::string& family, const std::string& key, std::string* value, const std::string& what) const;
  std::unique_ptr<rocksdb::Iterator> iterator(const std::string& family) const;

  // OK while the process may write: FailedPrecondition on a read-only view,
  // IOError after a write failed (RocksDB then holds a background error, and
  // nothing more goes through it).
  Status writable() const;
  // Writes the batch (synced under Durability::kSync). A failure latches:
  // writable() says why from then on.
  Status commit(rocksdb::WriteBatch& batch);
  // The durability point of Durability::kGroupCommit.
  Status sync();

  // With under 1 MiB free in `dir`, `doing` is refused first (RocksDB meeting
  // a full disk while it creates or opens a store aborts in Debian's build).
  Status room_in(const std::string& dir, const std::string& doing, const std::string& where,
                 const std::string& tail) const;
  Status fsync_dir(const std::string& dir) const;

 private:
  rocksdb::DBOptions base_options() const;
  Status create();
  Status create_in_place();
  Status build_db(const std::string& where);

  std::string path_;
  StoreOptions options_;
  // The filesystem: the options' env, one this object owns (in memory), or
  // the real one. Declared before db_: it outlives it.
  std::unique_ptr<rocksdb::Env> owned_env_;
  rocksdb::Env* env_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::map<std::string, rocksdb::ColumnFamilyHandle*> cf_;
  // Why writing stopped (a failed write: a full disk...); "" while it works.
  std::string write_failure_;
};

}  // namespace deepreduce::storage
