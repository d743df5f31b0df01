#include "train/dataset.h"

#include "train/tiny_imagenet.h"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

namespace deepreduce::train {
namespace fs = std::filesystem;

namespace {

Result<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::io_error(path.string() + ": cannot open (" + (fs::exists(path) ? "permission?" : "no such file") + ")");
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::io_error(path.string() + ": read error");
  return data;
}

// Reads a whole file through zlib, which reads gzip and plain files alike.
Result<std::string> read_maybe_gzip(const fs::path& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return Status::io_error(path.string() + ": cannot open");
  std::string data;
  std::vector<char> buf(1 << 20);
  int n;
  while ((n = gzread(f, buf.data(), static_cast<unsigned>(buf.size()))) > 0) data.append(buf.data(), n);
  int err = 0;
  const char* msg = gzerror(f, &err);
  const std::string error = (n < 0 || (err != Z_OK && err != Z_STREAM_END)) ? msg : "";
  gzclose(f);
  if (!error.empty()) return Status::corruption(path.string() + ": gzip stream is corrupt (" + error + ")");
  return data;
}

// The folder that holds `probe`: dir itself or one of its known subfolders.
fs::path locate(const std::string& dir, const std::vector<std::string>& subdirs,
                const std::string& probe) {
  if (fs::exists(fs::path(dir) / probe)) return dir;
  for (const auto& s : subdirs)
    if (fs::exists(fs::path(dir) / s / probe)) return fs::path(dir) / s;
  return dir;
}

// CIFAR binary records: label byte(s), then 3072 bytes of 32x32 R, G, B planes.
Status read_cifar_file(const fs::path& path, int64_t label_bytes, int64_t label_index,
                       int64_t classes, int64_t label_limit_coarse, Dataset& out) {
  auto data = read_file(path);
  if (!data.ok()) return data.status();
  const int64_t record = label_bytes + 3072;
  const int64_t n = static_cast<int64_t>(data->size()) / record;
  if (data->empty() || static_cast<int64_t>(data->size()) % record != 0)
    return Status::corruption(path.string() + ": size " + std::to_string(data->size()) +
                              " is not a positive multiple of the " + std::to_string(record) +
                              "-byte CIFAR record (is this the binary version?)");
  const auto* bytes = reinterpret_cast<const uint8_t*>(data->data());
  const size_t base = out.images.size();
  out.images.resize(base + n * 3072);
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* r = bytes + i * record;
    if (label_bytes == 2 && r[0] >= label_limit_coarse)
      return Status::corruption(path.string() + ": record " + std::to_string(i) +
                                ": coarse label " + std::to_string(r[0]) + " is not below " +
                                std::to_string(label_limit_coarse));
    const int64_t label = r[label_index];
    if (label >= classes)
      return Status::corruption(path.string() + ": record " + std::to_string(i) + ": label " +
                                std::to_string(label) + " is not below " + std::to_string(classes));
    out.labels.push_back(label);
    std::copy(r + label_bytes, r + record, out.images.begin() + base + i * 3072);
  }
  return Status();
}

uint32_t be32(const std::string& s, size_t off) {
  const auto* b = reinterpret_cast<const uint8_t*>(s.data()) + off;
  return (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | uint32_t(b[3]);
}

// First existing of path and path.gz.
fs::path plain_or_gz(const fs::path& p) {
  if (fs::exists(p)) return p;
  if (fs::exists(p.string() + ".gz")) return p.string() + ".gz";
  return p.string() + "[.gz]";
}

}  // namespace

Result<Dataset> load_cifar10(const std::string& dir, Split split) {
  const fs::path root = locate(dir, {"cifar-10-batches-bin"}, "test_batch.bin");
  Dataset d{"cifar10", 3, 32, 32, 10, {}, {}};
  std::vector<std::string> files;
  if (split == Split::kTrain) {
    for (int i = 1; i <= 5; ++i) files.push_back("data_batch_" + std::to_string(i) + ".bin");
  } else {
    files.push_back("test_batch.bin");
  }
  for (const auto& f : files) DR_RETURN_IF_ERROR(read_cifar_file(root / f, 1, 0, 10, 0, d));
  return d;
}

Result<Dataset> load_cifar100(const std::string& dir, Split split) {
  const fs::path root = locate(dir, {"cifar-100-binary"}, "test.bin");
  Dataset d{"cifar100", 3, 32, 32, 100, {}, {}};
  DR_RETURN_IF_ERROR(read_cifar_file(root / (split == Split::kTrain ? "train.bin" : "test.bin"),
                                     2, 1, 100, 20, d));
  return d;
}

