#include "storage/recovery.h"

#include <rocksdb/db.h>

#include <algorithm>
#include <ctime>
#include <filesystem>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "common/clock.h"
#include "storage/rocks_db.h"

namespace deepreduce::storage {
namespace {

namespace fs = std::filesystem;

// The database's own files (what RocksDB reads and writes): not the
// artifacts, the checkpoints or earlier copies of damaged files.
std::vector<fs::path> db_files(const fs::path& dir) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file(ec) && e.path().filename() != "LOCK") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

Status copy_files(const std::vector<fs::path>& files, const fs::path& to) {
  std::error_code ec;
  fs::create_directories(to, ec);
  if (ec) return Status::io_error(to.string() + ": cannot create: " + ec.message());
  for (const auto& f : files) {
    fs::copy_file(f, to / f.filename(), fs::copy_options::overwrite_existing, ec);
    if (ec) return Status::io_error(f.string() + ": cannot copy to " + to.string() + ": " + ec.message());
  }
  return Status();
}

// Replaces the database's files with the checkpoint's.
Status restore_checkpoint(const fs::path& store, const std::string& name) {
  const fs::path from = store / "checkpoints" / name;
  std::error_code ec;
  if (!fs::is_directory(from, ec))
    return Status::not_found(store.string() + ": no checkpoint " + name + " (deepreduce repair --db " + store.string() +
                             " --list-checkpoints)");
  for (const auto& f : db_files(store)) fs::remove(f, ec);
  return copy_files(db_files(from), store);
}

// RocksDB's repair: the database rebuilt from the tables and logs it can read
// (a damaged log record is skipped, a damaged table set aside in lost/).
Status rocksdb_repair(const std::string& path) {
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  families.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (const auto& f : RocksDb::families()) families.emplace_back(f, rocksdb::ColumnFamilyOptions());
  rocksdb::DBOptions o = db_options(rocksdb::Env::Default());
  return from_rocks(rocksdb::RepairDB(path, o, families), path + ": RocksDB's repair");
}

}  // namespace

std::vector<std::string> list_checkpoints(const std::string& path) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(path) / "checkpoints", ec))
    if (e.is_directory(ec)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

Result<RepairReport> repair_store(const std::string& path, const RepairOptions& options) {
  RepairReport rep;
  StoreOptions open;
  open.create_if_missing = false;
  if (options.from_checkpoint.empty()) {
    auto store = open_store(path, open);
    // A table damaged where opening does not read shows in its checksums.
    Status checked = store.ok() ? (*store)->verify_records() : Status();
    if (store.ok() && checked.ok()) {
      rep.store = std::move(*store);
    } else if (store.ok()) {
      rep.damage = checked.message();
      store->reset();  // closed before its files are repaired
    } else if (store.status().code() != Status::Code::kCorruption) {
      return store.status();  // in use, not a store, another schema: nothing to repair here
    } else {
      rep.damage = store.status().message();
    }
  } else {
    rep.damage = "the records are replaced by a checkpoint, as asked";
  }
  if (!rep.store) {
    rep.records_repaired = true;
    // Nothing is destroyed: the damaged files are kept beside the store.
    const fs::path dir(path);
    // damaged-20261207T063012Z (UTC), one folder per repair.
    const std::string stamp = fmt::format("{:%Y%m%dT%H%M%SZ}", fmt::gmtime(static_cast<std::time_t>(now_ms() / 1000)));
    rep.kept_in = (dir / ("damaged-" + stamp)).string();
    for (int n = 2; fs::exists(rep.kept_in); ++n) rep.kept_in = (dir / fmt::format("damaged-{}-{}", stamp, n)).string();
    DR_RETURN_IF_ERROR(copy_files(db_files(dir), rep.kept_in));
    const auto checkpoints = list_checkpoints(path);
    std::string checkpoint = options.from_checkpoint == "latest" && !checkpoints.empty() ? checkpoints.back()
                                                                                          : options.from_checkpoint;
    if (options.from_checkpoint == "latest" && checkpoints.empty())
      return Status::not_found(path + ": the store has no checkpoint (the coordinator takes them: --checkpoint-every-s)");
    Status rebuilt;
    if (checkpoint.empty()) {
      rebuilt = rocksdb_repair(path);
      rep.how = "RocksDB's repair";
      if (!rebuilt.ok() && !checkpoints.empty()) {
        // What RocksDB cannot rebuild, the newest checkpoint replaces.
        for (const auto& f : db_files(dir)) fs::remove(f);
        DR_RETURN_IF_ERROR(copy_files(db_files(rep.kept_in), dir));
        checkpoint = checkpoints.back();
        rep.how = "checkpoint " + checkpoint + " (RocksDB's repair failed: " + rebuilt.message() + ")";
      }
    } else {
      rep.how = "checkpoint " + checkpoint;
    }
    if (!checkpoint.empty()) rebuilt = restore_checkpoint(dir, checkpoint);
    if (!rebuilt.ok()) return rebuilt.with_context("repairing " + path + " (the damaged files are in " + rep.kept_in + ")");
    StoreOptions recovering = open;
    recovering.recovering = true;
    auto store = open_store(path, recovering);
    if (!store.ok())
      return store.status().with_context("after " + rep.how + " (the damaged files are in " + rep.kept_in + ")");
    rep.store = std::move(*store);
  }
  auto readopted = rep.store->readopt();
  if (!readopted.ok()) return readopted.status();
  rep.readopted = *readopted;
  rep.last_event = rep.store->last_seq();
  return rep;
}

}  // namespace deepreduce::storage
