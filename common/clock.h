// Wall-clock time in unix milliseconds: what leases, events and records carry.
#pragma once

#include <chrono>
#include <cstdint>

namespace deepreduce {

inline int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace deepreduce
