// The artifact files of a store (storage/artifact_files.h) on their own:
// durable writes that leave nothing behind on failure, reads, and the sweep of
// files no record names.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include <rocksdb/env.h>

#include "storage/artifact_files.h"
#include "tests/storage/quota_env.h"
#include "tests/test_dirs.h"

namespace deepreduce::storage {
namespace {

namespace fs = std::filesystem;

TEST(ArtifactFilesTest, WritesReadsAndSweepsByName) {
  const fs::path store = testing::fresh_test_dir("artifact_files");
  fs::create_directories(store / "artifacts");
  ArtifactFiles files(rocksdb::Env::Default(), store.string());
  const std::string name = ArtifactFiles::name(std::string(32, 'a'), "model", std::string(64, 'f'));
  EXPECT_EQ(name, std::string(32, 'a') + ".model.ffffffffffffffff");
  ASSERT_TRUE(files.write(name, "weights", "the model of a").ok());
  std::string back;
  ASSERT_TRUE(files.read(name, &back, "the model of a").ok());
  EXPECT_EQ(back, "weights");
  auto missing = files.read("nope", &back, "the mask of b");
  EXPECT_EQ(missing.code(), Status::Code::kNotFound);
  EXPECT_NE(missing.message().find("the mask of b"), std::string::npos);
  // A temporary a crash left and a file no record names go; the named one stays.
  ASSERT_TRUE(files.write("orphan", "x", "an orphan").ok());
  { std::ofstream((store / "artifacts" / (name + ".tmp-99999")).string()) << "half"; }
  files.remove_others({name});
  EXPECT_EQ(files.list(), std::vector<std::string>{name});
}

TEST(ArtifactFilesTest, AFullDiskLeavesNoFileBehindAndSaysHowMuchWasNeeded) {
  const fs::path store = testing::fresh_test_dir("artifact_files_full");
  fs::create_directories(store / "artifacts");
  testing::QuotaEnv quota;
  quota.set_left(1024);
  ArtifactFiles files(quota.env(), store.string());
  auto s = files.write("big", std::string(4096, 'x'), "the model of c");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("the disk is full"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("4096 bytes"), std::string::npos) << s.message();
  EXPECT_TRUE(files.list().empty()) << "nothing half-written is left";
}

}  // namespace
}  // namespace deepreduce::storage
