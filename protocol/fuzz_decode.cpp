// libFuzzer target: protocol::decode must accept or reject any frames, never
// crash, hang or read out of bounds. The input is split into frames at 0xFF
// bytes so the fuzzer explores frame counts as well as contents.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "protocol/protocol.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> frames(1);
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0xFF && frames.size() < 5) {
      frames.emplace_back();
    } else {
      frames.back().push_back(static_cast<char>(data[i]));
    }
  }
  auto m = deepreduce::protocol::decode(frames);
  if (m.ok()) {
    // What decodes re-encodes and decodes to the same message.
    auto again = deepreduce::protocol::decode(deepreduce::protocol::encode(*m));
    if (!again.ok() || again->header != m->header || again->payload != m->payload) __builtin_trap();
  }
  return 0;
}
