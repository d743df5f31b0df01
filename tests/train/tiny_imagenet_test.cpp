// TinyImageNet on JPEG trees these tests write in the tiny-imagenet-200
// layout (libjpeg-turbo encodes them): labels follow wnids.txt, pixels survive
// the round trip, the decoded cache is reused and invalidated, broken files
// are named, and a network trains on it at 64x64.
#include "train/tiny_imagenet.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <jpeglib.h>

#include <filesystem>
#include <fstream>

#include "spec/counts.h"
#include "tests/test_dirs.h"
#include "tests/train/tiny_job.h"
#include "train/trainer.h"

namespace deepreduce::train {
namespace {
namespace fs = std::filesystem;

// A 64x64 (or size x size) JPEG of a pattern that encodes the class and the image.
std::string encode(int64_t size, int components, int cls, int k, int quality = 95) {
  std::vector<uint8_t> pixels(static_cast<size_t>(size * size * components));
  for (int64_t y = 0; y < size; ++y)
    for (int64_t x = 0; x < size; ++x)
      for (int c = 0; c < components; ++c)
        pixels[(y * size + x) * components + c] =
            static_cast<uint8_t>((cls * 37 + c * 80 + k * 11 + (x / 16) * 20 + (y / 16) * 10) % 256);
  jpeg_compress_struct info;
  jpeg_error_mgr err;
  info.err = jpeg_std_error(&err);
  jpeg_create_compress(&info);
  unsigned char* buffer = nullptr;
  unsigned long length = 0;
  jpeg_mem_dest(&info, &buffer, &length);
  info.image_width = static_cast<JDIMENSION>(size);
  info.image_height = static_cast<JDIMENSION>(size);
  info.input_components = components;
  info.in_color_space = components == 3 ? JCS_RGB : JCS_GRAYSCALE;
  jpeg_set_defaults(&info);
  jpeg_set_quality(&info, quality, TRUE);
  jpeg_start_compress(&info, TRUE);
  while (info.next_scanline < info.image_height) {
    JSAMPROW row = &pixels[info.next_scanline * size * components];
    jpeg_write_scanlines(&info, &row, 1);
  }
  jpeg_finish_compress(&info);
  std::string out(reinterpret_cast<char*>(buffer), length);
  jpeg_destroy_compress(&info);
  std::free(buffer);
  return out;
}

void write(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

std::string wnid(int c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "n%08d", 1000 + c);
  return buf;
}

class TinyImageNetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = deepreduce::testing::fresh_test_dir("tiny_imagenet");
    root_ = dir_ / "tiny-imagenet-200";
    // Classes listed out of order: a label is the line in wnids.txt, not the sorted position.
    std::string wnids;
    for (int c = 199; c >= 0; --c) wnids += wnid(c) + "\n";
    write(root_ / "wnids.txt", wnids);
    std::string annotations;
    for (int c = 0; c < 200; ++c) {
      for (int k = 0; k < kPerClass; ++k)
        write(root_ / "train" / wnid(c) / "images" / (wnid(c) + "_" + std::to_string(k) + ".JPEG"), encode(64, 3, c, k));
      const std::string name = "val_" + std::to_string(c) + ".JPEG";
      // One greyscale validation image, as the real set has.
      write(root_ / "val" / "images" / name, encode(64, c == 7 ? 1 : 3, c, 99));
      annotations += name + "\t" + wnid(c) + "\t0\t0\t63\t63\n";
    }
    write(root_ / "val" / "val_annotations.txt", annotations);
  }
  void TearDown() override { fs::remove_all(dir_); }
  static int label_of(int c) { return 199 - c; }
  static constexpr int kPerClass = 2;
  fs::path dir_, root_;
};

TEST_F(TinyImageNetTest, ReadsTheLayoutWithLabelsFromWnidsAndPixelsIntact) {
  auto train = load_dataset("tiny-imagenet", dir_.string(), Split::kTrain);  // finds tiny-imagenet-200 inside
  ASSERT_TRUE(train.ok()) << train.status().message();
  EXPECT_EQ(train->size(), 200 * kPerClass);
  EXPECT_EQ(train->classes, 200);
  EXPECT_EQ(train->height, 64);
  EXPECT_EQ(train->channels, 3);
  std::vector<int> per_class(200);
  for (int64_t l : train->labels) per_class[l]++;
  for (int n : per_class) EXPECT_EQ(n, kPerClass);
  // Files are read in path order: class n00001000 (the last line of wnids.txt) comes first.
  EXPECT_EQ(train->labels[0], label_of(0));
  // The first image's pixels: class 0, image 0; JPEG at quality 95 is close, not exact.
  int worst = 0;
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 64; ++y)
      for (int x = 0; x < 64; ++x) {
        const int want = (0 * 37 + c * 80 + 0 * 11 + (x / 16) * 20 + (y / 16) * 10) % 256;
        worst = std::max(worst, std::abs(want - train->images[c * 4096 + y * 64 + x]));
      }
  EXPECT_LE(worst, 12);

  auto val = load_tiny_imagenet(root_.string(), Split::kTest);
  ASSERT_TRUE(val.ok()) << val.status().message();
  EXPECT_EQ(val->size(), 200);
  // val_7 (greyscale) is decoded to three equal channels; val files sort as strings.
  std::vector<std::string> names;
  for (int c = 0; c < 200; ++c) names.push_back("val_" + std::to_string(c) + ".JPEG");
  std::sort(names.begin(), names.end());
  const int64_t i7 = std::find(names.begin(), names.end(), "val_7.JPEG") - names.begin();
  EXPECT_EQ(val->labels[i7], label_of(7));
  const uint8_t* img = val->images.data() + i7 * val->image_bytes();
  for (int p = 0; p < 4096; ++p) {
    ASSERT_EQ(img[p], img[4096 + p]);
    ASSERT_EQ(img[p], img[8192 + p]);
  }
}

