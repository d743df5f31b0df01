// Typed protocol messages: one struct per message type, whose fields are those
// of the type's row in protocol.cpp's field table (tests/protocol checks that
// each struct writes exactly its row's fields, and that what it writes decodes
// and reads back the same).
//
//   decode(frames)  bounds and checks every field (protocol.h);
//   read<T>(m)      then turns a decoded message of T's type into T;
//   message(t)      builds the message encode() sends.
//
// An artifact's kind is its enum (decode() has checked it is one of the
// table's choices, which are its names); a receipt's status stays a string,
// checked the same way.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "protocol/protocol.h"
#include "spec/artifact.h"

namespace deepreduce::spec {
// An artifact kind on the wire is its name.
void to_json(nlohmann::json& j, const ArtifactKind& k);
void from_json(const nlohmann::json& j, ArtifactKind& k);
}  // namespace deepreduce::spec

namespace deepreduce::protocol {

using spec::ArtifactKind;

// A trial a worker holds: its lease (HELLO.running).
struct HeldLease {
  std::string trial;
  int64_t attempt = 0;
  std::string lease;
};
// An artifact named by its size and BLAKE2b-256 (RESULT.model, RESULT.mask).
struct ArtifactDigest {
  int64_t size = 0;
  std::string blake2b;
};

// --- worker -> coordinator
struct Hello {
  static constexpr Type kType = Type::kHello;
  std::string worker, host;
  int64_t pid = 0;
  nlohmann::json devices = nlohmann::json::array();  // strings, as the worker names them
  int64_t threads = 0, slots = 1;
  std::vector<HeldLease> running;
};
struct Ready {
  static constexpr Type kType = Type::kReady;
  int64_t slots = 0;
};
struct Heartbeat {
  static constexpr Type kType = Type::kHeartbeat;
};
struct Progress {
  static constexpr Type kType = Type::kProgress;
  std::string trial;
  int64_t attempt = 0;
  std::string lease;
  nlohmann::json epoch = nlohmann::json::object();  // epoch, top1, seconds, ... (train/progress)
};
struct Upload {
  static constexpr Type kType = Type::kUpload;
  std::string trial;
  int64_t attempt = 0;
  std::string lease;
  spec::ArtifactKind kind = spec::ArtifactKind::kModel;
  int64_t chunk = 0, chunks = 1, size = 0;
};
// RESULT (not "Result": that is deepreduce::Result<T>).
struct ResultMessage {
  static constexpr Type kType = Type::kResult;
  std::string trial;
  int64_t attempt = 0;
  std::string lease;
  nlohmann::json result = nlohmann::json::object();  // top1, ... (spec/result.h reads it)
  ArtifactDigest model;
  std::optional<ArtifactDigest> mask;  // a mask phase's learned mask
};
struct Failed {
  static constexpr Type kType = Type::kFailed;
  std::string trial;
  int64_t attempt = 0;
  std::string lease, reason;
  bool retryable = false;
  bool environment = false;  // the worker's surroundings failed (data, device), not the trial
};
struct Fetch {
  static constexpr Type kType = Type::kFetch;
  std::string trial;
  spec::ArtifactKind kind = spec::ArtifactKind::kModel;
};
struct Bye {
  static constexpr Type kType = Type::kBye;
};

// --- coordinator -> worker
struct Welcome {
  static constexpr Type kType = Type::kWelcome;
  int64_t heartbeat_ms = kHeartbeatIntervalMs;
};
struct Assign {
  static constexpr Type kType = Type::kAssign;
  std::string trial;
  int64_t attempt = 0;
  std::string lease;
  nlohmann::json spec = nlohmann::json::object();  // the trial spec (spec::trial_spec_from_json reads it)
  bool checkpoint = false;                         // a checkpoint is stored: FETCH it and resume
};
struct Artifact {
  static constexpr Type kType = Type::kArtifact;
  std::string trial;
  spec::ArtifactKind kind = spec::ArtifactKind::kModel;
  int64_t chunk = 0, chunks = 1, size = 0;
  bool found = false;
};
struct Cancel {
  static constexpr Type kType = Type::kCancel;
  std::string trial;
};
struct Receipt {
  static constexpr Type kType = Type::kReceipt;
  std::string trial;
  int64_t attempt = 0;
  std::string status;  // stored | refused | resend
  std::string reason;
};
struct Shutdown {
  static constexpr Type kType = Type::kShutdown;
  std::string reason;
  std::optional<bool> rejoin;  // "I do not know you: send HELLO" (after a restart)
  std::optional<bool> done;    // the experiment is complete (else the coordinator is stopping)
};

// Each struct as its header's JSON, field by field in the table's names
// (read with at(): decode() has checked each is there and of its kind).
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(HeldLease, trial, attempt, lease)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ArtifactDigest, size, blake2b)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Hello, worker, host, pid, devices, threads, slots, running)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Ready, slots)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Progress, trial, attempt, lease, epoch)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Upload, trial, attempt, lease, kind, chunk, chunks, size)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Failed, trial, attempt, lease, reason, retryable, environment)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Fetch, trial, kind)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Welcome, heartbeat_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Assign, trial, attempt, lease, spec, checkpoint)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Artifact, trial, kind, chunk, chunks, size, found)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Cancel, trial)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Receipt, trial, attempt, status, reason)
// Messages without fields, and those with optional ones (written only when set).
void to_json(nlohmann::json& j, const Heartbeat& v);
void from_json(const nlohmann::json& j, Heartbeat& v);
void to_json(nlohmann::json& j, const Bye& v);
void from_json(const nlohmann::json& j, Bye& v);
void to_json(nlohmann::json& j, const ResultMessage& v);
void from_json(const nlohmann::json& j, ResultMessage& v);
void to_json(nlohmann::json& j, const Shutdown& v);
void from_json(const nlohmann::json& j, Shutdown& v);

// The message that carries `v` (and a payload: UPLOAD and ARTIFACT chunks).
template <class T>
Message message(const T& v, std::string payload = {}) {
  nlohmann::json header = v;
  return make(T::kType, std::move(header), std::move(payload));
}

// `m` as T. `m` must come from decode() and be of T's type (every field is
// then present and of its kind, so this cannot fail); a message of another
// type is a programming error, answered with a default T.
template <class T>
T read(const Message& m) {
  T v;
  if (m.type == T::kType) from_json(m.header, v);
  return v;
}

// The names of a type's fields in the field table (optional ones included).
std::vector<std::string> field_names(Type t);

}  // namespace deepreduce::protocol
