#include "protocol/protocol.h"
#include "protocol/messages.h"

#include "common/digest.h"

#include <limits>
#include <random>
#include <utility>

namespace deepreduce::protocol {
namespace {

enum class Kind { kString, kHex32, kHex64, kInt, kBool, kObject, kArray, kEnum };

struct Field {
  const char* name;
  Kind kind;
  int64_t min = 0;  // kInt: the range; kString: the length; kArray: the item count
  int64_t max = 0;
  std::vector<std::string> choices = {};  // kEnum
  bool optional = false;
};

struct Spec {
  Type type;
  const char* name;
  bool worker_sends;
  std::vector<Field> fields;
  bool payload;  // may carry a payload
};

constexpr int64_t kMaxAttempt = 1000000;
constexpr int64_t kMaxChunks = kMaxArtifactBytes / static_cast<int64_t>(kChunkBytes) + 1;
constexpr int64_t kReason = static_cast<int64_t>(kMaxReasonBytes);

Field trial_f() { return {"trial", Kind::kHex32}; }
Field attempt_f() { return {"attempt", Kind::kInt, 1, kMaxAttempt}; }
Field lease_f() { return {"lease", Kind::kHex32}; }
Field kind_f() { return {"kind", Kind::kEnum, 0, 0, enum_names(spec::kArtifactKindNames)}; }
std::vector<Field> chunk_fs() {
  return {{"chunk", Kind::kInt, 0, kMaxChunks - 1}, {"chunks", Kind::kInt, 1, kMaxChunks},
          {"size", Kind::kInt, 0, kMaxArtifactBytes}};
}
template <typename... V>
std::vector<Field> fields(std::vector<Field> a, V... more) {
  (a.insert(a.end(), more.begin(), more.end()), ...);
  return a;
}

const std::vector<Spec>& specs() {
  static const std::vector<Spec> kSpecs = {
      {Type::kHello, "HELLO", true,
       {{"worker", Kind::kString, 1, 128}, {"host", Kind::kString, 0, 256}, {"pid", Kind::kInt, 0, 1LL << 32},
        {"devices", Kind::kArray, 0, 16}, {"threads", Kind::kInt, 0, 4096}, {"slots", Kind::kInt, 1, kMaxSlots},
        {"running", Kind::kArray, 0, kMaxSlots * 2}},
       false},
      {Type::kReady, "READY", true, {{"slots", Kind::kInt, 0, kMaxSlots}}, false},
      {Type::kHeartbeat, "HEARTBEAT", true, {}, false},
      {Type::kProgress, "PROGRESS", true, {trial_f(), attempt_f(), lease_f(), {"epoch", Kind::kObject}}, false},
      {Type::kUpload, "UPLOAD", true, fields({trial_f(), attempt_f(), lease_f(), kind_f()}, chunk_fs()), true},
      {Type::kResult, "RESULT", true,
       {trial_f(), attempt_f(), lease_f(), {"result", Kind::kObject}, {"model", Kind::kObject},
        {"mask", Kind::kObject, 0, 0, {}, /*optional=*/true}},
       false},
      {Type::kFailed, "FAILED", true,
       {trial_f(), attempt_f(), lease_f(), {"reason", Kind::kString, 0, kReason}, {"retryable", Kind::kBool},
        {"environment", Kind::kBool}},
       false},
      {Type::kFetch, "FETCH", true, {trial_f(), kind_f()}, false},
      {Type::kBye, "BYE", true, {}, false},
      {Type::kWelcome, "WELCOME", false, {{"heartbeat_ms", Kind::kInt, 1, 600000}}, false},
      {Type::kAssign, "ASSIGN", false,
       {trial_f(), attempt_f(), lease_f(), {"spec", Kind::kObject}, {"checkpoint", Kind::kBool}}, false},
      {Type::kArtifact, "ARTIFACT", false, fields({trial_f(), kind_f()}, chunk_fs(), std::vector<Field>{{"found", Kind::kBool}}),
       true},
      {Type::kCancel, "CANCEL", false, {trial_f()}, false},
      {Type::kReceipt, "RECEIPT", false,
       {trial_f(), attempt_f(), {"status", Kind::kEnum, 0, 0, {"stored", "refused", "resend"}},
        {"reason", Kind::kString, 0, kReason}},
       false},
      {Type::kShutdown, "SHUTDOWN", false,
       {{"reason", Kind::kString, 0, kReason}, {"rejoin", Kind::kBool, 0, 0, {}, /*optional=*/true},
        {"done", Kind::kBool, 0, 0, {}, /*optional=*/true}},
       false},
  };
  return kSpecs;
}

const Spec& spec_of(Type t) {
  for (const auto& s : specs())
    if (s.type == t) return s;
  return specs().front();
}

// Why `v` is not a valid value of `f`, or "" when it is.
std::string check_field(const Field& f, const nlohmann::json& v) {
  switch (f.kind) {
    case Kind::kString:
      if (!v.is_string()) return "must be a string";
      if (static_cast<int64_t>(v.get_ref<const std::string&>().size()) < f.min ||
          static_cast<int64_t>(v.get_ref<const std::string&>().size()) > f.max)
        return "must be a string of " + std::to_string(f.min) + " to " + std::to_string(f.max) + " bytes";
      return "";
    case Kind::kHex32:
    case Kind::kHex64:
      if (!v.is_string() || !is_hex_id(v.get<std::string>(), f.kind == Kind::kHex32 ? 32 : 64))
        return std::string("must be ") + (f.kind == Kind::kHex32 ? "32" : "64") + " lowercase hex digits";
      return "";
    case Kind::kInt: {
      if (!v.is_number_integer()) return "must be an integer";
      if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return "is out of range";
      const int64_t x = v.get<int64_t>();
      if (x < 0 && f.min >= 0) return "is negative";
      if (x < f.min || x > f.max)
        return "must be in [" + std::to_string(f.min) + ", " + std::to_string(f.max) + "], got " + std::to_string(x);
      return "";
    }
    case Kind::kBool:
      return v.is_boolean() ? "" : "must be a boolean";
    case Kind::kObject:
      return v.is_object() ? "" : "must be an object";
    case Kind::kArray:
      if (!v.is_array()) return "must be an array";
      if (static_cast<int64_t>(v.size()) > f.max) return "must have at most " + std::to_string(f.max) + " items";
      return "";
    case Kind::kEnum:
      if (v.is_string())
        for (const auto& c : f.choices)
          if (v.get_ref<const std::string&>() == c) return "";
      {
        std::string list;
        for (const auto& c : f.choices) list += (list.empty() ? "" : " | ") + c;
        return "must be one of " + list;
      }
  }
  return "is invalid";
}

// Checks `j` (an object) against `fs`: every required field valid, no other key.
std::string check_object(const std::vector<Field>& fs, const nlohmann::json& j, bool allow_v) {
  for (const auto& f : fs) {
    auto it = j.find(f.name);
    if (it == j.end()) {
      if (f.optional) continue;
      return std::string("field \"") + f.name + "\" is missing";
    }
    if (std::string why = check_field(f, *it); !why.empty()) return std::string("field \"") + f.name + "\" " + why;
  }
  for (const auto& [key, value] : j.items()) {
    if (allow_v && key == "v") continue;
    bool known = false;
    for (const auto& f : fs) known |= key == f.name;
    if (!known) {
      std::string shown = key.substr(0, 32);
      for (auto& c : shown)
        if (static_cast<unsigned char>(c) < 32 || static_cast<unsigned char>(c) > 126) c = '?';
      return "unknown field \"" + shown + "\"";
    }
  }
  return "";
}

// What a type's fields cannot say by themselves: nested shapes, and chunks
// consistent with sizes.
std::string check_type(const Spec& spec, const nlohmann::json& h, size_t payload_bytes) {
  switch (spec.type) {
    case Type::kHello:
      // Names end up in logs and the store: printable ASCII only (no terminal escapes).
      for (const char* key : {"worker", "host"})
        for (char c : h[key].get_ref<const std::string&>())
          if (c < 0x21 || c > 0x7e) return std::string("field \"") + key + "\" must be printable ASCII without spaces";
      for (const auto& d : h["devices"])
        if (!d.is_string() || d.get_ref<const std::string&>().size() > 64)
          return "field \"devices\" must hold strings of at most 64 bytes";
      for (const auto& r : h["running"]) {
        if (!r.is_object()) return "field \"running\" must hold objects {trial, attempt, lease}";
        if (std::string why = check_object({trial_f(), attempt_f(), lease_f()}, r, false); !why.empty())
          return "field \"running\": " + why;
      }
      return "";
    case Type::kProgress:
      if (h["epoch"].dump().size() > 65536) return "field \"epoch\" is larger than 64 KiB";
      return "";
    case Type::kResult: {
      const auto& r = h["result"];
      auto top1 = r.find("top1");
      if (top1 == r.end() || !top1->is_number() || !(top1->get<double>() >= 0.0 && top1->get<double>() <= 100.0))
        return "field \"result\" must carry top1, a number in [0, 100]";
      for (const char* artifact : {"model", "mask"}) {
        if (!h.contains(artifact)) continue;
        if (std::string why = check_object({{"size", Kind::kInt, 0, kMaxArtifactBytes}, {"blake2b", Kind::kHex64}},
                                           h[artifact], false);
            !why.empty())
          return std::string("field \"") + artifact + "\": " + why;
      }
      return "";
    }
    case Type::kUpload:
    case Type::kArtifact: {
      const int64_t chunk = h["chunk"], chunks = h["chunks"], size = h["size"];
      if (chunk >= chunks) return "chunk index out of range";
      const int64_t expected = std::max<int64_t>(1, (size + static_cast<int64_t>(kChunkBytes) - 1) /
                                                        static_cast<int64_t>(kChunkBytes));
      if (chunks != expected)
        return std::to_string(chunks) + " chunks for " + std::to_string(size) + " bytes (expected " +
               std::to_string(expected) + ")";
      if (payload_bytes > kChunkBytes) return "a chunk of " + std::to_string(payload_bytes) + " bytes";
      return "";
    }
    default:
      return "";
  }
}

}  // namespace

std::vector<std::string> field_names(Type t) {
  std::vector<std::string> names;
  for (const auto& f : spec_of(t).fields) names.push_back(f.name);
  return names;
}

const char* type_name(Type t) { return spec_of(t).name; }
bool from_worker(Type t) { return spec_of(t).worker_sends; }

const std::vector<Type>& all_types() {
  static const std::vector<Type> kAll = [] {
    std::vector<Type> v;
    for (const auto& s : specs()) v.push_back(s.type);
    return v;
  }();
  return kAll;
}

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

bool json_depth_within(const std::string& text, int max_depth) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
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
  const std::string name = spec->name;
  if (frames[1].size() > kMaxHeaderBytes)
    return Status::invalid_argument(name + ": header of " + std::to_string(frames[1].size()) + " bytes exceeds " +
                                    std::to_string(kMaxHeaderBytes));
  if (frames.size() == 3) {
    if (!spec->payload) return Status::invalid_argument(name + ": carries no payload");
    if (frames[2].size() > kMaxPayloadBytes)
      return Status::invalid_argument(name + ": payload of " + std::to_string(frames[2].size()) + " bytes exceeds " +
                                      std::to_string(kMaxPayloadBytes));
  }
  // The parser recurses once per level: bound the nesting before it sees the text.
  if (!json_depth_within(frames[1], kMaxJsonDepth))
    return Status::invalid_argument(name + ": header nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  nlohmann::json header = nlohmann::json::parse(frames[1], nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded() || !header.is_object()) return Status::invalid_argument(name + ": header is not a JSON object");
  if (!header.contains("v") || !header["v"].is_number_integer())
    return Status::invalid_argument(name + ": header has no protocol version \"v\"");
  if (header["v"] != kVersion)  // FailedPrecondition: a peer of another build, not a malformed message
    return Status::failed_precondition(name + ": protocol version " + header["v"].dump() + ", this build speaks " +
                                       std::to_string(kVersion));
  if (std::string why = check_object(spec->fields, header, true); !why.empty())
    return Status::invalid_argument(name + ": " + why);
  if (std::string why = check_type(*spec, header, frames.size() == 3 ? frames[2].size() : 0); !why.empty())
    return Status::invalid_argument(name + ": " + why);
  Message m{spec->type, std::move(header), frames.size() == 3 ? frames[2] : std::string()};
  m.header.erase("v");
  return m;
}

std::vector<std::string> chunk(const std::string& bytes) {
  std::vector<std::string> out;
  for (size_t off = 0; off < bytes.size(); off += kChunkBytes) out.push_back(bytes.substr(off, kChunkBytes));
  if (out.empty()) out.emplace_back();
  return out;
}

std::string digest(const std::string& bytes) { return blake2b_hex(bytes, 32); }
std::string random_token() { return random_hex(16); }
bool is_hex_id(const std::string& s, size_t digits) { return is_lower_hex(s, digits); }

}  // namespace deepreduce::protocol
