// Bringing a store of an earlier schema to this one. Version 2 hashed where a
// trial's data lived into its id; version 3 does not, so every id changes and
// every reference to one (a KD teacher, a base trial) with it. Version 3 kept
// each experiment's config as YAML only; version 4 keeps it parsed (JSON) with
// the strategies' decisions, so reports never parse YAML: migrating a version-3
// store keeps every id and parses each config once.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "common/log.h"
#include "common/status.h"
#include "storage/store.h"

namespace deepreduce::storage {

struct MigrationSummary {
  int64_t from_version = 0;
  int64_t trials = 0;     // trials read
  int64_t merged = 0;     // trials that became one (they differed only in where their data lived)
  int64_t results = 0;    // results carried over
  int64_t artifacts = 0;  // models and checkpoints carried over
  std::map<std::string, std::string> ids;  // old id -> new id
  std::string backup;     // where the old store now is
};

struct MigrationOptions {
  // Gives the trials of the migrated store (new ids, states and results in
  // place) their roles, before it replaces the old one; the search library
  // knows them, storage does not.
  std::function<Status(Store&)> assign_roles;
  // An experiment's definition digest from its config text (Experiment::definition):
  // schema 2 kept none, and without one a rerun is compared by text.
  std::function<std::string(const std::string&)> definition;
  // An experiment's parsed config (canonical JSON, null for a trial list) from
  // its stored YAML: the one place a migration reads YAML.
  std::function<Result<nlohmann::json>(const Experiment&)> config;
  Log log;
};

// Migrates the store in `path` in place, crash-safe at every step:
//   1. the new store is built complete in PATH.migrating (a leftover one from
//      an interrupted run is removed first);
//   2. PATH is renamed to PATH.vN (N its schema: the backup, kept for the user to remove);
//   3. PATH.migrating is renamed to PATH.
// Run again after a crash, it finishes or restarts whichever step was cut
// short. The old store is opened for writing (its lock) so no coordinator can
// use it meanwhile. Trials keep their state, results, final weights and
// checkpoints; a trial leased in the old store is pending in the new one (its
// checkpoint kept); events are not carried over (one `migrated` event per
// trial names its old id); attempt counts start over.
Result<MigrationSummary> migrate_store(const std::string& path, const MigrationOptions& options = {});

}  // namespace deepreduce::storage