Result<Dataset> load_idx(const std::string& dir, Split split, const std::string& name) {
  const std::string prefix = split == Split::kTrain ? "train" : "t10k";
  const fs::path img_path = plain_or_gz(fs::path(dir) / (prefix + "-images-idx3-ubyte"));
  const fs::path lbl_path = plain_or_gz(fs::path(dir) / (prefix + "-labels-idx1-ubyte"));
  auto img = read_maybe_gzip(img_path);
  if (!img.ok()) return img.status();
  auto lbl = read_maybe_gzip(lbl_path);
  if (!lbl.ok()) return lbl.status();
  if (img->size() < 16 || be32(*img, 0) != 0x00000803)
    return Status::corruption(img_path.string() +
                              ": not an IDX image file (expected magic 0x00000803 for 3-d ubyte)");
  if (lbl->size() < 8 || be32(*lbl, 0) != 0x00000801)
    return Status::corruption(lbl_path.string() +
                              ": not an IDX label file (expected magic 0x00000801 for 1-d ubyte)");
  const int64_t n = be32(*img, 4), rows = be32(*img, 8), cols = be32(*img, 12);
  const int64_t nl = be32(*lbl, 4);
  if (rows < 1 || cols < 1 || rows > 4096 || cols > 4096)
    return Status::corruption(img_path.string() + ": implausible image size " +
                              std::to_string(rows) + "x" + std::to_string(cols));
  if (static_cast<int64_t>(img->size()) != 16 + n * rows * cols)
    return Status::corruption(img_path.string() + ": header says " + std::to_string(n) + " images of " +
                              std::to_string(rows) + "x" + std::to_string(cols) + " (" +
                              std::to_string(16 + n * rows * cols) + " bytes) but the file has " +
                              std::to_string(img->size()) + " bytes");
  if (static_cast<int64_t>(lbl->size()) != 8 + nl)
    return Status::corruption(lbl_path.string() + ": header says " + std::to_string(nl) +
                              " labels but the file has " + std::to_string(lbl->size() - 8));
  if (nl != n)
    return Status::corruption(lbl_path.string() + ": " + std::to_string(nl) + " labels for " +
                              std::to_string(n) + " images in " + img_path.string());
  Dataset d{name, 1, rows, cols, 10, {}, {}};
  d.images.assign(img->begin() + 16, img->end());
  d.labels.reserve(n);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t label = static_cast<uint8_t>((*lbl)[8 + i]);
    if (label >= 10)
      return Status::corruption(lbl_path.string() + ": label " + std::to_string(i) + " is " +
                                std::to_string(label) + ", not in 0..9");
    d.labels.push_back(label);
  }
  return d;
}

Dataset make_synthetic(int64_t size, int64_t classes, int64_t channels, int64_t hw, uint64_t seed) {
  Dataset d{"synthetic", channels, hw, hw, classes, {}, {}};
  const int64_t bytes = channels * hw * hw;
  // Class prototypes are smooth (a 4x4 grid of random levels, bilinearly
  // upsampled) so that they survive the crop-and-flip augmentation, and fixed
  // by the class count and shape alone, so splits drawn with different seeds
  // share them.
  std::mt19937_64 proto_rng(0x5eed0000ULL + static_cast<uint64_t>(classes * 131 + bytes));
  std::uniform_real_distribution<float> level(30.0f, 225.0f);
  constexpr int kGrid = 4;
  std::vector<float> protos(classes * bytes);
  for (int64_t k = 0; k < classes; ++k)
    for (int64_t c = 0; c < channels; ++c) {
      float grid[kGrid][kGrid];
      for (auto& row : grid)
        for (auto& g : row) g = level(proto_rng);
      for (int64_t y = 0; y < hw; ++y)
        for (int64_t x = 0; x < hw; ++x) {
          const float gy = (kGrid - 1) * static_cast<float>(y) / std::max<int64_t>(1, hw - 1);
          const float gx = (kGrid - 1) * static_cast<float>(x) / std::max<int64_t>(1, hw - 1);
          const int y0 = std::min(static_cast<int>(gy), kGrid - 2), x0 = std::min(static_cast<int>(gx), kGrid - 2);
          const float fy = gy - y0, fx = gx - x0;
          protos[((k * channels + c) * hw + y) * hw + x] =
              (1 - fy) * ((1 - fx) * grid[y0][x0] + fx * grid[y0][x0 + 1]) +
              fy * ((1 - fx) * grid[y0 + 1][x0] + fx * grid[y0 + 1][x0 + 1]);
        }
    }
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0.0f, 30.0f);
  d.images.resize(size * bytes);
  for (int64_t i = 0; i < size; ++i) {
    const int64_t label = i % classes;
    d.labels.push_back(label);
    for (int64_t k = 0; k < bytes; ++k) {
      const float v = protos[label * bytes + k] + noise(rng);
      d.images[i * bytes + k] = static_cast<uint8_t>(std::clamp(v, 0.0f, 255.0f));
    }
  }
  return d;
}

