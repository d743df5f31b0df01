#include "protocol/messages.h"

namespace deepreduce::spec {

void to_json(nlohmann::json& j, const ArtifactKind& k) { j = artifact_kind_name(k); }
void from_json(const nlohmann::json& j, ArtifactKind& k) {
  // decode() has checked the name against the table's choices.
  const std::string name = j.get<std::string>();
  for (const auto& e : kArtifactKindNames)
    if (name == e.name) k = e.value;
}

}  // namespace deepreduce::spec

namespace deepreduce::protocol {

void to_json(nlohmann::json& j, const Heartbeat&) { j = nlohmann::json::object(); }
void from_json(const nlohmann::json&, Heartbeat&) {}

void to_json(nlohmann::json& j, const Bye&) { j = nlohmann::json::object(); }
void from_json(const nlohmann::json&, Bye&) {}

void to_json(nlohmann::json& j, const ResultMessage& v) {
  j = {{"trial", v.trial}, {"attempt", v.attempt}, {"lease", v.lease}, {"result", v.result}, {"model", v.model}};
  if (v.mask) j["mask"] = *v.mask;
}
void from_json(const nlohmann::json& j, ResultMessage& v) {
  j.at("trial").get_to(v.trial);
  j.at("attempt").get_to(v.attempt);
  j.at("lease").get_to(v.lease);
  v.result = j.at("result");
  j.at("model").get_to(v.model);
  if (j.contains("mask")) v.mask = j.at("mask").get<ArtifactDigest>();
}

void to_json(nlohmann::json& j, const Shutdown& v) {
  j = {{"reason", v.reason}};
  if (v.rejoin) j["rejoin"] = *v.rejoin;
  if (v.done) j["done"] = *v.done;
}
void from_json(const nlohmann::json& j, Shutdown& v) {
  j.at("reason").get_to(v.reason);
  if (j.contains("rejoin")) v.rejoin = j.at("rejoin").get<bool>();
  if (j.contains("done")) v.done = j.at("done").get<bool>();
}

}  // namespace deepreduce::protocol
