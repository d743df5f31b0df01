// Dataset loaders on files the tests write in the real formats, and on
// Debian's Fashion-MNIST.
#include "train/dataset.h"
#include "tests/test_dirs.h"

#include <gtest/gtest.h>

#include <set>
#include <zlib.h>

#include <filesystem>
#include <fstream>

namespace deepreduce::train {
namespace {
namespace fs = std::filesystem;

class DatasetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = deepreduce::testing::fresh_test_dir("dataset");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const fs::path& p, const std::string& bytes) {
    std::ofstream(p, std::ios::binary).write(bytes.data(), bytes.size());
  }
  void write_gz(const fs::path& p, const std::string& bytes) {
    gzFile f = gzopen(p.c_str(), "wb");
    gzwrite(f, bytes.data(), bytes.size());
    gzclose(f);
  }
  // n CIFAR records; record i has label(s) from `label` and pixel bytes i.
  std::string cifar_records(int n, int label_bytes, std::function<std::vector<uint8_t>(int)> label) {
    std::string out;
    for (int i = 0; i < n; ++i) {
      for (uint8_t b : label(i)) out.push_back(static_cast<char>(b));
      out.append(3072, static_cast<char>(i));
    }
    return out;
  }
  static std::string be32(uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
  }
  std::string idx_images(uint32_t n, uint32_t rows, uint32_t cols) {
    std::string s = be32(0x803) + be32(n) + be32(rows) + be32(cols);
    for (uint32_t i = 0; i < n * rows * cols; ++i) s.push_back(static_cast<char>(i % 251));
    return s;
  }
  std::string idx_labels(uint32_t n, int first = 0) {
    std::string s = be32(0x801) + be32(n);
    for (uint32_t i = 0; i < n; ++i) s.push_back(static_cast<char>((first + i) % 10));
    return s;
  }
  fs::path dir_;
};

TEST_F(DatasetTest, Cifar10ReadsTheFiveTrainingBatchesAndTheTestBatch) {
  for (int b = 1; b <= 5; ++b)
    write(dir_ / ("data_batch_" + std::to_string(b) + ".bin"),
          cifar_records(3, 1, [&](int i) { return std::vector<uint8_t>{uint8_t((b + i) % 10)}; }));
  write(dir_ / "test_batch.bin", cifar_records(4, 1, [](int i) { return std::vector<uint8_t>{uint8_t(9 - i)}; }));
  auto train = load_cifar10(dir_.string(), Split::kTrain);
  ASSERT_TRUE(train.ok()) << train.status().message();
  EXPECT_EQ(train->size(), 15);
  EXPECT_EQ(train->labels[0], 1);
  EXPECT_EQ(train->labels[3], 2);
  EXPECT_EQ(train->images[3072 * 2], 2);  // record 2 of batch 1
  auto test = load_cifar10(dir_.string(), Split::kTest);
  ASSERT_TRUE(test.ok());
  EXPECT_EQ(test->labels, (std::vector<int64_t>{9, 8, 7, 6}));
  EXPECT_EQ(test->channels * test->height * test->width, 3072);
}

TEST_F(DatasetTest, Cifar100UsesFineLabelsAndFindsItsSubfolder) {
  fs::create_directories(dir_ / "cifar-100-binary");
  write(dir_ / "cifar-100-binary" / "train.bin",
        cifar_records(5, 2, [](int i) { return std::vector<uint8_t>{uint8_t(i), uint8_t(90 + i)}; }));
  write(dir_ / "cifar-100-binary" / "test.bin",
        cifar_records(2, 2, [](int i) { return std::vector<uint8_t>{19, 99}; }));
  auto train = load_cifar100(dir_.string(), Split::kTrain);
  ASSERT_TRUE(train.ok()) << train.status().message();
  EXPECT_EQ(train->labels, (std::vector<int64_t>{90, 91, 92, 93, 94}));
  EXPECT_EQ(train->classes, 100);
  EXPECT_TRUE(load_cifar100(dir_.string(), Split::kTest).ok());
}

TEST_F(DatasetTest, CorruptCifarFilesAreErrorsThatNameTheFile) {
  write(dir_ / "test_batch.bin", std::string(3073 * 2 + 5, '\0'));
  auto r = load_cifar10(dir_.string(), Split::kTest);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_NE(r.status().message().find("test_batch.bin"), std::string::npos);
  EXPECT_NE(r.status().message().find("3073-byte"), std::string::npos);

  write(dir_ / "test_batch.bin", cifar_records(2, 1, [](int i) { return std::vector<uint8_t>{uint8_t(i ? 12 : 0)}; }));
  r = load_cifar10(dir_.string(), Split::kTest);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("record 1: label 12"), std::string::npos) << r.status().message();

  auto missing = load_cifar10((dir_ / "nowhere").string(), Split::kTrain);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("data_batch_1.bin"), std::string::npos);
}

TEST_F(DatasetTest, IdxReadsPlainAndGzipFiles) {
  write(dir_ / "train-images-idx3-ubyte", idx_images(6, 28, 28));
  write(dir_ / "train-labels-idx1-ubyte", idx_labels(6, 3));
  write_gz(dir_ / "t10k-images-idx3-ubyte.gz", idx_images(4, 28, 28));
  write_gz(dir_ / "t10k-labels-idx1-ubyte.gz", idx_labels(4));
  auto train = load_idx(dir_.string(), Split::kTrain, "mnist");
  ASSERT_TRUE(train.ok()) << train.status().message();
  EXPECT_EQ(train->size(), 6);
  EXPECT_EQ(train->labels[0], 3);
  EXPECT_EQ(train->channels, 1);
  EXPECT_EQ(train->images[28 * 28 + 1], (28 * 28 + 1) % 251);
  auto test = load_idx(dir_.string(), Split::kTest, "mnist");
  ASSERT_TRUE(test.ok()) << test.status().message();
  EXPECT_EQ(test->size(), 4);
}

