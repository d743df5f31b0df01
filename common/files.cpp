#include "common/files.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace deepreduce {

Result<std::string> read_text_file(const std::string& path) {
  if (!std::filesystem::exists(path)) return Status::not_found(path + ": no such file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::io_error(path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::io_error(path + ": read error");
  return ss.str();
}

}  // namespace deepreduce
