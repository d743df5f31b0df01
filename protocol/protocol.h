// The wire protocol between the coordinator (ROUTER) and its workers (DEALER).
//
// A message is 2 or 3 ZeroMQ frames: the type's name ("HELLO"), a JSON object
// header that carries "v" (kVersion) and the type's fields, and an optional
// binary payload (artifact chunks). The ROUTER side sees the worker's routing
// id in front.
//
// Every frame is hostile until checked. decode() bounds the frame count, the
// header's size and its JSON nesting depth *before* parsing (a deeply nested
// array must not overflow the parser's stack), then checks the version and
// every field of the type: its JSON kind, its range or length, its form (trial
// ids and lease tokens are 32 lowercase hex digits, digests 64), and refuses
// fields a type does not have. Anything else is a Status naming why, never a
// crash and never a half-checked message.
//
// Leases: ASSIGN carries a lease token, 128 random bits the coordinator keeps
// with the lease in its store. Every message about a trial in hand (PROGRESS,
// UPLOAD, RESULT, FAILED, HELLO's running list) carries trial, attempt and
// token; the coordinator applies it only when they are the live lease of that
// worker. A result is applied only with its model: RESULT names the model's
// size and BLAKE2b-256, checked against the UPLOAD chunks before the trial is
// done. The coordinator answers every RESULT with RECEIPT; the worker keeps the
// result and the model on disk until a RECEIPT says stored or refused.
//
// Worker -> coordinator:
//   HELLO      {worker, host, pid, devices[], threads, slots, running[{trial, attempt, lease}]}
//   READY      {slots}                     free slots, asks for work
//   HEARTBEAT  {}
//   PROGRESS   {trial, attempt, lease, epoch{...}}
//   UPLOAD     {trial, attempt, lease, kind, chunk, chunks, size} + bytes   (checkpoint, final model or mask)
//   RESULT     {trial, attempt, lease, result{top1, ...}, model{size, blake2b}, mask?{size, blake2b}}
//              after the model's (and a mask phase's mask's) UPLOADs
//   FAILED     {trial, attempt, lease, reason, retryable, environment}
//              environment: the worker's surroundings failed (data, device, an artifact), not the trial
//   FETCH      {trial, kind}                 an artifact (a teacher's model, a checkpoint)
//   BYE        {}
// Coordinator -> worker:
//   WELCOME    {heartbeat_ms}
//   ASSIGN     {trial, attempt, lease, spec{...}, checkpoint: bool}
//   ARTIFACT   {trial, kind, chunk, chunks, size, found} + bytes
//   CANCEL     {trial}
//   RECEIPT    {trial, attempt, status: stored | refused | resend, reason}
//   HEARTBEAT  {}
//   SHUTDOWN   {reason, rejoin?, done?}   rejoin: "I do not know you, send HELLO" (after a restart);
//                                         done: the experiment is complete (else the coordinator is stopping)
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"

namespace deepreduce::protocol {

// 3: lease tokens, results that name their model's digest, RECEIPT, FAILED.environment.
// 4: trial specs carry their role and phase (store schema 3).
// 5: learned linearization: specs may carry ReLU masks; "mask" artifacts
//    travel like models (UPLOAD, FETCH, ARTIFACT) and RESULT names its mask.
constexpr int kVersion = 5;
constexpr int kHeartbeatIntervalMs = 1000;  // both directions
constexpr int kHeartbeatLiveness = 3;       // silent for this many intervals: lost
constexpr int kReconnectMinMs = 1000;       // worker backoff 1 s, 2 s, ... 32 s
constexpr int kReconnectMaxMs = 32000;
constexpr size_t kMaxHeaderBytes = 1 << 20;
constexpr size_t kMaxPayloadBytes = 8 << 20;
constexpr int kMaxJsonDepth = 32;           // nesting of a header's JSON, checked before parsing
constexpr size_t kMaxReasonBytes = 4096;    // FAILED.reason, SHUTDOWN.reason, RECEIPT.reason
constexpr int kMaxSlots = 64;               // trials one worker trains at once
constexpr size_t kChunkBytes = 4 << 20;  // artifacts travel in chunks of this size
constexpr int64_t kMaxArtifactBytes = int64_t{2} << 30;  // a model or checkpoint: at most 2 GiB

enum class Type {
  kHello, kReady, kHeartbeat, kProgress, kUpload, kResult, kFailed, kFetch, kBye,  // worker -> coordinator
  kWelcome, kAssign, kArtifact, kCancel, kReceipt, kShutdown,                    // coordinator -> worker
};

const char* type_name(Type t);
// Messages a worker may send (the coordinator refuses the others), and vice versa.
bool from_worker(Type t);
// Every type, in declaration order (tests and fuzz targets iterate them).
const std::vector<Type>& all_types();

struct Message {
  Type type;
  nlohmann::json header = nlohmann::json::object();
  std::string payload;
};

// Frames of a message (without a routing id). Adds "v" to the header.
std::vector<std::string> encode(const Message& m);
// Parses frames (without a routing id): bounds sizes and nesting before
// parsing, then checks the version, the type and every field of the type.
// A well-formed message of another protocol version is FailedPrecondition
// (naming both versions); anything else wrong is InvalidArgument.
Result<Message> decode(const std::vector<std::string>& frames);

Message make(Type t, nlohmann::json header = nlohmann::json::object(), std::string payload = {});

// Splits bytes into UPLOAD/ARTIFACT-sized chunks (at least one, possibly empty).
std::vector<std::string> chunk(const std::string& bytes);

// False when `text` nests arrays/objects deeper than `max_depth` (strings and
// their escapes are skipped). Linear, no recursion: safe on any input.
bool json_depth_within(const std::string& text, int max_depth);

// BLAKE2b-256 of bytes as 64 lowercase hex digits (what RESULT.model.blake2b carries).
std::string digest(const std::string& bytes);
// 32 lowercase hex digits of fresh randomness (lease tokens).
std::string random_token();
// 32 lowercase hex digits: the form of trial ids and lease tokens.
bool is_hex_id(const std::string& s, size_t digits = 32);

}  // namespace deepreduce::protocol