namespace {

using Loader = Result<Dataset> (*)(const std::string& dir, Split split);

Result<Dataset> load_synthetic(const std::string&, Split split) {
  const auto& row = **spec::find_dataset("synthetic");
  return make_synthetic(split == Split::kTrain ? row.train_images : row.test_images, row.classes, row.channels,
                        row.image_size, split == Split::kTrain ? 1 : 2);
}
Result<Dataset> load_mnist(const std::string& dir, Split split) { return load_idx(dir, split, "mnist"); }
Result<Dataset> load_fashion_mnist(const std::string& dir, Split split) {
  return load_idx(dir, split, "fashion-mnist");
}

// The loader of each row of spec/datasets.h's catalogue.
const std::map<std::string, Loader>& loaders() {
  static const std::map<std::string, Loader> kLoaders = {
      {"cifar10", load_cifar10}, {"cifar100", load_cifar100},         {"tiny-imagenet", load_tiny_imagenet},
      {"mnist", load_mnist},     {"fashion-mnist", load_fashion_mnist}, {"synthetic", load_synthetic},
  };
  return kLoaders;
}

}  // namespace

bool has_loader(const std::string& name) { return loaders().count(name) > 0; }

Result<Dataset> load_dataset(const std::string& name, const std::string& dir, Split split) {
  auto def = spec::find_dataset(name);
  if (!def.ok()) return def.status();
  if ((*def)->needs_files && dir.empty())
    return Status::invalid_argument("dataset " + name + ": no data directory given");
  auto it = loaders().find(name);
  if (it == loaders().end()) return Status::internal("dataset " + name + ": no loader is registered");
  return it->second(dir, split);
}

namespace {

// n indices of d, the same number of each class (the first classes one more
// when n is not a multiple), drawn with `seed`; sorted.
std::vector<int64_t> balanced_indices(const Dataset& d, int64_t n, uint64_t seed) {
  std::vector<std::vector<int64_t>> by_class(d.classes);
  for (int64_t i = 0; i < d.size(); ++i) by_class[d.labels[i]].push_back(i);
  std::mt19937_64 rng(seed);
  std::vector<int64_t> keep;
  const int64_t per = n / d.classes, extra = n % d.classes;
  for (int64_t c = 0; c < d.classes; ++c) {
    auto& idx = by_class[c];
    std::shuffle(idx.begin(), idx.end(), rng);
    const int64_t take = std::min<int64_t>(idx.size(), per + (c < extra ? 1 : 0));
    keep.insert(keep.end(), idx.begin(), idx.begin() + take);
  }
  std::sort(keep.begin(), keep.end());
  return keep;
}

Dataset select(const Dataset& d, const std::vector<int64_t>& keep) {
  Dataset s{d.name, d.channels, d.height, d.width, d.classes, {}, {}};
  const int64_t b = d.image_bytes();
  s.images.resize(keep.size() * b);
  for (size_t k = 0; k < keep.size(); ++k) {
    s.labels.push_back(d.labels[keep[k]]);
    std::copy_n(d.images.begin() + keep[k] * b, b, s.images.begin() + k * b);
  }
  return s;
}

}  // namespace

Dataset balanced_subset(const Dataset& d, int64_t n, uint64_t seed) {
  if (n <= 0 || n >= d.size()) return d;
  return select(d, balanced_indices(d, n, seed));
}

std::pair<Dataset, Dataset> hold_out(const Dataset& d, int64_t n, uint64_t seed) {
  const std::vector<int64_t> held = balanced_indices(d, n, seed);
  std::vector<int64_t> rest;
  rest.reserve(d.size() - held.size());
  for (int64_t i = 0, h = 0; i < d.size(); ++i) {
    if (h < static_cast<int64_t>(held.size()) && held[h] == i) {
      ++h;
      continue;
    }
    rest.push_back(i);
  }
  return {select(d, rest), select(d, held)};
}

Dataset pad_images(const Dataset& d, int64_t size) {
  if (d.height >= size && d.width >= size) return d;
  Dataset p{d.name, d.channels, size, size, d.classes, {}, d.labels};
  const int64_t top = (size - d.height) / 2, left = (size - d.width) / 2;
  p.images.assign(d.size() * d.channels * size * size, 0);
  for (int64_t i = 0; i < d.size(); ++i)
    for (int64_t c = 0; c < d.channels; ++c)
      for (int64_t y = 0; y < d.height; ++y) {
        const uint8_t* src = &d.images[((i * d.channels + c) * d.height + y) * d.width];
        uint8_t* dst = &p.images[((i * d.channels + c) * size + y + top) * size + left];
        std::copy_n(src, d.width, dst);
      }
  return p;
}

}  // namespace deepreduce::train
