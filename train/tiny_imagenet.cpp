#include "train/tiny_imagenet.h"

// jpeglib.h needs FILE and size_t declared first.
#include <cstddef>
#include <cstdio>
#include <jpeglib.h>

#include <algorithm>
#include <csetjmp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "common/digest.h"
#include "common/files.h"

namespace deepreduce::train {
namespace fs = std::filesystem;
namespace {

// wnids.txt and val_annotations.txt are a few hundred KB: a file of more is not TinyImageNet's.
constexpr size_t kMaxListBytes = 64u << 20;

constexpr int64_t kSize = 64;      // every TinyImageNet image is 64x64
constexpr int64_t kClasses = 200;
constexpr int64_t kMaxJpegBytes = 4 << 20;  // a 64x64 JPEG is a few KiB; anything near this is not one
constexpr char kCacheMagic[8] = {'D', 'R', 'T', 'I', 'N', '0', '0', '1'};

// libjpeg reports a fatal error by calling error_exit, which by default ends
// the process: here it jumps back to the decode call, which returns an error.
struct ErrorManager {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void on_error(j_common_ptr info) {
  auto* err = reinterpret_cast<ErrorManager*>(info->err);
  (*info->err->format_message)(info, err->message);
  std::longjmp(err->jump, 1);
}

// Decodes a 64x64 JPEG (colour or greyscale) into `out` as 3x64x64 CHW
// bytes. Returns an empty string, or what was wrong. No C++ object with a
// destructor lives between setjmp and longjmp here.
std::string decode(const std::string& bytes, uint8_t* out) {
  jpeg_decompress_struct info;
  ErrorManager err;
  info.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = on_error;
  err.mgr.output_message = [](j_common_ptr) {};  // warnings (a truncated file) are errors below
  static thread_local uint8_t row[kSize * 3];
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&info);
    return err.message;
  }
  jpeg_create_decompress(&info);
  jpeg_mem_src(&info, reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<unsigned long>(bytes.size()));
  if (jpeg_read_header(&info, TRUE) != JPEG_HEADER_OK) {
    jpeg_destroy_decompress(&info);
    return "not a JPEG image";
  }
  if (info.image_width != kSize || info.image_height != kSize) {
    const std::string what = "is " + std::to_string(info.image_width) + "x" + std::to_string(info.image_height) +
                             ", TinyImageNet images are 64x64";
    jpeg_destroy_decompress(&info);
    return what;
  }
  info.out_color_space = JCS_RGB;  // greyscale images (TinyImageNet has some) become three equal channels
  jpeg_start_decompress(&info);
  while (info.output_scanline < info.output_height) {
    const int64_t y = info.output_scanline;
    JSAMPROW rows[1] = {row};
    jpeg_read_scanlines(&info, rows, 1);
    for (int64_t x = 0; x < kSize; ++x)
      for (int64_t c = 0; c < 3; ++c) out[c * kSize * kSize + y * kSize + x] = row[x * 3 + c];
  }
  const bool damaged = err.mgr.num_warnings > 0;
  jpeg_finish_decompress(&info);
  jpeg_destroy_decompress(&info);
  return damaged ? "damaged JPEG data (truncated or corrupt)" : "";
}

struct Entry {
  fs::path path;
  int64_t label;
  uint64_t size;
};

Result<fs::path> find_root(const std::string& dir) {
  for (const fs::path& p : {fs::path(dir), fs::path(dir) / "tiny-imagenet-200"}) {
    std::error_code ec;
    if (fs::is_regular_file(p / "wnids.txt", ec)) return p;
  }
  return Status::not_found(dir + ": no TinyImageNet here (expected wnids.txt, train/ and val/ in it or in " +
                           (fs::path(dir) / "tiny-imagenet-200").string() + ")");
}

Result<std::map<std::string, int64_t>> read_wnids(const fs::path& root) {
  const fs::path file = root / "wnids.txt";
  auto text = read_text_file(file.string(), kMaxListBytes);
  if (!text.ok()) return text.status();
  std::map<std::string, int64_t> label_of;
  std::istringstream in(*text);
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    line.erase(line.find_last_not_of(" \t\r") + 1);
    if (line.empty()) continue;
    if (line.size() > 64 || line.find_first_of(" \t/\\") != std::string::npos)
      return Status::invalid_argument(file.string() + ":" + std::to_string(n) + ": \"" + line.substr(0, 64) +
                                      "\" is not a class id");
    if (!label_of.emplace(line, static_cast<int64_t>(label_of.size())).second)
      return Status::invalid_argument(file.string() + ":" + std::to_string(n) + ": class " + line + " is listed twice");
  }
  if (static_cast<int64_t>(label_of.size()) != kClasses)
    return Status::invalid_argument(file.string() + ": expected " + std::to_string(kClasses) + " class ids, found " +
                                    std::to_string(label_of.size()));
  return label_of;
}

