// The wire protocol between the coordinator (ROUTER) and its workers (DEALER).
//
// A message is 2 or 3 ZeroMQ frames: the type's name ("HELLO"), a JSON object
// header that carries "v" (kVersion) and the type's fields, and an optional
// binary payload (artifact chunks). The ROUTER side sees the worker's routing
// id in front. Decoding is strict and total: anything malformed, truncated,
// oversized or of another version is a Status naming why, never a crash.
//
// Worker -> coordinator:
//   HELLO      {worker, host, pid, devices[], threads, slots, running[{trial, attempt}]}
//   READY      {slots}                     free slots, asks for work
//   HEARTBEAT  {}
//   PROGRESS   {trial, attempt, epoch{...}}
//   UPLOAD     {trial, attempt, kind, chunk, chunks, size} + bytes   (checkpoint or final model)
//   RESULT     {trial, attempt, result{...}}  after the model's UPLOAD chunks
//   FAILED     {trial, attempt, reason, retryable}
//   FETCH      {trial, kind}                 an artifact (a teacher's model, a checkpoint)
//   BYE        {}
// Coordinator -> worker:
//   WELCOME    {heartbeat_ms}
//   ASSIGN     {trial, attempt, spec{...}, checkpoint: bool}
//   ARTIFACT   {trial, kind, chunk, chunks, size, found} + bytes
//   CANCEL     {trial}
//   HEARTBEAT  {}
//   SHUTDOWN   {reason, rejoin?}          rejoin: "I do not know you, send HELLO" (after a restart)
// (The CHECKPOINT message is UPLOAD with kind "checkpoint".)
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"

namespace deepreduce::protocol {

// 2: trial specs carry train.horizon and model.widths; old workers cannot read them.
constexpr int kVersion = 2;
constexpr int kHeartbeatIntervalMs = 1000;  // both directions
constexpr int kHeartbeatLiveness = 3;       // silent for this many intervals: lost
constexpr int kReconnectMinMs = 1000;       // worker backoff 1 s, 2 s, ... 32 s
constexpr int kReconnectMaxMs = 32000;
constexpr size_t kMaxHeaderBytes = 1 << 20;
constexpr size_t kMaxPayloadBytes = 8 << 20;
constexpr size_t kChunkBytes = 4 << 20;  // artifacts travel in chunks of this size
constexpr int64_t kMaxArtifactBytes = int64_t{2} << 30;  // a model or checkpoint: at most 2 GiB

enum class Type {
  kHello, kReady, kHeartbeat, kProgress, kUpload, kResult, kFailed, kFetch, kBye,  // worker -> coordinator
  kWelcome, kAssign, kArtifact, kCancel, kShutdown,                              // coordinator -> worker
};

const char* type_name(Type t);
// Messages a worker may send (the coordinator refuses the others), and vice versa.
bool from_worker(Type t);

struct Message {
  Type type;
  nlohmann::json header = nlohmann::json::object();
  std::string payload;
};

// Frames of a message (without a routing id). Adds "v" to the header.
std::vector<std::string> encode(const Message& m);
// Parses frames (without a routing id); checks sizes, version, the type and the
// type's required fields.
Result<Message> decode(const std::vector<std::string>& frames);

Message make(Type t, nlohmann::json header = nlohmann::json::object(), std::string payload = {});

// Splits bytes into UPLOAD/ARTIFACT-sized chunks (at least one, possibly empty).
std::vector<std::string> chunk(const std::string& bytes);

}  // namespace deepreduce::protocol