TEST_F(TinyImageNetTest, DecodesOnceIntoACacheThatAChangedTreeInvalidates) {
  auto first = load_tiny_imagenet(dir_.string(), Split::kTrain);
  ASSERT_TRUE(first.ok()) << first.status().message();
  const fs::path cache = root_ / ".deepreduce-cache" / "train.bin";
  ASSERT_TRUE(fs::exists(cache));
  EXPECT_EQ(fs::file_size(cache), 8 + 4 + 64 + 8 + 400 + 400 * 3 * 64 * 64u);
  auto again = load_tiny_imagenet(dir_.string(), Split::kTrain);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->images, first->images);
  EXPECT_EQ(again->labels, first->labels);
  // Read from the cache: a JPEG damaged in place, same name and size, is not decoded again.
  const fs::path one = root_ / "train" / wnid(3) / "images" / (wnid(3) + "_0.JPEG");
  {
    std::fstream f(one, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(200);
    f.write("\0\0\0\0", 4);
  }
  EXPECT_TRUE(load_tiny_imagenet(dir_.string(), Split::kTrain).ok());
  // Another image in its place (another size): decoded again, the new pixels are there.
  write(one, encode(64, 3, 150, 5, 60));
  auto changed = load_tiny_imagenet(dir_.string(), Split::kTrain);
  ASSERT_TRUE(changed.ok()) << changed.status().message();
  EXPECT_NE(changed->images, first->images);
  // A damaged cache is not trusted: decoded again.
  write(cache, "DRTIN001garbage");
  auto rebuilt = load_tiny_imagenet(dir_.string(), Split::kTrain);
  ASSERT_TRUE(rebuilt.ok());
  EXPECT_EQ(rebuilt->images, changed->images);
}

TEST_F(TinyImageNetTest, BrokenFilesAreNamed) {
  const fs::path img = root_ / "train" / wnid(5) / "images" / (wnid(5) + "_1.JPEG");
  const std::string good = encode(64, 3, 5, 1);
  write(img, good.substr(0, good.size() / 2));  // truncated
  auto truncated = load_tiny_imagenet(dir_.string(), Split::kTrain);
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.status().message().find(img.string() + ": "), std::string::npos) << truncated.status().message();

  write(img, encode(32, 3, 5, 1));
  auto small = load_tiny_imagenet(dir_.string(), Split::kTrain);
  ASSERT_FALSE(small.ok());
  EXPECT_EQ(small.status().message(), img.string() + ": is 32x32, TinyImageNet images are 64x64");

  write(img, "this is not a picture");
  auto garbage = load_tiny_imagenet(dir_.string(), Split::kTrain);
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.status().message().find(img.string()), std::string::npos);

  write(root_ / "val" / "val_annotations.txt", "val_0.JPEG\tn99999999\t0\t0\t1\t1\n");
  auto unknown = load_tiny_imagenet(dir_.string(), Split::kTest);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().message(),
            (root_ / "val" / "val_annotations.txt").string() + ":1: class n99999999 is not in wnids.txt");

  write(root_ / "wnids.txt", "n00000001\n");
  auto few = load_tiny_imagenet(dir_.string(), Split::kTrain);
  ASSERT_FALSE(few.ok());
  EXPECT_EQ(few.status().message(), (root_ / "wnids.txt").string() + ": expected 200 class ids, found 1");

  auto nowhere = load_tiny_imagenet((dir_ / "nothing").string(), Split::kTrain);
  ASSERT_FALSE(nowhere.ok());
  EXPECT_NE(nowhere.status().message().find("no TinyImageNet here"), std::string::npos);
}

TEST_F(TinyImageNetTest, ANetworkTrainsOnItAt64x64) {
  spec::TrainJob job = testing::tiny_job();
  job.data.dataset = "tiny-imagenet";
  job.data.data_dir = dir_.string();
  job.data.train_subset = 0;
  job.data.test_subset = 0;
  job.model.classes = 200;
  job.model.input_size = 64;
  job.train.epochs = 1;
  auto r = run_training(job, testing::cpu_run(), (dir_ / "run").string());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->completed);
  auto counts = spec::count(job.model);
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(r->relus, counts->relus);
  spec::ModelSpec at32 = job.model;
  at32.input_size = 32;
  EXPECT_EQ(r->relus, 4 * spec::count(at32)->relus) << "64x64 inputs: four times the ReLUs of 32x32";
}

}  // namespace
}  // namespace deepreduce::train
