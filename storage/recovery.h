// Bringing a damaged store back (`deepreduce repair`): a disk that flipped or
// lost bytes of the store's records (its write-ahead log, a table file, the
// manifest, CURRENT) is repaired, and every finished trial whose result copy
// and artifacts are whole on disk is re-adopted, so nothing finished is
// trained again.
//
//   1. The store opens: nothing to repair in its records (re-adoption still
//      runs: a result whose record was lost comes back).
//   2. It does not (storage/store.h says why): the damaged records are kept
//      in STORE/damaged-<time>/ (copies of every file of the database), then
//      RocksDB's repair rebuilds the database from what it can read (tables,
//      and logs up to a damaged record, skipping it); or, asked for or when
//      RocksDB's repair fails, the newest checkpoint (STORE/checkpoints/,
//      Store::checkpoint) replaces them.
//   3. Opened again, every trial whose copy verifies is done again with its
//      result and artifacts; what was running goes back to pending when the
//      coordinator starts; what cannot be re-adopted is trained again when
//      `run` plans it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/store.h"

namespace deepreduce::storage {

struct RepairOptions {
  // Restore a checkpoint instead of RocksDB's repair: "" none (RocksDB's
  // repair, the newest checkpoint if that fails), "latest", or its folder name.
  std::string from_checkpoint;
};

struct RepairReport {
  bool records_repaired = false;  // the records were damaged and rebuilt
  std::string damage;             // what opening the store said, when it was damaged
  std::string how;                // "RocksDB's repair" or "checkpoint NAME"
  std::string kept_in;            // where the damaged files were copied
  uint64_t last_event = 0;        // the last event the repaired records hold
  Store::Readopted readopted;     // trials brought back from their result copies
  std::unique_ptr<Store> store;   // the repaired store, open for writing
};

// Repairs the store in `path` (which no process may hold) as above.
Result<RepairReport> repair_store(const std::string& path, const RepairOptions& options = {});

// The checkpoints of a store, oldest first (folder names under STORE/checkpoints).
std::vector<std::string> list_checkpoints(const std::string& path);

}  // namespace deepreduce::storage