TEST_F(DatasetTest, CorruptIdxFilesAreErrors) {
  struct Case {
    std::string images, labels, says;
  };
  const std::vector<Case> cases = {
      {be32(0x802) + idx_images(1, 2, 2).substr(4), idx_labels(1), "expected magic 0x00000803"},
      {idx_images(3, 28, 28).substr(0, 100), idx_labels(3), "but the file has 100 bytes"},
      {idx_images(3, 28, 28), idx_labels(2), "2 labels for 3 images"},
      {idx_images(2, 28, 28), be32(0x801) + be32(2) + std::string("\x01\x0c", 2), "label 1 is 12"},
  };
  for (const auto& c : cases) {
    write(dir_ / "t10k-images-idx3-ubyte", c.images);
    write(dir_ / "t10k-labels-idx1-ubyte", c.labels);
    auto r = load_idx(dir_.string(), Split::kTest, "mnist");
    ASSERT_FALSE(r.ok()) << c.says;
    EXPECT_NE(r.status().message().find(c.says), std::string::npos) << r.status().message();
  }
  write_gz(dir_ / "train-images-idx3-ubyte.gz", idx_images(2, 28, 28));
  std::string gz;
  {
    std::ifstream in(dir_ / "train-images-idx3-ubyte.gz", std::ios::binary);
    gz.assign(std::istreambuf_iterator<char>(in), {});
  }
  write(dir_ / "train-images-idx3-ubyte.gz", gz.substr(0, gz.size() / 2));  // truncated stream
  write(dir_ / "train-labels-idx1-ubyte", idx_labels(2));
  auto r = load_idx(dir_.string(), Split::kTrain, "mnist");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("train-images-idx3-ubyte.gz"), std::string::npos) << r.status().message();
}

TEST(DebianFashionMnistTest, LoadsTheRealFiles) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  auto test = load_idx(dir, Split::kTest, "fashion-mnist");
  ASSERT_TRUE(test.ok()) << test.status().message();
  EXPECT_EQ(test->size(), 10000);
  EXPECT_EQ(test->height, 28);
  std::vector<int> per_class(10);
  for (auto l : test->labels) per_class[l]++;
  for (int c : per_class) EXPECT_EQ(c, 1000);
}

TEST(SubsetTest, BalancedAndSeeded) {
  Dataset d = make_synthetic(1000, 10, 3, 8, 5);
  Dataset s = balanced_subset(d, 95, 1);
  ASSERT_EQ(s.size(), 95);
  std::vector<int> per(10);
  for (auto l : s.labels) per[l]++;
  for (int c = 0; c < 10; ++c) EXPECT_EQ(per[c], c < 5 ? 10 : 9);
  EXPECT_EQ(balanced_subset(d, 95, 1).images, s.images);
  EXPECT_NE(balanced_subset(d, 95, 2).images, s.images);
  EXPECT_EQ(balanced_subset(d, 0, 1).size(), 1000);
}

TEST(PadTest, CentresImagesInZeros) {
  Dataset d{"mnist", 1, 2, 2, 10, {1, 2, 3, 4}, {0}};
  Dataset p = pad_images(d, 4);
  EXPECT_EQ(p.images, (std::vector<uint8_t>{0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0}));
}

TEST(SyntheticTest, IsDeterministic) {
  EXPECT_EQ(make_synthetic(50, 10, 3, 8, 3).images, make_synthetic(50, 10, 3, 8, 3).images);
  EXPECT_NE(make_synthetic(50, 10, 3, 8, 3).images, make_synthetic(50, 10, 3, 8, 4).images);
}

TEST(HoldOutTest, AValidationSplitIsStratifiedDisjointAndSeeded) {
  const Dataset d = make_synthetic(1000, 10, 3, 8, 1);
  auto [rest, held] = hold_out(d, 200, 7);
  EXPECT_EQ(held.size(), 200);
  EXPECT_EQ(rest.size(), 800);
  std::vector<int> per_class(10, 0);
  for (auto l : held.labels) ++per_class[l];
  for (int c = 0; c < 10; ++c) EXPECT_EQ(per_class[c], 20) << c;
  // Disjoint and complete: every image of d is in exactly one of them.
  auto key = [](const Dataset& s, int64_t i) {
    return std::string(s.images.begin() + i * s.image_bytes(), s.images.begin() + (i + 1) * s.image_bytes());
  };
  std::multiset<std::string> all, parts;
  for (int64_t i = 0; i < d.size(); ++i) all.insert(key(d, i));
  for (int64_t i = 0; i < rest.size(); ++i) parts.insert(key(rest, i));
  for (int64_t i = 0; i < held.size(); ++i) parts.insert(key(held, i));
  EXPECT_EQ(all, parts);
  // The same seed holds out the same images; another seed others.
  EXPECT_EQ(hold_out(d, 200, 7).second.images, held.images);
  EXPECT_NE(hold_out(d, 200, 8).second.images, held.images);
}

}  // namespace
}  // namespace deepreduce::train
