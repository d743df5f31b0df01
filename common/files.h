// Reading whole files, with errors that name the file.
#pragma once

#include <string>

#include "common/status.h"

namespace deepreduce {

// The file's bytes; NotFound / IOError naming `path` otherwise.
Result<std::string> read_text_file(const std::string& path);

}  // namespace deepreduce
