#include "protocol/messages.h"

namespace deepreduce::protocol {

// Fields written as the table names them; read with at() (decode() has
// checked that each is there and of its kind).
#define DR_FIELDS_TO(...) j = nlohmann::json{__VA_ARGS__}
#define DR_FIELD(name) {#name, v.name}
#define DR_GET(name) j.at(#name).get_to(v.name)

void to_json(nlohmann::json& j, const HeldLease& v) { DR_FIELDS_TO(DR_FIELD(trial), DR_FIELD(attempt), DR_FIELD(lease)); }
void from_json(const nlohmann::json& j, HeldLease& v) {
  DR_GET(trial);
  DR_GET(attempt);
  DR_GET(lease);
}
void to_json(nlohmann::json& j, const ArtifactDigest& v) { DR_FIELDS_TO(DR_FIELD(size), DR_FIELD(blake2b)); }
void from_json(const nlohmann::json& j, ArtifactDigest& v) {
  DR_GET(size);
  DR_GET(blake2b);
}

void to_json(nlohmann::json& j, const Hello& v) {
  DR_FIELDS_TO(DR_FIELD(worker), DR_FIELD(host), DR_FIELD(pid), DR_FIELD(devices), DR_FIELD(threads), DR_FIELD(slots),
               DR_FIELD(running));
}
void from_json(const nlohmann::json& j, Hello& v) {
  DR_GET(worker);
  DR_GET(host);
  DR_GET(pid);
  v.devices = j.at("devices");
  DR_GET(threads);
  DR_GET(slots);
  DR_GET(running);
}

void to_json(nlohmann::json& j, const Ready& v) { DR_FIELDS_TO(DR_FIELD(slots)); }
void from_json(const nlohmann::json& j, Ready& v) { DR_GET(slots); }

void to_json(nlohmann::json& j, const Heartbeat&) { j = nlohmann::json::object(); }
void from_json(const nlohmann::json&, Heartbeat&) {}

void to_json(nlohmann::json& j, const Progress& v) {
  DR_FIELDS_TO(DR_FIELD(trial), DR_FIELD(attempt), DR_FIELD(lease), DR_FIELD(epoch));
}
void from_json(const nlohmann::json& j, Progress& v) {
  DR_GET(trial);
  DR_GET(attempt);
  DR_GET(lease);
  v.epoch = j.at("epoch");
}

void to_json(nlohmann::json& j, const Upload& v) {
  DR_FIELDS_TO(DR_FIELD(trial), DR_FIELD(attempt), DR_FIELD(lease), DR_FIELD(kind), DR_FIELD(chunk), DR_FIELD(chunks),
               DR_FIELD(size));
}
void from_json(const nlohmann::json& j, Upload& v) {
  DR_GET(trial);
  DR_GET(attempt);
  DR_GET(lease);
  DR_GET(kind);
  DR_GET(chunk);
  DR_GET(chunks);
  DR_GET(size);
}

void to_json(nlohmann::json& j, const ResultMessage& v) {
  DR_FIELDS_TO(DR_FIELD(trial), DR_FIELD(attempt), DR_FIELD(lease), DR_FIELD(result), DR_FIELD(model));
  if (v.mask) j["mask"] = *v.mask;
}
void from_json(const nlohmann::json& j, ResultMessage& v) {
  DR_GET(trial);
  DR_GET(attempt);
  DR_GET(lease);
  v.result = j.at("result");
  DR_GET(model);
  if (j.contains("mask")) v.mask = j.at("mask").get<ArtifactDigest>();
}

void to_json(nlohmann::json& j, const Failed& v) {
  DR_FIELDS_TO(DR_FIELD(trial), DR_FIELD(attempt), DR_FIELD(lease), DR_FIELD(reason), DR_FIELD(retryable),
               DR_FIELD(environment));
}
void from_json(const nlohmann::json& j, Failed& v) {
  DR_GET(trial);
  DR_GET(attempt);
  DR_GET(lease);
  DR_GET(reason);
  DR_GET(retryable);
  DR_GET(environment);
}

void to_json(nlohmann::json& j, const Fetch& v) { DR_FIELDS_TO(DR_FIELD(trial), DR_FIELD(kind)); }
void from_json(const nlohmann::json& j, Fetch& v) {
  DR_GET(trial);
  DR_GET(kind);
}

void to_json(nlohmann::json& j, const Bye&) { j = nlohmann::json::object(); }
void from_json(const nlohmann::json&, Bye&) {}

void to_json(nlohmann::json& j, const Welcome& v) { DR_FIELDS_TO(DR_FIELD(heartbeat_ms)); }
void from_json(const nlohmann::json& j, Welcome& v) { DR_GET(heartbeat_ms); }

void to_json(nlohmann::json& j, const Assign& v) {
  DR_FIELDS_TO(DR_FIELD(trial), DR_FIELD(attempt), DR_FIELD(lease), DR_FIELD(spec), DR_FIELD(checkpoint));
}
void from_json(const nlohmann::json& j, Assign& v) {
  DR_GET(trial);
  DR_GET(attempt);
  DR_GET(lease);
  v.spec = j.at("spec");
  DR_GET(checkpoint);
}

void to_json(nlohmann::json& j, const Artifact& v) {
  DR_FIELDS_TO(DR_FIELD(trial), DR_FIELD(kind), DR_FIELD(chunk), DR_FIELD(chunks), DR_FIELD(size), DR_FIELD(found));
}
void from_json(const nlohmann::json& j, Artifact& v) {
  DR_GET(trial);
  DR_GET(kind);
  DR_GET(chunk);
  DR_GET(chunks);
  DR_GET(size);
  DR_GET(found);
}

void to_json(nlohmann::json& j, const Cancel& v) { DR_FIELDS_TO(DR_FIELD(trial)); }
void from_json(const nlohmann::json& j, Cancel& v) { DR_GET(trial); }

void to_json(nlohmann::json& j, const Receipt& v) {
  DR_FIELDS_TO(DR_FIELD(trial), DR_FIELD(attempt), DR_FIELD(status), DR_FIELD(reason));
}
void from_json(const nlohmann::json& j, Receipt& v) {
  DR_GET(trial);
  DR_GET(attempt);
  DR_GET(status);
  DR_GET(reason);
}

void to_json(nlohmann::json& j, const Shutdown& v) {
  DR_FIELDS_TO(DR_FIELD(reason));
  if (v.rejoin) j["rejoin"] = *v.rejoin;
  if (v.done) j["done"] = *v.done;
}
void from_json(const nlohmann::json& j, Shutdown& v) {
  DR_GET(reason);
  if (j.contains("rejoin")) v.rejoin = j.at("rejoin").get<bool>();
  if (j.contains("done")) v.done = j.at("done").get<bool>();
}

#undef DR_FIELDS_TO
#undef DR_FIELD
#undef DR_GET

}  // namespace deepreduce::protocol
