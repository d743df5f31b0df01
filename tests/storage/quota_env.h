// A filesystem that runs out of space when a test says so, for the disk-full
// tests that need no root (no tmpfs to mount): a RocksDB Env over the real
// filesystem whose writes fail with ENOSPC's NoSpace once a byte budget is
// spent. The store takes it through StoreOptions::env, for its records (WAL,
// manifest, tables) and its artifact files alike; `only_under` limits the
// budget to paths containing that text ("/artifacts/": a model does not fit
// while the records still do).
#pragma once

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <memory>
#include <string>

namespace deepreduce::testing {

class QuotaEnv {
 public:
  explicit QuotaEnv(std::string only_under = "")
      : state_(std::make_shared<State>()),
        env_(rocksdb::NewCompositeEnv(std::make_shared<QuotaFs>(rocksdb::FileSystem::Default(), state_))) {
    state_->only_under = std::move(only_under);
  }
  rocksdb::Env* env() { return env_.get(); }
  // Bytes that may still be written (counted writes fail once it is spent).
  void set_left(int64_t bytes) { state_->left = bytes; }
  void unlimited() { state_->left = std::numeric_limits<int64_t>::max() / 2; }
  int64_t failed_writes() const { return state_->failed; }

 private:
  struct State {
    std::atomic<int64_t> left{std::numeric_limits<int64_t>::max() / 2};
    std::atomic<int64_t> failed{0};
    std::string only_under;
    bool counts(const std::string& path) const {
      return only_under.empty() || path.find(only_under) != std::string::npos;
    }
    rocksdb::IOStatus take(size_t n) {
      if (left.fetch_sub(static_cast<int64_t>(n)) < static_cast<int64_t>(n)) {
        left.fetch_add(static_cast<int64_t>(n));
        ++failed;
        return rocksdb::IOStatus::NoSpace("No space left on device (test quota)");
      }
      return rocksdb::IOStatus::OK();
    }
  };

  class QuotaFile final : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    QuotaFile(std::unique_ptr<rocksdb::FSWritableFile>&& f, std::shared_ptr<State> state)
        : FSWritableFileOwnerWrapper(std::move(f)), state_(std::move(state)) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* d) override {
      auto s = state_->take(data.size());
      return s.ok() ? target()->Append(data, o, d) : s;
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& o,
                             const rocksdb::DataVerificationInfo& v, rocksdb::IODebugContext* d) override {
      auto s = state_->take(data.size());
      return s.ok() ? target()->Append(data, o, v, d) : s;
    }
    rocksdb::IOStatus PositionedAppend(const rocksdb::Slice& data, uint64_t offset, const rocksdb::IOOptions& o,
                                       rocksdb::IODebugContext* d) override {
      auto s = state_->take(data.size());
      return s.ok() ? target()->PositionedAppend(data, offset, o, d) : s;
    }

   private:
    std::shared_ptr<State> state_;
  };

  class QuotaFs final : public rocksdb::FileSystemWrapper {
   public:
    QuotaFs(const std::shared_ptr<rocksdb::FileSystem>& base, std::shared_ptr<State> state)
        : FileSystemWrapper(base), state_(std::move(state)) {}
    static const char* kClassName() { return "DeepreduceQuotaFs"; }
    const char* Name() const override { return kClassName(); }
    rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSWritableFile>* r,
                                      rocksdb::IODebugContext* d) override {
      return wrap(f, target()->NewWritableFile(f, o, r, d), r);
    }
    rocksdb::IOStatus ReopenWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                         std::unique_ptr<rocksdb::FSWritableFile>* r,
                                         rocksdb::IODebugContext* d) override {
      return wrap(f, target()->ReopenWritableFile(f, o, r, d), r);
    }
    rocksdb::IOStatus ReuseWritableFile(const std::string& f, const std::string& old, const rocksdb::FileOptions& o,
                                        std::unique_ptr<rocksdb::FSWritableFile>* r,
                                        rocksdb::IODebugContext* d) override {
      return wrap(f, target()->ReuseWritableFile(f, old, o, r, d), r);
    }
    // What is left of the budget, as statvfs would say it (the store checks
    // it before creating and before opening for writing).
    rocksdb::IOStatus GetFreeSpace(const std::string& path, const rocksdb::IOOptions& o, uint64_t* free,
                                   rocksdb::IODebugContext* d) override {
      if (!state_->only_under.empty()) return target()->GetFreeSpace(path, o, free, d);
      *free = static_cast<uint64_t>(std::max<int64_t>(0, state_->left.load()));
      return rocksdb::IOStatus::OK();
    }

   private:
    rocksdb::IOStatus wrap(const std::string& f, rocksdb::IOStatus s, std::unique_ptr<rocksdb::FSWritableFile>* r) {
      if (s.ok() && state_->counts(f)) *r = std::make_unique<QuotaFile>(std::move(*r), state_);
      return s;
    }
    std::shared_ptr<State> state_;
  };

  std::shared_ptr<State> state_;
  std::unique_ptr<rocksdb::Env> env_;
};

}  // namespace deepreduce::testing
