// Reading whole files, with errors that name the file.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace deepreduce {

// The file's bytes; NotFound / IOError naming `path` otherwise, and
// InvalidArgument for a file of more than `max_bytes`, left unread.
Result<std::string> read_text_file(const std::string& path, size_t max_bytes = SIZE_MAX);

// Writes bytes to path through a temporary file and a rename, so a crash
// leaves the previous file (or none), never half of one.
Status write_file_atomic(const std::string& path, const std::string& bytes);

}  // namespace deepreduce