// The files of a split with their labels, in a fixed order (by path).
Result<std::vector<Entry>> list_split(const fs::path& root, const std::map<std::string, int64_t>& label_of,
                                      Split split) {
  std::vector<Entry> out;
  std::error_code ec;
  auto add = [&](const fs::path& p, int64_t label) -> Status {
    const uint64_t size = fs::file_size(p, ec);
    if (ec) return Status::io_error(p.string() + ": " + ec.message());
    out.push_back({p, label, size});
    return Status();
  };
  if (split == Split::kTrain) {
    for (const auto& [wnid, label] : label_of) {
      const fs::path images = root / "train" / wnid / "images";
      if (!fs::is_directory(images, ec))
        return Status::not_found(images.string() + ": missing (every class in wnids.txt has its training images)");
      for (const auto& e : fs::directory_iterator(images, ec))
        if (e.path().extension() == ".JPEG" || e.path().extension() == ".jpg" || e.path().extension() == ".jpeg")
          DR_RETURN_IF_ERROR(add(e.path(), label));
      if (ec) return Status::io_error(images.string() + ": " + ec.message());
    }
  } else {
    const fs::path file = root / "val" / "val_annotations.txt";
    auto text = read_text_file(file.string(), kMaxListBytes);
    if (!text.ok()) return text.status();
    std::istringstream in(*text);
    std::string line;
    int64_t n = 0;
    while (std::getline(in, line)) {
      ++n;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      std::istringstream fields(line);
      std::string name, wnid;
      std::getline(fields, name, '\t');
      std::getline(fields, wnid, '\t');
      wnid.erase(wnid.find_last_not_of(" \r") + 1);
      const std::string where = file.string() + ":" + std::to_string(n);
      if (name.empty() || wnid.empty() || name.find('/') != std::string::npos || name.find("..") != std::string::npos)
        return Status::invalid_argument(where + ": expected FILE<tab>WNID, got \"" + line.substr(0, 80) + "\"");
      auto it = label_of.find(wnid);
      if (it == label_of.end())
        return Status::invalid_argument(where + ": class " + wnid.substr(0, 64) + " is not in wnids.txt");
      DR_RETURN_IF_ERROR(add(root / "val" / "images" / name, it->second));
    }
  }
  if (out.empty())
    return Status::not_found(root.string() + ": no " + (split == Split::kTrain ? "training" : "validation") +
                             " images found");
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.path < b.path; });
  return out;
}

// What the cache must match: every file's name (relative) and size, and the labels.
std::string fingerprint(const fs::path& root, const std::vector<Entry>& entries) {
  std::string listing;
  for (const auto& e : entries)
    listing += fs::relative(e.path, root).string() + "\t" + std::to_string(e.size) + "\t" + std::to_string(e.label) + "\n";
  return blake2b_hex(listing);
}

fs::path cache_path(const fs::path& root, Split split) {
  return root / ".deepreduce-cache" / (split == Split::kTrain ? "train.bin" : "val.bin");
}

