// The files of a store's artifacts folder: models, checkpoints and masks
// (named by trial, kind and the start of their BLAKE2b, so a new version
// never overwrites the one a record names), each written durably before the
// record that names it commits. Internal to storage/; every file goes through
// the store's filesystem seam (a RocksDB Env).
#pragma once

#include <rocksdb/env.h>

#include <set>
#include <string>
#include <vector>

#include "common/status.h"

namespace deepreduce::storage {

class ArtifactFiles {
 public:
  // `store`: the store's folder; the files live in STORE/artifacts.
  ArtifactFiles(rocksdb::Env* env, const std::string& store);

  const std::string& dir() const { return dir_; }
  std::string path(const std::string& file) const { return dir_ + "/" + file; }
  // "<id>.<kind>.<first 16 hex digits of its BLAKE2b>".
  static std::string name(const std::string& id, const std::string& kind, const std::string& blake2b);

  // Writes `bytes` as `file` durably: a temporary file, fsynced, renamed, the
  // folder fsynced. A full disk is an IOError saying how much `what` needed;
  // nothing is left behind on failure.
  Status write(const std::string& file, const std::string& bytes, const std::string& what) const;
  // The whole file; NotFound when it is not there.
  Status read(const std::string& file, std::string* bytes, const std::string& what) const;
  bool exists(const std::string& file) const;
  // Removes a file; one that is not there is no error.
  void remove(const std::string& file) const;
  // Every file of the folder (names, no temporaries of live processes' writes filtered).
  std::vector<std::string> list() const;
  // Removes the files `keep` does not name, and the temporaries of writes a
  // crash cut short.
  void remove_others(const std::set<std::string>& keep) const;

 private:
  rocksdb::Env* env_;
  std::string store_, dir_;
};

}  // namespace deepreduce::storage
