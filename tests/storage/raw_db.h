// Opens a store's RocksDB directly, behind the store's back: to damage it, or
// to write records as an earlier build laid them out.
// Handles: 0 default, 1 experiments, 2 trials, 3 trial_index, 4 results, 5 artifacts, 6 events, 7 workers,
// 8 decisions (the families the store has, in this order).
#pragma once

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <vector>

namespace deepreduce::storage::testing {

inline void with_raw_db(const std::filesystem::path& dir,
                        const std::function<void(rocksdb::DB*, const std::vector<rocksdb::ColumnFamilyHandle*>&)>& f) {
  rocksdb::DB* raw;
  std::vector<rocksdb::ColumnFamilyHandle*> h;
  std::vector<std::string> present;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.string(), &present).ok()) << dir;
  std::vector<rocksdb::ColumnFamilyDescriptor> d;
  for (const char* f : {"default", "experiments", "trials", "trial_index", "results", "artifacts", "events", "workers",
                        "decisions"})
    if (std::find(present.begin(), present.end(), f) != present.end()) d.push_back({f, {}});
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), dir.string(), d, &h, &raw).ok());
  f(raw, h);
  for (auto* x : h) raw->DestroyColumnFamilyHandle(x);
  delete raw;
}

}  // namespace deepreduce::storage::testing