// Cache layout: magic (8) | fingerprint length (u32) + fingerprint | count (u64) |
// labels (u8 each: 200 classes fit) | images (count x 3x64x64).
std::string encode_cache(const std::string& print, const Dataset& d) {
  std::string out(kCacheMagic, sizeof kCacheMagic);
  const uint32_t n = static_cast<uint32_t>(print.size());
  out.append(reinterpret_cast<const char*>(&n), sizeof n);
  out += print;
  const uint64_t count = static_cast<uint64_t>(d.size());
  out.append(reinterpret_cast<const char*>(&count), sizeof count);
  for (int64_t l : d.labels) out.push_back(static_cast<char>(l));
  out.append(reinterpret_cast<const char*>(d.images.data()), d.images.size());
  return out;
}

// The cached split if the cache matches `print` exactly; nullopt otherwise.
std::optional<Dataset> read_cache(const fs::path& file, const std::string& print, Dataset d) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  char magic[sizeof kCacheMagic];
  uint32_t n = 0;
  if (!in.read(magic, sizeof magic) || std::memcmp(magic, kCacheMagic, sizeof magic) != 0) return std::nullopt;
  if (!in.read(reinterpret_cast<char*>(&n), sizeof n) || n != print.size()) return std::nullopt;
  std::string stored(n, '\0');
  if (!in.read(stored.data(), n) || stored != print) return std::nullopt;
  uint64_t count = 0;
  if (!in.read(reinterpret_cast<char*>(&count), sizeof count) || count > 10'000'000) return std::nullopt;
  std::string labels(count, '\0');
  if (!in.read(labels.data(), static_cast<std::streamsize>(count))) return std::nullopt;
  d.images.resize(count * static_cast<uint64_t>(d.image_bytes()));
  if (!in.read(reinterpret_cast<char*>(d.images.data()), static_cast<std::streamsize>(d.images.size())))
    return std::nullopt;
  if (in.peek() != std::char_traits<char>::eof()) return std::nullopt;
  d.labels.reserve(count);
  for (char c : labels) {
    const auto l = static_cast<int64_t>(static_cast<uint8_t>(c));
    if (l >= kClasses) return std::nullopt;
    d.labels.push_back(l);
  }
  return d;
}

}  // namespace

Result<Dataset> load_tiny_imagenet(const std::string& dir, Split split) {
  auto root = find_root(dir);
  if (!root.ok()) return root.status();
  auto label_of = read_wnids(*root);
  if (!label_of.ok()) return label_of.status();
  auto entries = list_split(*root, *label_of, split);
  if (!entries.ok()) return entries.status();
  Dataset d{"tiny-imagenet", 3, kSize, kSize, kClasses, {}, {}};
  const std::string print = fingerprint(*root, *entries);
  const fs::path cache = cache_path(*root, split);
  if (auto cached = read_cache(cache, print, d)) return std::move(*cached);

  d.images.resize(entries->size() * static_cast<size_t>(d.image_bytes()));
  d.labels.reserve(entries->size());
  for (size_t i = 0; i < entries->size(); ++i) {
    const Entry& e = (*entries)[i];
    if (e.size > static_cast<uint64_t>(kMaxJpegBytes))
      return Status::invalid_argument(e.path.string() + ": " + std::to_string(e.size) +
                                      " bytes is too large for a 64x64 JPEG");
    auto bytes = read_text_file(e.path.string());
    if (!bytes.ok()) return bytes.status();
    if (std::string why = decode(*bytes, d.images.data() + i * d.image_bytes()); !why.empty())
      return Status::invalid_argument(e.path.string() + ": " + why);
    d.labels.push_back(e.label);
  }
  // Kept for the next load; a read-only folder just decodes again next time.
  std::error_code ec;
  fs::create_directories(cache.parent_path(), ec);
  if (!ec) (void)write_file_atomic(cache.string(), encode_cache(print, d));
  return d;
}

}  // namespace deepreduce::train
