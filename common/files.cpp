#include "common/files.h"

#include <filesystem>
#include <fstream>

namespace deepreduce {

Result<std::string> read_text_file(const std::string& path, size_t max_bytes) {
  if (!std::filesystem::exists(path)) return Status::not_found(path + ": no such file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::io_error(path + ": cannot open");
  // Read in pieces, never past the bound (a FIFO or a device has no size to check first).
  std::string out;
  char buf[1 << 16];
  while (in) {
    in.read(buf, sizeof buf);
    out.append(buf, static_cast<size_t>(in.gcount()));
    if (out.size() > max_bytes)
      return Status::invalid_argument(path + ": larger than " + std::to_string(max_bytes) + " bytes, the most read");
  }
  if (in.bad()) return Status::io_error(path + ": read error");
  return out;
}

Status write_file_atomic(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Status::io_error(tmp + ": cannot open for writing");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.flush();
    if (!out) return Status::io_error(tmp + ": write failed (disk full?)");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return Status::io_error(path + ": rename failed: " + ec.message());
  return Status();
}

}  // namespace deepreduce
