#include "protocol/protocol.h"

#include <utility>

namespace deepreduce::protocol {
namespace {

enum class Kind { kString, kInt, kBool, kObject, kArray };

struct Field {
  const char* name;
  Kind kind;
};

struct Spec {
  Type type;
  const char* name;
  bool worker_sends;
  std::vector<Field> required;
  bool payload;  // may carry a payload
};

const std::vector<Spec>& specs() {
  static const std::vector<Spec> kSpecs = {
      {Type::kHello, "HELLO", true,
       {{"worker", Kind::kString}, {"host", Kind::kString}, {"pid", Kind::kInt}, {"devices", Kind::kArray},
        {"threads", Kind::kInt}, {"slots", Kind::kInt}, {"running", Kind::kArray}},
       false},
      {Type::kReady, "READY", true, {{"slots", Kind::kInt}}, false},
      {Type::kHeartbeat, "HEARTBEAT", true, {}, false},
      {Type::kProgress, "PROGRESS", true, {{"trial", Kind::kString}, {"attempt", Kind::kInt}, {"epoch", Kind::kObject}},
       false},
      {Type::kUpload, "UPLOAD", true,
       {{"trial", Kind::kString}, {"attempt", Kind::kInt}, {"kind", Kind::kString}, {"chunk", Kind::kInt},
        {"chunks", Kind::kInt}, {"size", Kind::kInt}},
       true},
      {Type::kResult, "RESULT", true, {{"trial", Kind::kString}, {"attempt", Kind::kInt}, {"result", Kind::kObject}},
       false},
      {Type::kFailed, "FAILED", true,
       {{"trial", Kind::kString}, {"attempt", Kind::kInt}, {"reason", Kind::kString}, {"retryable", Kind::kBool}},
       false},
      {Type::kFetch, "FETCH", true, {{"trial", Kind::kString}, {"kind", Kind::kString}}, false},
      {Type::kBye, "BYE", true, {}, false},
      {Type::kWelcome, "WELCOME", false, {{"heartbeat_ms", Kind::kInt}}, false},
      {Type::kAssign, "ASSIGN", false,
       {{"trial", Kind::kString}, {"attempt", Kind::kInt}, {"spec", Kind::kObject}, {"checkpoint", Kind::kBool}},
       false},
      {Type::kArtifact, "ARTIFACT", false,
       {{"trial", Kind::kString}, {"kind", Kind::kString}, {"chunk", Kind::kInt}, {"chunks", Kind::kInt},
        {"size", Kind::kInt}, {"found", Kind::kBool}},
       true},
      {Type::kCancel, "CANCEL", false, {{"trial", Kind::kString}}, false},
      {Type::kShutdown, "SHUTDOWN", false, {{"reason", Kind::kString}}, false},
  };
  return kSpecs;
}

const Spec& spec_of(Type t) {
  for (const auto& s : specs())
    if (s.type == t) return s;
  return specs().front();
}

bool has_kind(const nlohmann::json& v, Kind k) {
  switch (k) {
    case Kind::kString: return v.is_string();
    case Kind::kInt: return v.is_number_integer();
    case Kind::kBool: return v.is_boolean();
    case Kind::kObject: return v.is_object();
    case Kind::kArray: return v.is_array();
  }
  return false;
}

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kString: return "a string";
    case Kind::kInt: return "an integer";
    case Kind::kBool: return "a boolean";
    case Kind::kObject: return "an object";
    case Kind::kArray: return "an array";
  }
  return "?";
}

}  // namespace

const char* type_name(Type t) { return spec_of(t).name; }
bool from_worker(Type t) { return spec_of(t).worker_sends; }

Message make(Type t, nlohmann::json header, std::string payload) {
  return Message{t, std::move(header), std::move(payload)};
}

std::vector<std::string> encode(const Message& m) {
  nlohmann::json header = m.header.is_object() ? m.header : nlohmann::json::object();
  header["v"] = kVersion;
  std::vector<std::string> frames = {type_name(m.type), header.dump()};
  if (!m.payload.empty()) frames.push_back(m.payload);
  return frames;
}

Result<Message> decode(const std::vector<std::string>& frames) {
  if (frames.size() < 2 || frames.size() > 3)
    return Status::invalid_argument("expected 2 or 3 frames (type, header[, payload]), got " +
                                    std::to_string(frames.size()));
  const Spec* spec = nullptr;
  for (const auto& s : specs())
    if (frames[0] == s.name) spec = &s;
  if (!spec) {
    std::string shown = frames[0].substr(0, 32);
    for (auto& c : shown)
      if (static_cast<unsigned char>(c) < 32 || static_cast<unsigned char>(c) > 126) c = '?';
    return Status::invalid_argument("unknown message type \"" + shown + "\"");
  }
  if (frames[1].size() > kMaxHeaderBytes)
    return Status::invalid_argument(std::string(spec->name) + ": header of " + std::to_string(frames[1].size()) +
                                    " bytes exceeds " + std::to_string(kMaxHeaderBytes));
  if (frames.size() == 3) {
    if (!spec->payload) return Status::invalid_argument(std::string(spec->name) + ": carries no payload");
    if (frames[2].size() > kMaxPayloadBytes)
      return Status::invalid_argument(std::string(spec->name) + ": payload of " + std::to_string(frames[2].size()) +
                                      " bytes exceeds " + std::to_string(kMaxPayloadBytes));
  }
  nlohmann::json header = nlohmann::json::parse(frames[1], nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object())
    return Status::invalid_argument(std::string(spec->name) + ": header is not a JSON object");
  if (!header.contains("v") || !header["v"].is_number_integer())
    return Status::invalid_argument(std::string(spec->name) + ": header has no protocol version \"v\"");
  if (header["v"].get<int64_t>() != kVersion)
    return Status::invalid_argument(std::string(spec->name) + ": protocol version " + header["v"].dump() +
                                    ", this build speaks " + std::to_string(kVersion));
  for (const auto& f : spec->required) {
    if (!header.contains(f.name) || !has_kind(header[f.name], f.kind))
      return Status::invalid_argument(std::string(spec->name) + ": field \"" + f.name + "\" must be " +
                                      kind_name(f.kind));
  }
  for (const char* n : {"chunk", "chunks", "size", "attempt", "slots"})
    if (header.contains(n) && header[n].is_number_integer() && header[n].get<int64_t>() < 0)
      return Status::invalid_argument(std::string(spec->name) + ": field \"" + n + "\" is negative");
  if (header.contains("chunks") && header.contains("chunk") &&
      (header["chunk"].get<int64_t>() >= header["chunks"].get<int64_t>() ||
       header["chunks"].get<int64_t>() > kMaxArtifactBytes / static_cast<int64_t>(kChunkBytes) + 1))
    return Status::invalid_argument(std::string(spec->name) + ": chunk index out of range");
  if (header.contains("size") && header["size"].is_number_integer() && header["size"].get<int64_t>() > kMaxArtifactBytes)
    return Status::invalid_argument(std::string(spec->name) + ": artifact of " + header["size"].dump() +
                                    " bytes exceeds " + std::to_string(kMaxArtifactBytes));
  Message m{spec->type, std::move(header), frames.size() == 3 ? frames[2] : std::string()};
  return m;
}

std::vector<std::string> chunk(const std::string& bytes) {
  std::vector<std::string> out;
  for (size_t off = 0; off < bytes.size(); off += kChunkBytes) out.push_back(bytes.substr(off, kChunkBytes));
  if (out.empty()) out.emplace_back();
  return out;
}

}  // namespace deepreduce::protocol
