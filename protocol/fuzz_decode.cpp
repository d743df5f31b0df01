// libFuzzer targets: protocol::decode must accept or reject any frames, never
// crash, hang or read out of bounds, and what it accepts must satisfy what the
// coordinator and workers rely on without checking again.
//
// One target per message type, chosen by the FUZZ_TYPE environment variable
// (HELLO, READY, ...): the type frame is fixed and the input is the header,
// then (after a 0xFF byte) the payload, so the fuzzer spends its time inside
// that type's fields. FUZZ_TYPE=ANY splits the input into up to 5 frames at
// 0xFF bytes, types included. scripts/fuzz.sh runs every type with a seed
// corpus of valid messages.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "protocol/messages.h"
#include "protocol/protocol.h"

namespace proto = deepreduce::protocol;

namespace {
std::string g_type = "ANY";

// The decoded message read as its struct and written again: the struct holds
// every field the message had (read<T> never throws on what decode accepts).
template <class T>
proto::Message retyped(const proto::Message& m) {
  return proto::message(proto::read<T>(m), m.payload);
}
proto::Message retyped_any(const proto::Message& m) {
  using T = proto::Type;
  switch (m.type) {
    case T::kHello: return retyped<proto::Hello>(m);
    case T::kReady: return retyped<proto::Ready>(m);
    case T::kHeartbeat: return retyped<proto::Heartbeat>(m);
    case T::kProgress: return retyped<proto::Progress>(m);
    case T::kUpload: return retyped<proto::Upload>(m);
    case T::kResult: return retyped<proto::ResultMessage>(m);
    case T::kFailed: return retyped<proto::Failed>(m);
    case T::kFetch: return retyped<proto::Fetch>(m);
    case T::kBye: return retyped<proto::Bye>(m);
    case T::kWelcome: return retyped<proto::Welcome>(m);
    case T::kAssign: return retyped<proto::Assign>(m);
    case T::kArtifact: return retyped<proto::Artifact>(m);
    case T::kCancel: return retyped<proto::Cancel>(m);
    case T::kReceipt: return retyped<proto::Receipt>(m);
    case T::kShutdown: return retyped<proto::Shutdown>(m);
  }
  __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* t = std::getenv("FUZZ_TYPE")) g_type = t;
  bool known = g_type == "ANY";
  for (auto t : proto::all_types()) known |= g_type == proto::type_name(t);
  if (!known) {
    std::fprintf(stderr, "fuzz_decode: FUZZ_TYPE=%s is not a message type\n", g_type.c_str());
    std::exit(2);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& type = g_type;
  std::vector<std::string> frames;
  if (type == "ANY") {
    frames.emplace_back();
    for (size_t i = 0; i < size; ++i) {
      if (data[i] == 0xFF && frames.size() < 5) {
        frames.emplace_back();
      } else {
        frames.back().push_back(static_cast<char>(data[i]));
      }
    }
  } else {
    frames = {type, ""};
    for (size_t i = 0; i < size; ++i) {
      if (data[i] == 0xFF && frames.size() < 3) {
        frames.emplace_back();
      } else {
        frames.back().push_back(static_cast<char>(data[i]));
      }
    }
  }
  auto m = proto::decode(frames);
  if (!m.ok()) return 0;
  // What decodes re-encodes and decodes to the same message.
  auto again = proto::decode(proto::encode(*m));
  if (!again.ok() || again->header != m->header || again->payload != m->payload) __builtin_trap();
  // Through its typed struct and back: the same message.
  try {
    auto typed = proto::decode(proto::encode(retyped_any(*m)));
    if (!typed.ok() || typed->header != m->header || typed->payload != m->payload) __builtin_trap();
  } catch (...) {
    __builtin_trap();
  }
  // The invariants receivers rely on.
  const auto& h = m->header;
  if (h.contains("trial") && !proto::is_hex_id(h["trial"].get<std::string>())) __builtin_trap();
  if (h.contains("lease") && !proto::is_hex_id(h["lease"].get<std::string>())) __builtin_trap();
  if (h.contains("attempt") && h["attempt"].get<int64_t>() < 1) __builtin_trap();
  if (h.contains("chunk") && h["chunk"].get<int64_t>() >= h["chunks"].get<int64_t>()) __builtin_trap();
  if (m->payload.size() > proto::kChunkBytes) __builtin_trap();
  if (m->type == proto::Type::kHello && (h["slots"].get<int64_t>() < 1 || h["slots"].get<int64_t>() > proto::kMaxSlots))
    __builtin_trap();
  return 0;
}
